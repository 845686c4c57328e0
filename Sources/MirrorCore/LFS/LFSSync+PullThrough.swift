import Foundation

extension LFSSync {
    /// Brings one object of `mirror` in now, for clients waiting on it (the server's pull-through).
    ///
    /// Blocking; call it from a thread of its own. The same path as a fetch: an object already in place
    /// is used as it is, one another mirror holds is hard-linked, anything else is downloaded through the
    /// upstream's batch API into `lfs-incomplete/<oid>.part` (resuming, under the object's cross-process
    /// lock, so any number of callers cause one transfer), verified (size, SHA-256) and only then renamed
    /// into the mirror. Readers may follow the `.part` as it grows; no unverified byte is ever placed.
    /// The object's catalog row is updated. Returns the path of the placed object.
    public func fetchObject(mirror: Mirror, pointer: LFSPointer, isCancelled: @escaping @Sendable () -> Bool = { false }) -> Result<String, LFSObjectError> {
        let final = home.lfsObjectPath(mirror.name, pointer.oid)
        let outcome = fetchObjectUnrecorded(mirror: mirror, pointer: pointer, final: final, isCancelled: isCancelled)
        let update: LFSObjectUpdate
        switch outcome {
        case let .success(source): update = LFSObjectUpdate(oid: pointer.oid.hex, state: .present, source: source)
        case .failure(.cancelled): return .failure(.cancelled)
        case let .failure(error):
            update = LFSObjectUpdate(oid: pointer.oid.hex, state: error.isUnavailable ? .unavailable : .failed, error: Redactor.redact(error.description))
        }
        try? catalog.updateLFSObjects(mirrorId: mirror.id!, [update])
        return outcome.map { _ in final }
    }

    private func fetchObjectUnrecorded(mirror: Mirror, pointer: LFSPointer, final: String,
                                       isCancelled: @escaping @Sendable () -> Bool) -> Result<LFSObjectSource, LFSObjectError> {
        if LFSStore.regularFileSize(final) == pointer.size { return .success(.found) }
        // A copy in the trash (out of the retention policy) comes back, verified, before anything is downloaded.
        if let row = try? catalog.lfsObject(mirrorId: mirror.id!, oid: pointer.oid), row.state.isRetired, let path = row.retiredPath,
           case .restored = LFSRetention(home: home, catalog: catalog).restoreCopy(mirror: mirror, pointer: pointer, from: path) {
            return .success(.restored)
        }
        let holders = { [catalog] (oid: LFSOID) in (try? catalog.lfsHolders(oid: oid.hex, excluding: mirror.id!)) ?? [] }
        for name in holders(pointer.oid) where MirrorName.isValid(name) {
            let source = home.lfsObjectPath(name, pointer.oid)
            guard LFSStore.regularFileSize(source) == pointer.size else { continue }
            if (try? LFSStore.link(from: source, to: final)) == true { return .success(.linked) }
        }
        let endpoint: LFSEndpoint
        do {
            endpoint = try self.endpoint(for: mirror)
        } catch {
            return .failure(.local(Redactor.redact("\(error)")))
        }
        let item: LFSWorkItem
        let options = self.options
        switch endpoint.location {
        case let .file(directory):
            item = LFSWorkItem(pointer: pointer, source: .file(path: directory + "/" + pointer.oid.shardedPath))
        case let .http(url):
            let client = LFSBatchClient(endpoint: url, options: options, insecureTLS: mirror.insecureTLS, curl: CurlHandle())
            do {
                switch try client.download([pointer], isCancelled: isCancelled)[pointer.oid] {
                case let .download(action)?: item = LFSWorkItem(pointer: pointer, source: .http(action))
                case let .error(error)?: return .failure(error)
                case nil: return .failure(.badAnswer("the LFS server's batch answer left the object out"))
                }
            } catch LFSError.cancelled {
                return .failure(.cancelled)
            } catch {
                return .failure(.transfer(Redactor.redact("\(error)")))
            }
        }
        let worker = LFSTransferWorker(
            home: home, mirror: mirror, options: options, tracker: LFSProgressTracker(mirror: mirror.name), isCancelled: isCancelled,
            refresh: { pointer, curl in
                guard case let .http(url) = endpoint.location else { return nil }
                let client = LFSBatchClient(endpoint: url, options: options, insecureTLS: mirror.insecureTLS, curl: curl)
                return (try? client.download([pointer], isCancelled: isCancelled))?[pointer.oid]
            },
            holders: holders)
        return worker.run(item).outcome
    }
}

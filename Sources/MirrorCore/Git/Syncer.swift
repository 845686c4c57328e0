import Foundation

/// What a sync is doing right now, for live progress displays.
public struct SyncProgress: Sendable {
    public enum Phase: String, Sendable { case checking, fetching, indexing, done }
    public var mirror: String
    public var phase: Phase
    public var transfer: TransferProgress
}

/// The result of one sync, as the CLI and engine report it.
public struct SyncReport: Sendable {
    public var mirror: String
    public var result: SyncResult
    public var run: SyncRun?
    public var state: MirrorState?
    public var error: String?

    public var succeeded: Bool { result == .updated || result == .upToDate }
}

/// Brings one mirror in line with its upstream with libgit2 and records the run in the catalog.
///
/// Blocking: call it from a thread of its own, never from Swift's cooperative pool.
public struct Syncer: Sendable {
    public let home: Home
    public let catalog: Catalog
    /// Limits concurrent pack downloads per upstream host (the engine's), or nil for no limit.
    let hostGate: HostGate?
    /// Retry, jitter and pause rules applied when the run is recorded.
    public var policy = SchedulePolicy()
    /// Connect and stall timeouts of the upstream connections.
    public var transferLimits = GitTransferLimits()

    public init(home: Home, catalog: Catalog) {
        self.init(home: home, catalog: catalog, hostGate: nil)
    }

    init(home: Home, catalog: Catalog, hostGate: HostGate?) {
        self.home = home
        self.catalog = catalog
        self.hostGate = hostGate
    }

    /// Syncs `mirror`. `progress` is called from this thread; `isCancelled` is polled during the transfer
    /// and stops it promptly, leaving refs as they were.
    public func sync(_ mirror: Mirror, trigger: Trigger, actor: Actor, jobId: Int64? = nil,
                     progress: @escaping (SyncProgress) -> Void = { _ in },
                     isCancelled: @escaping () -> Bool = { false }) -> SyncReport {
        let lock: FileLock
        do {
            guard let held = try FileLock.tryAcquire(path: home.lockPath(mirror.name)) else {
                return SyncReport(mirror: mirror.name, result: .failed, error: GitError.busy(name: mirror.name).description)
            }
            lock = held
        } catch {
            return SyncReport(mirror: mirror.name, result: .failed, error: "\(error)")
        }
        defer { withExtendedLifetime(lock) {} }

        // The run is recorded as begun (status syncing) only before the repository is written to: an
        // up-to-date check records its run once, when it ends, in one transaction.
        var run = SyncRun(mirrorId: mirror.id!, jobId: jobId, trigger: trigger, actor: actor.description, startedAt: Date())
        let begin = { [catalog] in
            guard run.id == nil else { return }
            run = try catalog.beginRun(mirror: mirror, trigger: trigger, actor: actor, jobId: jobId, startedAt: run.startedAt)
        }
        var outcome: SyncOutcome
        do {
            outcome = try mirrorUpstream(mirror, lock: lock, willWrite: begin, progress: progress, isCancelled: isCancelled)
        } catch GitError.cancelled {
            outcome = SyncOutcome(result: .cancelled)
            outcome.error = GitError.cancelled.description
        } catch {
            outcome = SyncOutcome(result: .failed)
            outcome.error = Redactor.redact("\(error)")
            RateLimitProbe.classify(&outcome, mirror: mirror)
        }
        do {
            let (finished, state) = try catalog.finishRun(run, mirror: mirror, outcome: outcome, actor: actor, policy: policy)
            return SyncReport(mirror: mirror.name, result: outcome.result, run: finished, state: state, error: outcome.error)
        } catch {
            return SyncReport(mirror: mirror.name, result: .failed, run: run, error: "\(error)")
        }
    }

    /// The git part: list, compare, fetch when needed, point HEAD at upstream's default branch.
    ///
    /// Whatever writes to the repository is marked in the mirror's lock file first and unmarked once it
    /// succeeded; only a sync that finds the mark (a killed or failed predecessor) looks for the lock and
    /// temporary files it may have left, so an up-to-date sync touches nothing on disk.
    func mirrorUpstream(_ mirror: Mirror, lock: FileLock, willWrite: () throws -> Void = {},
                        progress: @escaping (SyncProgress) -> Void, isCancelled: @escaping () -> Bool) throws -> SyncOutcome {
        let path = home.mirrorPath(mirror.name)
        if lock.isMarked, FileManager.default.fileExists(atPath: path) {
            GitRepository.removeStaleFiles(path: path)
        }
        if !FileManager.default.fileExists(atPath: path + "/HEAD") {
            try willWrite()
            lock.mark("creating")
        }
        let repo = try GitRepository.openOrCreateMirror(path: path)
        let before = try repo.refs()
        let headBefore = repo.headTarget()
        let context = CallbackContext(insecureTLS: mirror.insecureTLS) { transfer in
            let phase: SyncProgress.Phase = transfer.totalObjects > 0 && transfer.receivedObjects == transfer.totalObjects ? .indexing : .fetching
            progress(SyncProgress(mirror: mirror.name, phase: phase, transfer: transfer))
            return !isCancelled()
        }
        progress(SyncProgress(mirror: mirror.name, phase: .checking, transfer: TransferProgress()))
        if isCancelled() { throw GitError.cancelled }
        let host = (try? UpstreamURL(mirror.upstream))?.host ?? "local"
        let session = try RemoteSession(repository: repo, url: mirror.upstream, context: context)
        var transferLimits = transferLimits
        transferLimits.buckets = TransferBudget.shared.buckets(for: mirror)
        transferLimits.plainHTTPProxy = PlainHTTPProxy.find(upstream: mirror.upstream)
        hostGate?.enterListing(host)
        let listed = Result { try transferLimits.apply(isCancelled: isCancelled) { try session.list() } }
        hostGate?.leaveListing(host)
        let listing = try listed.get()
        // The refs this mirror keeps: upstream's inside the mirror's ref filter (refs outside it that an
        // earlier filter let in go, as refs deleted upstream do).
        let target = Self.target(local: before, remote: listing.refs, prune: mirror.prune, filter: mirror.refFilter)
        let behind = Self.differences(local: before, target: target)
        let headMatches = listing.defaultBranch == nil || listing.defaultBranch == headBefore

        if behind == 0 && headMatches {
            lock.clearMark()
            return SyncOutcome(result: .upToDate, refs: before, headRef: headBefore, behind: 0)
        }
        try willWrite()
        lock.mark("fetching")
        var outcome = SyncOutcome(result: .updated, behind: behind)
        var after = before
        if behind > 0 {
            if let gate = hostGate {
                guard gate.enter(host, cancelled: isCancelled) else { throw GitError.cancelled }
            }
            defer { hostGate?.leave(host) }
            // A filtered mirror asks for exactly the refs it keeps that changed; otherwise the mirror refspec.
            let wanted = mirror.refFilter.isAll ? nil : target.filter { before[$0.key] != $0.value }.keys.sorted()
            let stats: TransferProgress
            do {
                stats = wanted?.isEmpty == true ? TransferProgress()
                    : try transferLimits.apply(isCancelled: isCancelled) { try session.download(refs: wanted) }
            } catch {
                // A cancel seen while waiting on the socket ends the read as an error of its own.
                if isCancelled() { throw GitError.cancelled }
                throw error
            }
            outcome.bytesReceived = stats.receivedBytes
            outcome.objectsReceived = stats.receivedObjects
            after = target
            let changed = after.filter { before[$0.key] != $0.value }
            let missing = try repo.missingObjects(Set(changed.values))
            guard missing.isEmpty else {
                throw GitError.repository(path: path, message: "upstream advertised \(missing.count) ref target(s) it did not send (first: \(missing[0])); the refs were left as they were")
            }
            try repo.replaceRefs(with: after, peeled: listing.peeled, previous: before)
        }
        if let branch = listing.defaultBranch, branch != headBefore, after[branch] != nil {
            try repo.setHead(branch)
        }
        outcome.refs = after
        outcome.headRef = repo.headTarget()
        outcome.refsUpdated = after.filter { before[$0.key] != $0.value }.count
        outcome.refsDeleted = before.keys.filter { after[$0] == nil }.count
        outcome.diskBytes = DiskUsage.bytes(atPath: path)
        lock.clearMark()
        progress(SyncProgress(mirror: mirror.name, phase: .done, transfer: TransferProgress()))
        return outcome
    }

    /// The mirror's refs after a sync: upstream's inside `filter`, plus (when not pruning) the mirror's refs
    /// inside it that are gone upstream.
    static func target(local: [String: String], remote: [String: String], prune: Bool, filter: RefFilter = .all) -> [String: String] {
        let kept = filter.apply(remote)
        guard !prune else { return kept }
        return filter.apply(local).merging(kept) { _, new in new }
    }

    /// Refs that differ between the mirror and its target: new, moved, and gone.
    static func differences(local: [String: String], target: [String: String]) -> Int {
        target.filter { local[$0.key] != $0.value }.count + local.keys.filter { target[$0] == nil }.count
    }
}

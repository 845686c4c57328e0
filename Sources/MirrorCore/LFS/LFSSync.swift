import Foundation

/// Git LFS for the mirrors of one home: finds pointers in new commits and brings their objects in.
///
/// Contract, for the engine and the CLI:
/// - Blocking: call from a dedicated thread, never from Swift's cooperative pool. A fetch runs
///   `parallel` transfer threads (one reused curl handle each) and one batch-API thread of its own.
/// - `run(mirror:…)` is what an `lfs` job does after a successful sync: `discover`, then `fetch`, under the
///   mirror's LFS lock (`locks/lfs/<name>.lock`; separate from the sync lock, so call it after
///   `Syncer.sync` has returned). `discover` and `fetch` can also be called on their own.
/// - `discover` walks only commits new since the last scan (the cursor is the set of ref tips it covered,
///   in `lfs_scan_tip`), reads only blobs under 1024 bytes, and records new objects as `missing`. When no
///   ref moved it does no walk at all.
/// - `fetch` brings every object that is not `present`: hard-linked from another mirror that has it,
///   copied and hashed from a `file://` endpoint, or downloaded through the batch API (resuming
///   `lfs-incomplete/<oid>.part`), verified (size, SHA-256) and renamed into
///   `mirrors/<name>.git/lfs/objects/ab/cd/<oid>`. It updates each `lfs_object` row, the `lfs_scan` row, and
///   `mirror_state`: status `fetching-lfs` while running; the LFS counters (`lfs_objects_present/total`,
///   `lfs_bytes_present/total`) at the end; and when objects are missing, status `failed`,
///   `last_error` = "LFS: N of M LFS objects missing (…)", `last_failure_at`, `consecutive_failures` + 1.
///   A later complete fetch clears such an LFS failure. It never touches `next_run_at`, `fresh_as_of`,
///   refs or sync runs, and records one `lfs` event.
/// - `progress` is called on the calling thread at most every `options.progressInterval` (0.25 s: fit for
///   job rows) and once at the end. `isCancelled` is polled often; cancelling keeps partial downloads for
///   the next run and returns result `.cancelled`.
/// - Nothing throws out of `run` and `fetch`: the report carries `result`, a one-line `error` (no
///   credentials) and the first failed objects.
public struct LFSSync: Sendable {
    public let home: Home
    public let catalog: Catalog
    public var options: LFSOptions
    /// Shared with other fetches (an engine's LFS jobs): each object's transfer holds one of these slots.
    public var slots: LFSTransferSlots?

    public init(home: Home, catalog: Catalog, options: LFSOptions = LFSOptions()) {
        self.home = home
        self.catalog = catalog
        self.options = options
    }

    /// Scans for pointers, then fetches what is missing (an `lfs` job; `mirrordeck lfs fetch`).
    /// `fullScan` walks all of history again and drops objects no longer reachable from the catalog.
    public func run(mirror: Mirror, actor: Actor = .local, fullScan: Bool = false, parallel: Int? = nil,
                    progress: @escaping (LFSProgress) -> Void = { _ in },
                    isCancelled: @escaping @Sendable () -> Bool = { false }) -> LFSFetchReport {
        guard mirror.lfs != .off else { return LFSFetchReport(mirror: mirror.name, result: .skipped) }
        let lock: FileLock
        switch acquireLock(mirror) {
        case let .success(held): lock = held
        case let .failure(error): return Self.refused(mirror, error)
        }
        defer { withExtendedLifetime(lock) {} }
        progress(LFSProgress(mirror: mirror.name, phase: .scanning))
        let discovery: LFSDiscovery
        do {
            discovery = try discoverLocked(mirror, full: fullScan, actor: actor, isCancelled: isCancelled)
        } catch let error as LFSError {
            if case .notSynced = error { return Self.refused(mirror, error) }
            return recordFailure(mirror, error: error, actor: actor)
        } catch {
            return recordFailure(mirror, error: error, actor: actor)
        }
        var report = fetchLocked(mirror, actor: actor, parallel: parallel ?? options.parallel, progress: progress, isCancelled: isCancelled)
        report.discovery = discovery
        return report
    }

    /// Scans commits new since the last scan for LFS pointers and records new objects as missing.
    public func discover(mirror: Mirror, full: Bool = false, actor: Actor = .local,
                         isCancelled: @escaping @Sendable () -> Bool = { false }) throws -> LFSDiscovery {
        let lock = try acquireLock(mirror).get()
        defer { withExtendedLifetime(lock) {} }
        return try discoverLocked(mirror, full: full, actor: actor, isCancelled: isCancelled)
    }

    /// Brings in every object of the mirror that is not present (see the type's contract).
    public func fetch(mirror: Mirror, actor: Actor = .local, parallel: Int? = nil,
                      progress: @escaping (LFSProgress) -> Void = { _ in },
                      isCancelled: @escaping @Sendable () -> Bool = { false }) -> LFSFetchReport {
        guard mirror.lfs != .off else { return LFSFetchReport(mirror: mirror.name, result: .skipped) }
        let lock: FileLock
        switch acquireLock(mirror) {
        case let .success(held): lock = held
        case let .failure(error): return Self.refused(mirror, error)
        }
        defer { withExtendedLifetime(lock) {} }
        guard FileManager.default.fileExists(atPath: home.mirrorPath(mirror.name) + "/HEAD") else {
            return Self.refused(mirror, LFSError.notSynced(name: mirror.name))
        }
        return fetchLocked(mirror, actor: actor, parallel: parallel ?? options.parallel, progress: progress, isCancelled: isCancelled)
    }

    /// The endpoint a fetch of `mirror` would use now (reads `.lfsconfig` from the mirror's default branch).
    public func endpoint(for mirror: Mirror) throws -> LFSEndpoint {
        var lfsconfig: String?
        let path = home.mirrorPath(mirror.name)
        if FileManager.default.fileExists(atPath: path + "/HEAD") {
            let repo = try LFSRepository.open(path: path)
            lfsconfig = repo.fileOnDefaultBranch(".lfsconfig").map { String(decoding: $0, as: UTF8.self) }
        }
        return try LFSEndpoint.resolve(mirror: mirror, lfsconfig: lfsconfig)
    }

    // MARK: - Locking and failures before any work

    /// Takes the mirror's LFS lock, waiting up to two seconds: a lock released a moment ago can still be
    /// held for an instant by a child process some thread of this process is spawning (it shares the open
    /// file until it execs), and that must not read as "busy".
    private func acquireLock(_ mirror: Mirror) -> Result<FileLock, Error> {
        Self.acquireLock(home: home, mirror)
    }

    /// The mirror's LFS lock, as `acquireLock` takes it: fetches, retention and restores of one mirror
    /// never overlap.
    static func acquireLock(home: Home, _ mirror: Mirror) -> Result<FileLock, Error> {
        do {
            try FileManager.default.createDirectory(atPath: home.locksDirectory + "/lfs", withIntermediateDirectories: true)
            for _ in 0..<40 {
                if let held = try FileLock.tryAcquire(path: home.lfsLockPath(mirror.name)) { return .success(held) }
                usleep(50_000)
            }
            return .failure(LFSError.busy(name: mirror.name))
        } catch {
            return .failure(error)
        }
    }

    /// A run that did not start (busy, never synced): reported, but the mirror's state is left alone.
    private static func refused(_ mirror: Mirror, _ error: Error) -> LFSFetchReport {
        var report = LFSFetchReport(mirror: mirror.name, result: .failed)
        report.error = Redactor.redact("\(error)")
        return report
    }

    /// A run that failed before fetching (unreadable repository): recorded on the mirror.
    private func recordFailure(_ mirror: Mirror, error: Error, actor: Actor) -> LFSFetchReport {
        var report = LFSFetchReport(mirror: mirror.name, result: .failed)
        if case LFSError.cancelled = error { report.result = .cancelled }
        report.error = Redactor.redact("\(error)")
        if let previous = try? catalog.beginLFS(mirrorId: mirror.id!) {
            report.state = try? catalog.finishLFS(mirror: mirror, report: report, previous: previous, actor: actor)
        }
        return report
    }

    // MARK: - Discovery

    private func discoverLocked(_ mirror: Mirror, full: Bool, actor: Actor, isCancelled: @escaping () -> Bool) throws -> LFSDiscovery {
        let started = Date()
        let path = home.mirrorPath(mirror.name)
        guard FileManager.default.fileExists(atPath: path + "/HEAD") else { throw LFSError.notSynced(name: mirror.name) }
        let previous = full ? [] : try catalog.lfsScanTips(mirrorId: mirror.id!)
        let repo = try LFSRepository.open(path: path)
        let scan = try PointerScanner(repository: repo, isCancelled: isCancelled).scan(previousTips: previous)
        let recorded = try catalog.recordLFSScan(mirror: mirror, scan: scan, full: full, actor: actor)
        let counts = try catalog.lfsCounts(mirrorId: mirror.id!)
        var discovery = LFSDiscovery(mirror: mirror.name)
        discovery.upToDate = scan.upToDate
        discovery.full = full
        discovery.census = scan.census
        discovery.commitsScanned = scan.commitsScanned
        discovery.blobsChecked = scan.blobsChecked
        discovery.pointersFound = scan.pointers.count
        discovery.newObjects = recorded.new
        discovery.removedObjects = recorded.removed
        discovery.malformedPointers = scan.malformedCount
        discovery.malformedExamples = scan.malformed.map { "blob \($0.blob): \($0.reason)" }
        discovery.objectsTotal = counts.objectsTotal
        discovery.bytesTotal = counts.bytesTotal
        discovery.durationMs = Int(Date().timeIntervalSince(started) * 1000)
        return discovery
    }

    // MARK: - Fetch

    private func fetchLocked(_ mirror: Mirror, actor: Actor, parallel: Int, progress: @escaping (LFSProgress) -> Void,
                             isCancelled: @escaping @Sendable () -> Bool) -> LFSFetchReport {
        let started = Date()
        var report = LFSFetchReport(mirror: mirror.name, result: .ok)
        let previous: MirrorStatus
        do {
            previous = try catalog.beginLFS(mirrorId: mirror.id!)
        } catch {
            return Self.refused(mirror, error)
        }
        let tracker = LFSProgressTracker(mirror: mirror.name)
        let collector = LFSResultCollector()
        var problem: String?
        do {
            try transfer(mirror, parallel: max(1, parallel), tracker: tracker, collector: collector, report: &report,
                         progress: progress, isCancelled: isCancelled)
        } catch LFSError.cancelled {
        } catch let LFSError.rateLimited(limit) {
            report.rateLimit = limit
        } catch {
            problem = Redactor.redact("\(error)")
        }
        do {
            try catalog.updateLFSObjects(mirrorId: mirror.id!, collector.drain())
        } catch {
            problem = problem ?? "\(error)"
        }
        let counts = (try? catalog.lfsCounts(mirrorId: mirror.id!)) ?? LFSCounts()
        report.objectsTotal = counts.objectsTotal
        report.objectsPresent = counts.objectsPresent
        report.bytesTotal = counts.bytesTotal
        report.bytesPresent = counts.bytesPresent
        report.downloaded = collector.downloaded
        report.linked = collector.linked
        report.copied = collector.copied
        report.found = collector.found
        report.restored = collector.restored
        report.unavailable = collector.unavailable
        report.failed = collector.failed
        report.failures = collector.failures
        report.bytesResumed = collector.resumedBytes
        let final = tracker.snapshot(phase: .done)
        report.bytesTransferred = final.bytesTransferred
        if isCancelled() {
            report.result = .cancelled
            report.error = "cancelled: \(report.missing) of \(report.objectsTotal) objects still missing; partial downloads are kept"
        } else if let limit = report.rateLimit, problem == nil {
            report.result = .rateLimited
            report.error = LFSError.rateLimited(limit).description
            // The host's state, whoever runs this fetch (an engine's job or `lfs fetch`).
            _ = try? catalog.recordRateLimit(limit, actor: actor)
        } else if report.missing > 0 || problem != nil {
            report.result = .failed
            report.error = Self.summary(report, problem: problem)
        }
        report.durationMs = Int(Date().timeIntervalSince(started) * 1000)
        do {
            report.state = try catalog.finishLFS(mirror: mirror, report: report, previous: previous, actor: actor)
        } catch {
            report.result = .failed
            report.error = report.error ?? "\(error)"
        }
        progress(final)
        return report
    }

    /// "3 of 20 LFS objects missing (2 unavailable upstream, 1 failed); first: 4d7a21… <why>".
    static func summary(_ report: LFSFetchReport, problem: String?) -> String {
        var text = ""
        if let problem { text = problem + "; " }
        text += "\(report.missing) of \(report.objectsTotal) LFS objects missing"
        var kinds: [String] = []
        if report.unavailable > 0 { kinds.append("\(report.unavailable) unavailable upstream") }
        if report.failed > 0 { kinds.append("\(report.failed) failed") }
        if !kinds.isEmpty { text += " (" + kinds.joined(separator: ", ") + ")" }
        if problem == nil, let first = report.failures.first {
            text += "; first: \(first.oid.prefix(12))… \(first.error)"
        }
        return text
    }

    /// Plans and runs the transfers; per-object outcomes go to `collector`, which is drained into the
    /// catalog on this thread while the workers run.
    private func transfer(_ mirror: Mirror, parallel: Int, tracker: LFSProgressTracker, collector: LFSResultCollector,
                          report: inout LFSFetchReport, progress: @escaping (LFSProgress) -> Void,
                          isCancelled: @escaping @Sendable () -> Bool) throws {
        let mirrorId = mirror.id!
        var todo: [LFSPointer] = []
        var lost: [LFSObjectUpdate] = []
        // A retention policy (`--lfs-keep`): objects out of it are not fetched (marked pruned); objects in
        // the trash or the archive that it keeps again (or every one, for `all`) come back from there first.
        let retention = LFSRetention(home: home, catalog: catalog)
        let kept = try retention.keptObjects(mirror, isCancelled: isCancelled)
        var dropped: [LFSRetireUpdate] = []
        for object in try catalog.lfsObjects(mirrorId: mirrorId) {
            guard let oid = LFSOID(object.oid) else { continue }
            let pointer = LFSPointer(oid: oid, size: object.size)
            let inPolicy = kept?.contains(object.oid) ?? true
            if object.state.isRetired {
                guard inPolicy else { continue }
                if case .restored = retention.restoreCopy(mirror: mirror, pointer: pointer, from: object.retiredPath) {
                    collector.success(pointer, source: .restored)
                } else {
                    todo.append(pointer)
                }
            } else if object.state != .present, !inPolicy {
                dropped.append(LFSRetireUpdate(oid: object.oid, state: .pruned, path: nil))
            } else if object.state == .present {
                // Present in the catalog but gone or changed on disk (removed by hand, quarantined): fetch again.
                if LFSStore.regularFileSize(home.lfsObjectPath(mirror.name, oid)) != object.size {
                    lost.append(LFSObjectUpdate(oid: object.oid, state: .missing, error: "the object's file was missing from the mirror", attempted: false))
                    todo.append(pointer)
                }
            } else {
                todo.append(pointer)
            }
        }
        try catalog.updateLFSObjects(mirrorId: mirrorId, lost + collector.drain())
        try catalog.retireLFSObjects(mirrorId: mirrorId, dropped)
        guard !todo.isEmpty else { return }

        // 1. Local sources first: objects already in place, and objects other mirrors hold.
        let holders = try catalog.lfsHolders(forMissingIn: mirrorId)
        let space = DiskSpace.of(home.root) ?? DiskSpace(freeBytes: Int64.max / 4, totalBytes: Int64.max / 4)
        let free = space.freeBytes
        var onDisk: [LFSPointer] = []
        var network: [LFSPointer] = []
        var copies: [LFSWorkItem] = []
        for pointer in todo {
            // An object larger than the whole filesystem is a pointer problem, not a budget one.
            if pointer.size > space.totalBytes {
                collector.failure(pointer, .noSpace(size: pointer.size, free: free), attempted: false)
            } else if LFSStore.regularFileSize(home.lfsObjectPath(mirror.name, pointer.oid)) != nil {
                onDisk.append(pointer)
            } else {
                network.append(pointer)
            }
        }
        let verified = WorkerPool.map(onDisk, width: parallel) { [home] pointer in
            LFSStore.verify(path: home.lfsObjectPath(mirror.name, pointer.oid), pointer: pointer)
        }
        for (pointer, ok) in zip(onDisk, verified) {
            if ok {
                collector.success(pointer, source: .found)
            } else {
                quarantine(mirror, pointer, reason: "found in place with the wrong size or SHA-256 during an LFS fetch")
                network.append(pointer)
            }
        }
        var remote: [LFSPointer] = []
        for pointer in network {
            var placed = false
            for name in holders[pointer.oid.hex] ?? [] where MirrorName.isValid(name) {
                let source = home.lfsObjectPath(name, pointer.oid)
                guard LFSStore.regularFileSize(source) == pointer.size else { continue }
                do {
                    if try LFSStore.link(from: source, to: home.lfsObjectPath(mirror.name, pointer.oid)) {
                        collector.success(pointer, source: .linked)
                    } else {
                        copies.append(LFSWorkItem(pointer: pointer, source: .file(path: source)))
                    }
                    placed = true
                    break
                } catch let error as LFSObjectError {
                    collector.failure(pointer, error, attempted: true)
                    placed = true
                    break
                }
            }
            if !placed { remote.append(pointer) }
        }
        try catalog.updateLFSObjects(mirrorId: mirrorId, collector.drain())

        // The disk budget: what must still be written (downloads and cross-filesystem copies, less what
        // their .part files hold) against the free space beyond the reserve. Short: fail now, fetch nothing.
        let needed = (remote + copies.map(\.pointer)).reduce(Int64(0)) { sum, pointer in
            sum + max(0, pointer.size - (LFSStore.regularFileSize(home.lfsPartPath(pointer.oid)) ?? 0))
        }
        let budget = DiskBudget(needed: needed, space: DiskSpace.of(home.root) ?? space, reserve: options.reserve)
        guard budget.fits else { throw LFSError.diskBudget(budget) }

        // 2. The endpoint, only when something has to come from upstream.
        var endpoint: LFSEndpoint?
        var endpointError: Error?
        if !remote.isEmpty {
            do {
                let repo = try LFSRepository.open(path: home.mirrorPath(mirror.name))
                let lfsconfig = repo.fileOnDefaultBranch(".lfsconfig").map { String(decoding: $0, as: UTF8.self) }
                endpoint = try LFSEndpoint.resolve(mirror: mirror, lfsconfig: lfsconfig)
                report.endpoint = endpoint?.description
                report.endpointSource = endpoint?.source.rawValue
            } catch {
                endpointError = error
            }
        }

        // 3. Transfers: a batch thread feeds the queue, `parallel` workers drain it.
        let queue = LFSWorkQueue<LFSWorkItem>()
        let workBytes = (copies.map(\.pointer) + (endpoint == nil ? [] : remote)).reduce(Int64(0)) { $0 + $1.size }
        tracker.addWork(objects: copies.count + (endpoint == nil ? 0 : remote.count), bytes: workBytes)
        for item in copies { queue.push(item) }
        let group = DispatchGroup()
        let problems = LFSProblemBox()
        switch endpoint?.location {
        case let .file(directory)?:
            for pointer in remote.sorted(by: { $0.size > $1.size }) {
                queue.push(LFSWorkItem(pointer: pointer, source: .file(path: directory + "/" + pointer.oid.shardedPath)))
            }
            queue.close()
        case let .http(url)?:
            let options = self.options
            // Largest first, so big objects start early and small ones fill the gaps at the end.
            let ordered = remote.sorted { $0.size > $1.size }
            let step = max(1, min(100, options.batchSize))
            let batches = stride(from: 0, to: ordered.count, by: step).map { Array(ordered[$0..<min(ordered.count, $0 + step)]) }
            group.enter()
            let producer = Thread {
                defer { queue.close(); group.leave() }
                let client = LFSBatchClient(endpoint: url, options: options, insecureTLS: mirror.insecureTLS, curl: CurlHandle())
                for batch in batches {
                    if problems.rateLimit != nil { return }
                    do {
                        let answers = try client.download(batch, isCancelled: isCancelled)
                        for pointer in batch {
                            switch answers[pointer.oid] {
                            case let .download(action)?: queue.push(LFSWorkItem(pointer: pointer, source: .http(action)))
                            case let .error(error)?:
                                tracker.finished(pointer.oid, size: pointer.size, ok: false)
                                collector.failure(pointer, error, attempted: true)
                            case nil:
                                tracker.finished(pointer.oid, size: pointer.size, ok: false)
                            }
                        }
                    } catch {
                        if case LFSError.cancelled = error { return }
                        problems.set(error)
                        return
                    }
                }
            }
            producer.stackSize = 1 << 20
            producer.start()
        case nil:
            queue.close()
        }
        let refreshEndpoint = endpoint
        let slots = self.slots
        for _ in 0..<parallel {
            group.enter()
            let worker = Thread { [home, options] in
                defer { group.leave() }
                let transfer = LFSTransferWorker(
                    home: home, mirror: mirror, options: options, tracker: tracker, isCancelled: isCancelled,
                    refresh: { pointer, curl in
                        guard case let .http(url)? = refreshEndpoint?.location else { return nil }
                        let client = LFSBatchClient(endpoint: url, options: options, insecureTLS: mirror.insecureTLS, curl: curl)
                        return (try? client.download([pointer], isCancelled: isCancelled))?[pointer.oid]
                    },
                    holders: { oid in (try? catalog.lfsHolders(oid: oid.hex, excluding: mirrorId)) ?? [] })
                while let item = queue.pop() {
                    // Once a host is rate-limited the objects left stay missing (not failed) for the retry.
                    if isCancelled() || problems.rateLimit != nil { continue }
                    if let slots, !slots.acquire(isCancelled: isCancelled) { continue }
                    let result = transfer.run(item)
                    slots?.release()
                    if case let .failure(.rateLimited(limit)) = result.outcome {
                        problems.set(LFSError.rateLimited(limit))
                        continue
                    }
                    collector.add(result)
                }
            }
            worker.stackSize = 1 << 20
            worker.start()
        }
        // 4. This thread: progress and catalog writes, a few times a second, until the workers are done.
        while group.wait(timeout: .now() + options.progressInterval) == .timedOut {
            try? catalog.updateLFSObjects(mirrorId: mirrorId, collector.drain())
            progress(tracker.snapshot())
        }
        if let error = problems.error { throw error }
        if let endpointError { throw endpointError }
    }

    /// Moves a bad object aside (never deletes it): `quarantine/<date>/<mirror>/lfs/<oid>` plus a note.
    private func quarantine(_ mirror: Mirror, _ pointer: LFSPointer, reason: String) {
        let day = String(TimeFormat.iso(Date())?.prefix(10) ?? "unknown")
        let dir = home.quarantineDirectory + "/" + day + "/" + mirror.name.replacingOccurrences(of: "/", with: "%2F") + "/lfs"
        guard (try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)) != nil else { return }
        let target = dir + "/" + pointer.oid.hex
        if rename(home.lfsObjectPath(mirror.name, pointer.oid), target) == 0 {
            try? "\(reason)\n".write(toFile: target + ".why", atomically: true, encoding: .utf8)
        }
    }
}

/// The first fatal error of the batch thread.
private final class LFSProblemBox: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Error?

    func set(_ error: Error) {
        lock.lock()
        if stored == nil { stored = error }
        lock.unlock()
    }

    var error: Error? {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }

    /// The rate limit that stopped the fetch, if that was its problem.
    var rateLimit: HostRateLimit? {
        if case let LFSError.rateLimited(limit)? = error { return limit }
        return nil
    }
}

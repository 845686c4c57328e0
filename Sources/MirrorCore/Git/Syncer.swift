import Foundation

/// What a sync is doing right now, for live progress displays.
public struct SyncProgress: Sendable {
    /// `waiting`: something to fetch, and every download slot (`max_syncs`, or the host's) is taken.
    public enum Phase: String, Sendable { case checking, waiting, fetching, indexing, done }
    public var mirror: String
    public var phase: Phase
    public var transfer: TransferProgress
    /// The step of a stepwise fetch under way (1-based) and the steps it expects in all, counting steps
    /// kept from earlier runs; nil for a fetch in one piece.
    public var step: (number: Int, of: Int)?

    /// The phase as jobs and the dashboard show it: "step 14/40" while fetching in steps.
    public var label: String {
        guard let step, phase == .fetching || phase == .indexing else { return phase.rawValue }
        return "step \(step.number)/\(step.of)"
    }
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
    /// Fetch in steps from the start, whatever the mirror's and the link's history (`sync --stepwise`).
    public var forceSteps = false
    /// How many cuts in a row one step may take before the run fails (its completed steps are kept).
    public var maxCutsPerStep = 20

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
        let tally = FetchTally()
        do {
            outcome = try mirrorUpstream(mirror, lock: lock, tally: tally, jobId: jobId, willWrite: begin, progress: progress, isCancelled: isCancelled)
        } catch GitError.cancelled {
            outcome = SyncOutcome(result: .cancelled)
            outcome.error = GitError.cancelled.description
        } catch {
            outcome = SyncOutcome(result: .failed)
            outcome.error = Redactor.redact("\(error)")
            RateLimitProbe.classify(&outcome, mirror: mirror)
        }
        // What went over the link counts whether or not the run completed: a cut run's steps are kept.
        outcome.bytesReceived = tally.bytes
        outcome.objectsReceived = tally.objects
        outcome.steps = tally.steps
        outcome.stepsTotal = tally.stepsTotal
        outcome.attempts = tally.attempts
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
    func mirrorUpstream(_ mirror: Mirror, lock: FileLock, tally: FetchTally = FetchTally(), jobId: Int64? = nil, willWrite: () throws -> Void = {},
                        progress: @escaping (SyncProgress) -> Void, isCancelled: @escaping () -> Bool) throws -> SyncOutcome {
        let path = home.mirrorPath(mirror.name)
        // A fetch that died or failed before (the mark says so) is not tried in one piece again.
        let fetchDiedBefore = lock.markText?.hasPrefix("fetching") == true
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
        let counter = ByteCounter()
        let context = CallbackContext(insecureTLS: mirror.insecureTLS) { [tally] transfer in
            let phase: SyncProgress.Phase = transfer.totalObjects > 0 && transfer.receivedObjects == transfer.totalObjects ? .indexing : .fetching
            var transfer = transfer
            transfer.receivedBytes = tally.bytes + (counter.total - tally.counterAtStart)
            progress(SyncProgress(mirror: mirror.name, phase: phase, transfer: transfer, step: tally.currentStep))
            return !isCancelled()
        }
        progress(SyncProgress(mirror: mirror.name, phase: .checking, transfer: TransferProgress()))
        if isCancelled() { throw GitError.cancelled }
        let host = (try? UpstreamURL(mirror.upstream))?.host ?? "local"
        let session = try RemoteSession(repository: repo, url: mirror.upstream, context: context)
        var transferLimits = transferLimits
        transferLimits.buckets = TransferBudget.shared.buckets(for: mirror)
        transferLimits.plainHTTPProxy = PlainHTTPProxy.find(upstream: mirror.upstream)
        transferLimits.received = counter
        hostGate?.enterListing(host, inFlight: HostGate.listingsInFlight(upstream: mirror.upstream))
        let listed = Result { try transferLimits.apply(isCancelled: isCancelled) { try session.list() } }
        hostGate?.leaveListing(host)
        let listing = try listed.get()
        // The refs this mirror keeps: upstream's inside the mirror's ref filter (refs outside it that an
        // earlier filter let in go, as refs deleted upstream do).
        let target = Self.target(local: before, remote: listing.refs, prune: mirror.prune, filter: mirror.refFilter)
        let behind = Self.differences(local: before, target: target)
        let headMatches = listing.defaultBranch == nil || listing.defaultBranch == headBefore

        let hidden = try repo.hiddenRefs()
        if behind == 0 && headMatches {
            // Steps a run completed but could not clean up after (killed right after the refs were written).
            if !hidden.isEmpty { try repo.removeHiddenRefs() }
            if StepStage.exists(mirror: path) { StepStage.remove(mirror: path) }
            lock.clearMark()
            return SyncOutcome(result: .upToDate, refs: before, headRef: headBefore, behind: 0)
        }
        try willWrite()
        lock.mark("fetching")
        var outcome = SyncOutcome(result: .updated, behind: behind)
        var after = before
        if behind > 0 {
            if let gate = hostGate {
                let waiting = { progress(SyncProgress(mirror: mirror.name, phase: .waiting, transfer: TransferProgress())) }
                guard gate.enter(host, cancelled: isCancelled, waiting: waiting) else { throw GitError.cancelled }
            }
            defer { hostGate?.leave(host) }
            // The refs whose objects the repository lacks, in the order steps would fetch them.
            let changed = target.filter { before[$0.key] != $0.value }
            let lacking = Set(try repo.missingObjects(Set(changed.values)))
            let needed = FetchSteps.order(changed.filter { lacking.contains($0.value) }.keys.map { $0 }, defaultBranch: listing.defaultBranch)
            let linkCut = (try? catalog.linkCut(host: host)) ?? nil
            // Up front only where the link is known to break (a new mirror alone is no reason: near, a fetch
            // in one piece is several times faster than steps, 0.17 s against 1.4 s for 2,000 refs, and over a
            // link that cuts, one piece loses at most one cut's worth before the run goes on in steps).
            let stepwise = !needed.isEmpty && (forceSteps || !hidden.isEmpty || StepStage.exists(mirror: path) || fetchDiedBefore || linkCut != nil)
            // What the link carried before it cut a fetch in one piece (then the rest goes in steps).
            var cutAfter: Int64?
            if !needed.isEmpty && !stepwise {
                // One piece: a filtered mirror asks for exactly the refs it keeps that changed; otherwise the mirror refspec.
                let wanted = mirror.refFilter.isAll ? nil : changed.keys.sorted()
                tally.begin(counter)
                do {
                    let stats = try transferLimits.apply(isCancelled: isCancelled) { try session.download(refs: wanted) }
                    tally.end(counter, objects: stats.receivedObjects)
                } catch {
                    tally.end(counter, objects: 0)
                    // A cancel seen while waiting on the socket ends the read as an error of its own.
                    if isCancelled() { throw GitError.cancelled }
                    guard let transferCut = error as? TransferCut else { throw error }
                    if transferCut.isStall { throw transferCut.error }
                    cutAfter = tally.bytes
                    recordCut(host: host, bytes: tally.bytes)
                }
            }
            if stepwise || cutAfter != nil {
                lock.mark("fetching in steps")
                var sizer = StepSizer.forLink(cutBytes: cutAfter ?? linkCut)
                sizer.killSafe = fetchDiedBefore
                try fetchInSteps(needed, targets: changed, repo: repo, mirror: mirror, host: host, jobId: jobId, hidden: hidden, sizer: sizer,
                                 limits: transferLimits, counter: counter, context: context, tally: tally, isCancelled: isCancelled)
            }
            after = target
            let missing = try repo.missingObjects(Set(changed.values))
            guard missing.isEmpty else {
                throw GitError.repository(path: path, message: "upstream advertised \(missing.count) ref target(s) it did not send (first: \(missing[0])); the refs were left as they were")
            }
            try repo.replaceRefs(with: after, peeled: listing.peeled, previous: before)
            if !hidden.isEmpty || tally.steps > 0 { try repo.removeHiddenRefs() }
            StepStage.remove(mirror: path)
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

    /// Fetches `needed` (ref names, in step order; `targets` gives their oids) in steps, keeping each
    /// completed step under hidden refs (see `FetchSteps`). A cut step is retried smaller, at once for the
    /// first four cuts in a row and then after 1, 2, 4 … 30 s; after `maxCutsPerStep` cuts in a row the run
    /// fails with the last cut's error, its completed steps kept for the next.
    private func fetchInSteps(_ needed: [String], targets: [String: String], repo: GitRepository, mirror: Mirror, host: String, jobId: Int64?,
                              hidden: [String: String], sizer initial: StepSizer, limits: GitTransferLimits, counter: ByteCounter,
                              context: CallbackContext, tally: FetchTally, isCancelled: @escaping () -> Bool) throws {
        var sizer = initial
        try repo.hideHiddenRefs()
        let stage = try StepStage(mirror: repo.path)
        let kept = try stage.steps()
        var stepNumber = max(kept.keys.max() ?? 0, hidden.keys.map(FetchSteps.step(ofHiddenRef:)).max() ?? 0)
        if kept.isEmpty {
            // Step 0: the branch tips the mirror serves, offered to the upstream before anything else.
            let heads = try repo.refs().filter { $0.key.hasPrefix("refs/heads/") }
            let order = FetchSteps.order(Array(heads.keys), defaultBranch: repo.headTarget()).prefix(FetchSteps.baseTips)
            try stage.record(step: 0, oids: Array(Set(order.compactMap { heads[$0] })))
        }
        var remaining = needed[...]
        var cutsInRow = 0
        // Over smart HTTP one session serves the steps: its connection stays open between the steps' requests
        // and the ref listing is not asked again, two round trips less a step (over 150 ms, 0.3 s of about
        // 0.7 s). Not past what the link cuts a connection after: links that cut do so by the bytes a
        // connection carried (measured in the lab: a shared connection turned 22 steps in 24 tries into 40 in
        // 79), so a session whose next step could reach three quarters of the shortest cut gives way to a new
        // one. git:// and ssh:// close the connection after a pack: there each step has a session of its own.
        let reuse = UpstreamURL.isHTTP(mirror.upstream)
        var session: RemoteSession?
        var sessionBytes: Int64 = 0
        while !remaining.isEmpty {
            if isCancelled() { throw GitError.cancelled }
            let count = sizer.next(remaining: remaining.count)
            let batch = Array(remaining.prefix(count))
            let after = remaining.count - count
            tally.currentStep = (stepNumber + 1, stepNumber + 1 + (after + count - 1) / count)
            tally.stepsTotal = tally.currentStep!.of
            tally.begin(counter)
            let carried: Int64
            if let floor = sizer.cutFloor, sessionBytes + sizer.byteTarget > floor * 3 / 4 { session = nil }
            do {
                if session == nil { sessionBytes = 0 }
                let current = try session ?? RemoteSession(repository: stage.repo, url: mirror.upstream, context: context)
                session = reuse ? current : nil
                let stats = try limits.apply(isCancelled: isCancelled) { try current.download(refs: batch) }
                carried = tally.end(counter, objects: stats.receivedObjects)
                sessionBytes += carried
                try stage.adoptPacks()
            } catch let error as TransferCut {
                session = nil
                let carried = tally.end(counter, objects: 0)
                if isCancelled() { throw GitError.cancelled }
                recordCut(host: host, bytes: carried)
                cutsInRow += 1
                guard cutsInRow < maxCutsPerStep, !error.isStall else { throw error.error }
                sizer.cut(refs: batch.count, after: carried)
                let delay: TimeInterval = cutsInRow <= 4 ? 0 : min(30, pow(2, Double(cutsInRow - 5)))
                guard cancellableSleep(delay, isCancelled: isCancelled) else { throw GitError.cancelled }
                continue
            } catch {
                session = nil
                tally.end(counter, objects: 0)
                if isCancelled() { throw GitError.cancelled }
                throw error
            }
            let oids = Set(batch.compactMap { targets[$0] })
            let missing = try repo.missingObjects(oids)
            guard missing.isEmpty else {
                throw GitError.upstream(url: Redactor.redact(mirror.upstream), message: "a ref moved upstream while fetching in steps",
                                        hint: "the completed steps are kept; the next sync continues from them")
            }
            stepNumber += 1
            // The mirror keeps the step's objects alive under its hidden refs; the stage records the step for
            // the negotiations to come.
            let fetched = oids.sorted()
            for oid in fetched { try repo.writeHiddenRef(FetchSteps.hiddenRef(step: stepNumber, oid: oid), oid: oid) }
            try stage.record(step: stepNumber, oids: fetched)
            // A kill from now on loses at most the next step: it is not the same failure again.
            if let jobId { try? catalog.jobMadeProgress(jobId) }
            tally.steps += 1
            cutsInRow = 0
            sizer.completed(refs: batch.count, bytes: carried)
            remaining = remaining.dropFirst(count)
            // Refs a step brought along (a branch holding later tags) need no step of their own.
            if !remaining.isEmpty {
                let stillMissing = Set(try repo.missingObjects(Set(remaining.compactMap { targets[$0] })))
                remaining = remaining.filter { targets[$0].map(stillMissing.contains) ?? false }
            }
        }
        tally.currentStep = nil
        tally.stepsTotal = stepNumber
    }

    /// Remembers that `host`'s link cut a transfer after `bytes`: its next fetches go in steps from the start.
    private func recordCut(host: String, bytes: Int64) {
        try? catalog.recordLinkCut(host: host, bytes: bytes)
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

/// What one sync's transfers carried, kept whether or not the sync completes.
final class FetchTally: @unchecked Sendable {
    /// Bytes received while downloading (cut attempts included; the ref listings not).
    var bytes: Int64 = 0
    var objects = 0
    /// Steps completed in this run, and the steps of the whole stepwise fetch (earlier runs' included).
    var steps = 0
    var stepsTotal = 0
    /// Downloads tried: a fetch in one piece is one, each step's try another.
    var attempts = 0
    var currentStep: (number: Int, of: Int)?
    fileprivate var counterAtStart: Int64 = 0

    func begin(_ counter: ByteCounter) {
        counterAtStart = counter.total
        attempts += 1
    }

    /// Ends a download; returns the bytes the link carried for it.
    @discardableResult
    func end(_ counter: ByteCounter, objects: Int) -> Int64 {
        let carried = counter.total - counterAtStart
        bytes += carried
        counterAtStart = counter.total
        self.objects += objects
        return carried
    }
}

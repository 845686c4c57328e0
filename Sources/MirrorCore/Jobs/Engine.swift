import Foundation
import Logging

/// What the engine tells observers (metrics) when a job ends.
public struct JobFinished: Sendable {
    public var job: Job
    public var mirror: Mirror
    public var state: JobState
    public var duration: TimeInterval
    public var bytes: Int64
}

/// Claims queued jobs and runs them with per-kind limits; one live engine per catalog, held by a lease.
///
/// The engine's loop runs on a thread of its own, and each job on another; nothing blocks Swift's
/// cooperative pool. Runs inside `mirrordeck daemon`, or embedded in a CLI or dashboard process.
public final class Engine: @unchecked Sendable {
    public let id: String
    public let kind: EngineLease.Kind
    public let home: Home
    public let catalog: Catalog
    public let config: EngineConfig
    let logger: Logger
    private let gate: HostGate
    private let lock = NSCondition()
    private var running: [Int64: RunningJob] = [:]
    private var stopping = false
    private var loopDone = false
    private var lastHeartbeat = Date.distantPast
    private var lastSchedule = Date.distantPast
    private var observers: [@Sendable (JobFinished) -> Void] = []
    private var onlyJobs: Set<Int64>?
    private var lfsRunner: (@Sendable (Job, Mirror, JobContext) -> JobResult)?
    private var verifyRunner: (@Sendable (Job, Mirror, JobContext) -> JobResult)?
    private var maintainRunner: (@Sendable (Job, Mirror, JobContext) -> JobResult)?
    private var lastMaintenanceCheck = Date.distantPast

    final class RunningJob: @unchecked Sendable {
        let job: Job
        private let flag = NSLock()
        private var _cancelled = false
        private var _shutdown = false
        init(job: Job) { self.job = job }
        var cancelled: Bool { flag.lock(); defer { flag.unlock() }; return _cancelled }
        var shutdown: Bool { flag.lock(); defer { flag.unlock() }; return _shutdown }
        func cancel(shutdown: Bool = false) {
            flag.lock()
            _cancelled = true
            if shutdown { _shutdown = true }
            flag.unlock()
        }
    }

    /// `id` names the engine in its lease and jobs; nil makes a fresh one. A process that starts an engine
    /// elsewhere (the dashboard's child) passes the id it chose, to know the engine as its own.
    public init(home: Home, catalog: Catalog, config: EngineConfig, kind: EngineLease.Kind, id: String? = nil, logger: Logger? = nil) {
        self.home = home
        self.catalog = catalog
        self.config = config
        self.kind = kind
        self.id = id ?? Self.makeId()
        self.logger = logger ?? Logger(label: "mirrordeck.engine")
        self.gate = HostGate(limit: config.perHostFetches, downloads: config.maxSyncs)
        TransferBudget.shared.configure(global: config.maxRate, hosts: config.hostRates)
    }

    /// A fresh engine id: host, pid and a random part.
    public static func makeId(pid: Int32 = getpid()) -> String {
        "\(EngineLease.hostName):\(pid):\(UUID().uuidString.prefix(8).lowercased())"
    }

    /// Calls `observer` on the engine's threads whenever a job ends.
    public func observe(_ observer: @escaping @Sendable (JobFinished) -> Void) {
        lock.lock()
        observers.append(observer)
        lock.unlock()
    }

    /// Installs what runs `lfs` jobs.
    public func setLFSRunner(_ runner: @escaping @Sendable (Job, Mirror, JobContext) -> JobResult) {
        lock.lock()
        lfsRunner = runner
        lock.unlock()
    }

    /// Installs what runs `verify` jobs (checksum audits).
    public func setVerifyRunner(_ runner: @escaping @Sendable (Job, Mirror, JobContext) -> JobResult) {
        lock.lock()
        verifyRunner = runner
        lock.unlock()
    }

    /// Installs what runs `maintain` jobs (git repack, commit-graph).
    public func setMaintainRunner(_ runner: @escaping @Sendable (Job, Mirror, JobContext) -> JobResult) {
        lock.lock()
        maintainRunner = runner
        lock.unlock()
    }

    /// Restricts this engine to the given jobs (added to any given before); nil lets it run every job.
    public func restrict(to ids: Set<Int64>?) {
        lock.lock()
        if let ids { onlyJobs = (onlyJobs ?? []).union(ids) } else { onlyJobs = nil }
        lock.broadcast()
        lock.unlock()
    }

    /// Takes the lease and starts the loop; returns false (and starts nothing) when another engine is alive.
    public func start() throws -> Bool {
        guard try catalog.acquireLease(owner: id, kind: kind, timeout: config.leaseTimeout) else { return false }
        let recovered = try catalog.recoverOrphans(engineId: id)
        if recovered > 0 { logger.info("re-queued \(recovered) job(s) whose engine had stopped") }
        logger.info("engine \(id) started (\(kind.rawValue)); limits: \(config.syncJobs) syncs checking, \(config.maxSyncs) downloading, \(config.perHostFetches) fetches per host")
        let thread = Thread { [self] in loop() }
        thread.name = "mirrordeck-engine"
        thread.start()
        return true
    }

    /// Stops claiming work. Running jobs are interrupted and put back in the queue (they resume on the next
    /// start), the lease is released, and this returns once every job thread has finished.
    public func stop() {
        lock.lock()
        stopping = true
        for job in running.values { job.cancel(shutdown: true) }
        lock.broadcast()
        while !loopDone || !running.isEmpty { lock.wait() }
        lock.unlock()
        try? catalog.releaseLease(owner: id)
        logger.info("engine \(id) stopped")
    }

    /// Ids of jobs running in this engine now.
    public var runningJobIds: Set<Int64> {
        lock.lock()
        defer { lock.unlock() }
        return Set(running.keys)
    }

    /// Wakes the loop early (after an enqueue in this process).
    public func poke() {
        lock.lock()
        lock.broadcast()
        lock.unlock()
    }

    private func loop() {
        while true {
            lock.lock()
            if stopping {
                loopDone = true
                lock.broadcast()
                lock.unlock()
                return
            }
            lock.unlock()
            tick()
            lock.lock()
            if !stopping { _ = lock.wait(until: Date().addingTimeInterval(config.tickInterval)) }
            lock.unlock()
        }
    }

    private func tick() {
        let now = Date()
        do {
            if now.timeIntervalSince(lastHeartbeat) >= config.heartbeatInterval {
                lastHeartbeat = now
                if try !catalog.heartbeatLease(owner: id) {
                    logger.error("engine lease was taken by another engine; stopping")
                    lock.lock()
                    stopping = true
                    for job in running.values { job.cancel(shutdown: true) }
                    lock.unlock()
                    return
                }
                try catalog.heartbeatJobs(engineId: id)
            }
            let cancels = try catalog.cancelRequests(engineId: id)
            if !cancels.isEmpty {
                lock.lock()
                for jobId in cancels { running[jobId]?.cancel() }
                lock.unlock()
            }
            if config.runsScheduler, now.timeIntervalSince(lastSchedule) >= 0.25 {
                lastSchedule = now
                let due = try catalog.enqueueDue(now: now, budgets: config.hostBudgets)
                if !due.isEmpty { logger.debug("scheduled \(due.count) sync(s)") }
            }
            if config.runsScheduler, now.timeIntervalSince(lastMaintenanceCheck) >= 30 {
                lastMaintenanceCheck = now
                let due = try MaintenanceJob.enqueueDue(catalog: catalog, config: config.maintenance, now: now)
                if !due.isEmpty { logger.info("scheduled maintenance of \(due.count) mirror(s)") }
            }
            try claimAndStart()
        } catch {
            logger.error("engine tick failed: \(error)")
        }
    }

    private func claimAndStart() throws {
        lock.lock()
        var free = config.slots
        for job in running.values { free[job.job.kind, default: 0] -= 1 }
        let only = onlyJobs
        lock.unlock()
        let claimed = try catalog.claim(engineId: id, freeSlots: free, only: only)
        for job in claimed {
            let entry = RunningJob(job: job)
            lock.lock()
            running[job.id!] = entry
            lock.unlock()
            let thread = Thread { [self] in execute(entry) }
            thread.name = "mirrordeck-job-\(job.id!)"
            thread.stackSize = 4 << 20
            thread.start()
        }
    }

    private func execute(_ entry: RunningJob) {
        let job = entry.job
        let started = Date()
        var result = JobResult(state: .failed, error: "job did not run")
        var mirror: Mirror?
        var context: JobContext?
        do {
            guard let m = try catalog.read({ db in try Mirror.fetchOne(db, key: job.mirrorId) }) else {
                throw CatalogError.unknownMirror("#\(job.mirrorId)")
            }
            mirror = m
            let jobContext = JobContext(catalog: catalog, jobId: job.id!, entry: entry)
            if job.kind == .sync || job.kind == .lfs {
                // Written with the job's first progress, so `jobs` and the dashboard show what holds it back.
                jobContext.transferLimits = JobTransferLimits(cap: TransferCap.effective(for: m, config: config),
                                                              stallTimeout: Int(config.stallTimeout))
            }
            context = jobContext
            switch job.kind {
            case .sync: result = runSync(job, m, jobContext)
            case .lfs:
                lock.lock()
                let runner = lfsRunner
                lock.unlock()
                result = runner?(job, m, jobContext) ?? JobResult(state: .failed, error: "this engine cannot run LFS jobs")
            case .verify:
                lock.lock()
                let runner = verifyRunner
                lock.unlock()
                result = runner?(job, m, jobContext) ?? JobResult(state: .failed, error: "this engine cannot run verify jobs")
            case .maintain:
                lock.lock()
                let runner = maintainRunner
                lock.unlock()
                result = runner?(job, m, jobContext) ?? JobResult(state: .failed, error: "this engine cannot run maintain jobs")
            }
        } catch {
            result = JobResult(state: .failed, error: "\(error)")
        }
        let requeue = entry.shutdown
        let lastProgress = context?.takePending()
        if let mirror { chargeBudget(job, mirror, result) }
        if !requeue, let limit = result.rateLimit {
            // Not an end: the job waits in the queue for the host's reset, and the scheduler's checks too.
            do {
                try catalog.requeueRateLimited(jobId: job.id!, mirrorId: job.mirrorId, limit: limit)
                logger.notice("\(job.kind.rawValue) job #\(job.id!) waits: \(limit.description)")
                lock.lock()
                running[job.id!] = nil
                lock.broadcast()
                lock.unlock()
                return
            } catch {
                // Not recorded: the job ends below as it stands, rather than staying "running" for good.
                logger.error("could not record the rate limit of job #\(job.id!): \(error)")
            }
        }
        do {
            // Follow-up work is queued before the job ends, so whoever waits for the job finds it.
            if !requeue, let mirror { try result.followUp?(mirror) }
            try catalog.finishJob(jobId: job.id!, state: result.state, error: result.error, message: result.message,
                                  progress: lastProgress, requeue: requeue)
        } catch {
            logger.error("could not record the end of job #\(job.id!): \(error)")
        }
        if !requeue, let mirror {
            logger.info("\(job.kind.rawValue) job #\(job.id!) for \(mirror.name): \(result.state.rawValue)\(result.error.map { ": \($0)" } ?? "")")
            let finished = JobFinished(job: job, mirror: mirror, state: result.state, duration: Date().timeIntervalSince(started), bytes: result.bytes)
            lock.lock()
            let observers = self.observers
            lock.unlock()
            for observer in observers { observer(finished) }
        }
        lock.lock()
        running[job.id!] = nil
        lock.broadcast()
        lock.unlock()
    }

    /// Takes what a job spent from its host's request budget (scheduled syncs paid for their check when queued).
    private func chargeBudget(_ job: Job, _ mirror: Mirror, _ result: JobResult) {
        guard !config.hostBudgets.isEmpty else { return }
        let host = job.kind == .lfs ? MirrorHosts.all(mirror).last ?? "" : MirrorHosts.upstream(mirror)
        guard let budget = config.hostBudgets[host] else { return }
        var requests = result.requests
        if job.kind == .sync, job.trigger == .schedule { requests -= HostBudget.scheduledCheckCost }
        guard requests != 0 else { return }
        do {
            try catalog.chargeHost(host, requests: requests, budget: budget)
        } catch {
            logger.error("could not count the requests of job #\(job.id!) against \(host)'s budget: \(error)")
        }
    }

    private var hasLFSRunner: Bool {
        lock.lock()
        defer { lock.unlock() }
        return lfsRunner != nil
    }

    private func runSync(_ job: Job, _ mirror: Mirror, _ context: JobContext) -> JobResult {
        var syncer = Syncer(home: home, catalog: catalog, hostGate: gate)
        syncer.policy = config.policy
        syncer.transferLimits.stallTimeout = config.stallTimeout
        syncer.forceSteps = config.forceSteps
        let actor = Actor(description: job.actor)
        let report = syncer.sync(mirror, trigger: job.trigger, actor: actor, jobId: job.id,
                                 progress: { p in
                                     let t = p.transfer
                                     context.report(JobProgress(phase: p.label, unitsDone: Int64(t.receivedObjects),
                                                                unitsTotal: Int64(t.totalObjects), bytesDone: t.receivedBytes))
                                 },
                                 isCancelled: { context.isCancelled })
        let state: JobState = report.succeeded ? .succeeded : (report.result == .cancelled ? .cancelled : .failed)
        var result = JobResult(state: state, error: report.succeeded ? nil : report.error,
                               message: report.run.map { "\($0.result.rawValue): \($0.objectsReceived) objects, \(ByteFormat.format($0.bytesReceived))" },
                               bytes: report.run?.bytesReceived ?? 0)
        result.requests = HostBudget.estimatedRequests(sync: report.result)
        if report.result == .rateLimited {
            // The run recorded the host's limit; the job waits for that reset.
            let host = MirrorHosts.upstream(mirror)
            result.rateLimit = (try? catalog.hostLimits())?.first { $0.host == host }
                ?? HostRateLimit.parse(status: 429, headers: [:], host: host)
        }
        if report.result == .updated {
            // New packs: note whether the mirror now needs maintenance (queued inside the window).
            result.followUp = { [home, catalog, config] mirror in
                try? MaintenanceJob.afterSync(home: home, catalog: catalog, mirror: mirror, config: config.maintenance)
            }
        }
        if report.succeeded, mirror.lfs != .off, hasLFSRunner {
            let maintenanceCheck = result.followUp
            let updated = report.result == .updated
            result.followUp = { [home, catalog] mirror in
                // A sync that moved refs scans the new commits for LFS pointers; a mirror with any object not
                // yet present (new, or left missing by an earlier fetch) gets an LFS job.
                try maintenanceCheck?(mirror)
                if updated { _ = try? LFSSync(home: home, catalog: catalog).discover(mirror: mirror, actor: actor) }
                // Under a retention policy, moved refs can bring objects in the trash back into it: the
                // LFS job's fetch restores them.
                if try catalog.hasLFSObjectsToFetch(mirrorId: mirror.id!) || (updated && mirror.lfsKeep != .all) {
                    _ = try catalog.enqueue([mirror], kind: .lfs, trigger: job.trigger, actor: actor)
                }
            }
        }
        return result
    }
}

/// How a job ended, and what to do after its row is closed.
public struct JobResult: Sendable {
    public var state: JobState
    public var error: String?
    public var message: String?
    public var bytes: Int64 = 0
    public var followUp: (@Sendable (Mirror) throws -> Void)?
    /// The job met a rate-limited host: it goes back to the queue and waits for the reset.
    public var rateLimit: HostRateLimit?
    /// Requests the job made to its upstream host (counted against the host's request budget).
    public var requests = 0

    public init(state: JobState, error: String? = nil, message: String? = nil, bytes: Int64 = 0) {
        self.state = state
        self.error = error
        self.message = message
        self.bytes = bytes
    }
}

/// What a running job may touch: its progress row (throttled to ≤ 4 writes a second) and its cancel flag.
///
/// The claim wrote the row moments before the job starts, so the first progress write waits a full
/// interval too: a job shorter than that (an up-to-date sync) writes no progress at all. Whatever was held
/// back at the end is written with the job's end, in the same transaction.
public final class JobContext: @unchecked Sendable {
    public static let minimumReportInterval: TimeInterval = 0.25
    let catalog: Catalog
    public let jobId: Int64
    private let entry: Engine.RunningJob
    private let lock = NSLock()
    private var lastWrite = Date()
    private var pending: JobProgress?
    private var rateSample: (Date, Int64)?
    private var rate: Double = 0
    /// The cap and stall timeout the job runs under, written with its first progress (then nil).
    var transferLimits: JobTransferLimits?

    init(catalog: Catalog, jobId: Int64, entry: Engine.RunningJob) {
        self.catalog = catalog
        self.jobId = jobId
        self.entry = entry
    }

    /// Whether the job should stop now (cancel requested, or the engine is shutting down).
    public var isCancelled: Bool { entry.cancelled }

    /// Records progress; written at most every 0.25 s, with the rate computed over that window.
    public func report(_ progress: JobProgress) {
        lock.lock()
        let now = Date()
        var p = progress
        if let (t0, b0) = rateSample {
            let dt = now.timeIntervalSince(t0)
            if dt >= Self.minimumReportInterval {
                rate = max(0, Double(p.bytesDone - b0) / dt)
                rateSample = (now, p.bytesDone)
            }
        } else {
            rateSample = (now, p.bytesDone)
        }
        if p.rate == 0 { p.rate = rate }
        pending = p
        guard now.timeIntervalSince(lastWrite) >= Self.minimumReportInterval else {
            lock.unlock()
            return
        }
        lastWrite = now
        pending = nil
        let limits = transferLimits
        transferLimits = nil
        lock.unlock()
        try? catalog.reportProgress(jobId: jobId, p, limits: limits)
    }

    /// The progress held back by throttling, which is then no longer pending.
    func takePending() -> JobProgress? {
        lock.lock()
        defer { lock.unlock() }
        let p = pending
        pending = nil
        return p
    }

    /// Writes the last progress held back by throttling now (the engine also writes it with the job's end).
    public func flush() {
        lock.lock()
        let p = pending
        pending = nil
        lock.unlock()
        if let p { try? catalog.reportProgress(jobId: jobId, p) }
    }
}

extension Actor {
    /// Rebuilds an actor from its description (`user` or `user@source`).
    init(description: String) {
        if let at = description.lastIndex(of: "@") {
            self.init(user: String(description[..<at]), source: String(description[description.index(after: at)...]))
        } else {
            self.init(user: description, source: "local")
        }
    }
}

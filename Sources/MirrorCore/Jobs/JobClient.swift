import Foundation
import Logging

/// Enqueues work and follows it to the end: through the daemon when one is alive, otherwise by running
/// an embedded engine for as long as the work needs one.
public final class JobClient: @unchecked Sendable {
    public let home: Home
    public let catalog: Catalog
    public var config: EngineConfig
    private var engine: Engine?
    /// Called on an embedded engine before it starts (to install runners and observers).
    public var configureEngine: ((Engine) -> Void)?
    private let lock = NSLock()
    private var cancelRequested = false
    /// Signalled by an embedded engine when a job ends, so following notices at once instead of at the next poll.
    private let ended = NSCondition()
    private var endedSinceWait = false

    public init(home: Home, catalog: Catalog, config: EngineConfig) {
        self.home = home
        self.catalog = catalog
        var config = config
        config.runsScheduler = false
        self.config = config
    }

    /// Which engine runs the work: "daemon", "embedded" (this process), or "another process".
    public var engineDescription: String {
        if engine != nil { return "embedded" }
        if let lease = try? catalog.liveEngine(timeout: config.leaseTimeout) {
            return lease.kind == .daemon ? "daemon (pid \(lease.pid))" : "another process (pid \(lease.pid))"
        }
        return "none"
    }

    /// Stops the embedded engine, if this client started one.
    public func finish() {
        engine?.stop()
        engine = nil
    }

    deinit { finish() }

    /// Asks for the followed jobs to be cancelled (e.g. on Ctrl-C); `follow` then returns once they end.
    public func cancelAll() {
        lock.lock()
        cancelRequested = true
        lock.unlock()
    }

    /// Waits until every job in `ids` has finished, starting an embedded engine whenever none is alive
    /// (it runs only the jobs this client follows). `onUpdate` gets the jobs' rows about 10 times a second.
    /// Returns the finished jobs. Call `finish()` when done following.
    public func follow(_ ids: [Int64], onUpdate: ([Job]) -> Void = { _ in }) throws -> [Job] {
        engine?.restrict(to: Set(ids))
        var cancelled = false
        // Finished rows never change again: only the others are read on each poll, so following 200
        // jobs that end one by one reads each row a few times, not 200 times.
        var finished: [Int64: Job] = [:]
        while true {
            let pollStarted = Date()
            let fresh = try catalog.jobs(ids: ids.filter { finished[$0] == nil })
            var current: [Int64: Job] = [:]
            for job in fresh {
                if job.state.isFinished { finished[job.id!] = job } else { current[job.id!] = job }
            }
            let jobs = ids.compactMap { finished[$0] ?? current[$0] }
            onUpdate(jobs)
            if finished.count == ids.count { return jobs }
            lock.lock()
            let wantCancel = cancelRequested && !cancelled
            lock.unlock()
            if wantCancel {
                cancelled = true
                for job in jobs where !job.state.isFinished {
                    _ = try? catalog.requestCancel(jobId: job.id!, actor: .local)
                }
            }
            if engine == nil, try catalog.liveEngine(timeout: config.leaseTimeout) == nil {
                // A CLI prints its own results; the engine speaks up only for problems.
                var logger = Logger(label: "mirrordeck.engine")
                logger.logLevel = .warning
                let candidate = Engine(home: home, catalog: catalog, config: config, kind: .embedded, logger: logger)
                candidate.restrict(to: Set(ids))
                candidate.observe { [weak self] _ in self?.jobEnded() }
                configureEngine?(candidate)
                if try candidate.start() { engine = candidate }
            }
            ended.lock()
            if !endedSinceWait { _ = ended.wait(until: pollStarted.addingTimeInterval(0.1)) }
            endedSinceWait = false
            ended.unlock()
            // Jobs that end in a burst are read together: at most one poll every 20 ms.
            let spacing = 0.02 - Date().timeIntervalSince(pollStarted)
            if spacing > 0 { usleep(useconds_t(spacing * 1_000_000)) }
        }
    }

    private func jobEnded() {
        ended.lock()
        endedSinceWait = true
        ended.broadcast()
        ended.unlock()
    }
}

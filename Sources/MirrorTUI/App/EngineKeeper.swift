import Foundation
import MirrorCore

/// Keeps an embedded engine running while no other engine (daemon or another dashboard) is alive:
/// checks every 2 s from a thread of its own, starts one when the lease is free, and stops it on quit
/// (its running jobs go back to the queue and resume on the next start).
public final class EngineKeeper: @unchecked Sendable {
    private let home: Home
    private let catalog: Catalog
    private let config: EngineConfig
    private let setup: @Sendable (Engine) -> Void
    private let lock = NSCondition()
    private var engine: Engine?
    private var stopped = false
    private var loopDone = false
    /// How often the embedded engine looks for work when nothing pokes it.
    public static let idleTickInterval: TimeInterval = 2
    /// Checks for a free lease this often while another engine holds it…
    public var checkInterval: TimeInterval = 2
    /// …and whether ours still holds it this often.
    public var ownCheckInterval: TimeInterval = 5

    public init(home: Home, catalog: Catalog, config: EngineConfig, setup: @escaping @Sendable (Engine) -> Void) {
        self.home = home
        self.catalog = catalog
        var config = config
        config.runsScheduler = true
        // An idle dashboard should cost nothing: the engine looks for work once a second on its own, and
        // at once when poked (after this dashboard queues work, or when the catalog changes).
        config.tickInterval = max(config.tickInterval, Self.idleTickInterval)
        self.config = config
        self.setup = setup
    }

    /// The id of the engine this process runs, if any.
    public var engineId: String? {
        lock.lock()
        defer { lock.unlock() }
        return engine?.id
    }

    /// Ids of jobs running in this process's engine.
    public var runningJobIds: Set<Int64> {
        lock.lock()
        let e = engine
        lock.unlock()
        return e?.runningJobIds ?? []
    }

    /// Wakes the engine after an enqueue, so work starts at once.
    public func poke() {
        lock.lock()
        let e = engine
        lock.unlock()
        e?.poke()
    }

    public func start() {
        let t = Thread { [self] in run() }
        t.name = "mirrordeck-engine-keeper"
        t.start()
    }

    /// Stops the embedded engine (if any) and waits for its jobs to be re-queued.
    public func stop() {
        lock.lock()
        stopped = true
        lock.broadcast()
        while !loopDone { lock.wait() }
        let e = engine
        engine = nil
        lock.unlock()
        e?.stop()
    }

    private func run() {
        while true {
            lock.lock()
            if stopped {
                loopDone = true
                lock.broadcast()
                lock.unlock()
                return
            }
            let current = engine
            lock.unlock()
            do {
                let live = try catalog.liveEngine(timeout: config.leaseTimeout)
                if let current, live?.owner != current.id {
                    // Our engine lost its lease (or died): let it wind down and look again.
                    current.stop()
                    lock.lock()
                    engine = nil
                    lock.unlock()
                } else if current == nil, live == nil {
                    let candidate = Engine(home: home, catalog: catalog, config: config, kind: .embedded)
                    setup(candidate)
                    if try candidate.start() {
                        lock.lock()
                        if stopped {
                            lock.unlock()
                            candidate.stop()
                        } else {
                            engine = candidate
                            lock.unlock()
                        }
                    }
                }
            } catch {
                // The catalog was busy or unreadable: try again next round.
            }
            lock.lock()
            if !stopped { _ = lock.wait(until: Date().addingTimeInterval(engine == nil ? checkInterval : ownCheckInterval)) }
            lock.unlock()
        }
    }
}

import Foundation
import MirrorCore

/// Keeps the dashboard's engine running in a child process while no other engine (daemon or another
/// dashboard) is alive: checks every 2 s from a thread of its own, spawns the child when the lease is free,
/// spawns another if it dies, and stops it on quit (its running jobs go back to the queue and resume on the
/// next start).
///
/// The child is `mirrordeck engine --scheduler --parent-pid …`: libgit2 indexing, curl transfers and audit
/// buffers live in its memory, not the dashboard's, and a crash or a stall there cannot take the screen with
/// it. It dies with the dashboard: the kernel sends it SIGTERM when the thread that spawned it ends (this
/// keeper's thread, which lives as long as the dashboard runs the engine), and it also checks its parent.
public final class EngineKeeper: @unchecked Sendable {
    private struct Child {
        let pid: pid_t
        let engineId: String
    }

    private let catalog: Catalog
    private let config: EngineConfig
    private let arguments: @Sendable (String) -> [String]
    private let lock = NSCondition()
    private var child: Child?
    private var stopped = false
    private var loopDone = false
    /// How often the engine looks for work when nothing pokes it.
    public static let idleTickInterval: TimeInterval = 2
    /// Checks for a free lease (or a dead child) this often.
    public var checkInterval: TimeInterval = 2
    /// How long a stopping child may take to put its jobs back in the queue before it is killed.
    public var stopTimeout: TimeInterval = 10

    /// `arguments` gives the child's command line (executable first) for an engine id.
    public init(catalog: Catalog, config: EngineConfig, arguments: @escaping @Sendable (_ engineId: String) -> [String]) {
        self.catalog = catalog
        self.config = config
        self.arguments = arguments
    }

    /// The id of the engine this dashboard's child runs (or is starting), if any.
    public var engineId: String? {
        lock.lock()
        defer { lock.unlock() }
        return child?.engineId
    }

    /// Ids of jobs running in this dashboard's engine (as the catalog says).
    public var runningJobIds: Set<Int64> {
        guard let id = engineId else { return [] }
        return (try? catalog.runningJobIds(engineId: id)) ?? []
    }

    /// Wakes the engine after an enqueue, so work starts at once (SIGUSR1 to the child).
    public func poke() {
        lock.lock()
        // Under the lock: the loop reaps the child under it too, so the pid cannot be a reused one.
        if let pid = child?.pid { kill(pid, SIGUSR1) }
        lock.unlock()
    }

    public func start() {
        let t = Thread { [self] in run() }
        t.name = "mirrordeck-engine-keeper"
        t.start()
    }

    /// Stops the engine child (if any) and waits for its jobs to be re-queued: SIGTERM, then up to
    /// `stopTimeout` for it to exit, then SIGKILL, with its jobs put back in the queue from here.
    public func stop() {
        lock.lock()
        stopped = true
        lock.broadcast()
        while !loopDone { lock.wait() }
        let c = child
        child = nil
        lock.unlock()
        guard let c else { return }
        kill(c.pid, SIGTERM)
        let deadline = Date().addingTimeInterval(stopTimeout)
        var status: Int32 = 0
        while waitpid(c.pid, &status, WNOHANG) == 0 {
            if Date() > deadline {
                kill(c.pid, SIGKILL)
                _ = waitpid(c.pid, &status, 0)
                break
            }
            usleep(20_000)
        }
        recover(c)
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
            // A child that exited (crashed, lost its lease, or found another engine alive) is reaped here.
            var gone: Child?
            if let c = child {
                var status: Int32 = 0
                let r = waitpid(c.pid, &status, WNOHANG)
                if r == c.pid || (r < 0 && errno == ECHILD) {
                    gone = c
                    child = nil
                }
            }
            let hasChild = child != nil
            lock.unlock()
            if let gone { recover(gone) }
            do {
                if !hasChild, try catalog.liveEngine(timeout: config.leaseTimeout) == nil { spawn() }
            } catch {
                // The catalog was busy or unreadable: try again next round.
            }
            lock.lock()
            if !stopped { _ = lock.wait(until: Date().addingTimeInterval(checkInterval)) }
            lock.unlock()
        }
    }

    /// A child that is gone may have left jobs marked running (killed, crashed): they go back to the queue
    /// now, and its lease is given up, instead of waiting for the next engine to notice.
    private func recover(_ c: Child) {
        _ = try? catalog.recoverJobs(ofDeadEngine: c.engineId)
        try? catalog.releaseLease(owner: c.engineId)
    }

    private func spawn() {
        // The pid in the id is the dashboard's, which chose it; the lease records the child's.
        let id = Engine.makeId()
        let words = arguments(id)
        guard let executable = words.first else { return }
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        // Its own process group: Ctrl-C or Ctrl-\ at the terminal reaches the dashboard, not the engine, which
        // stops when the dashboard says so. Its stop and wake signals start blocked (the engine takes them
        // with sigtimedwait), so a poke that comes before it is ready waits instead of killing it.
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK))
        posix_spawnattr_setpgroup(&attr, 0)
        var mask = sigset_t()
        sigemptyset(&mask)
        for sig in [SIGTERM, SIGINT, SIGHUP, SIGUSR1] { sigaddset(&mask, sig) }
        posix_spawnattr_setsigmask(&attr, &mask)
        // Nothing may write to the dashboard's terminal.
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd: Int32 in [0, 1, 2] { posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0) }
        let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, executable, &actions, &attr, argv, environ) == 0 else { return }
        lock.lock()
        child = Child(pid: pid, engineId: id)
        lock.unlock()
    }
}

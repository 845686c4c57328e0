import ArgumentParser
import Foundation
import Logging
import MirrorCore
import MirrorTUI

/// `mirrordeck engine`: an engine without HTTP. Started detached for SSH sessions (no scheduler, exits once
/// the queue is empty), and as the dashboard's child (`--scheduler --parent-pid`: runs while the dashboard
/// lives, so libgit2, curl and audit buffers never weigh on, stall or crash the screen).
struct EngineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "Run queued jobs until the queue is empty, then exit (no HTTP).",
        shouldDisplay: false)

    @OptionGroup var global: GlobalOptions
    @Option(name: .customLong("parent-pid"), help: "Stop when this process (the dashboard) is gone.") var parentPid: Int32?
    @Flag(help: "Run the scheduler too, and keep running while the queue is empty (until stopped or the parent is gone).") var scheduler = false
    @Option(name: .customLong("engine-id"), help: "The engine's id in the lease (the dashboard's, to know it as its own).") var engineId: String?
    @Option(name: .customLong("log-file"), help: "Append the engine's log to this file.") var logFile: String?

    func validate() throws {
        if scheduler && parentPid == nil { throw ValidationError("--scheduler needs --parent-pid: a daemon is 'mirrordeck daemon'") }
    }

    func run() throws {
        // Before any thread starts, so every thread inherits the mask and only `waitForSignal` sees them.
        EngineSignals.block()
        if let parentPid {
            // The parent's death sends SIGTERM; if it died before this line, getppid() already says so.
            ParentDeath.signal(SIGTERM)
            guard getppid() == parentPid else { return }
        }
        if let logFile, let handle = FileLogHandler.open(logFile) {
            LoggingSystem.bootstrap { label in FileLogHandler(label: label, handle: handle) }
        }
        let (home, catalog) = try global.open()
        var config = try EngineConfig.load(home: home)
        config.runsScheduler = scheduler
        if scheduler {
            // An idle dashboard should cost nothing: the engine looks for work every 2 s on its own, and at
            // once when poked (SIGUSR1, after the dashboard queues work or sees the catalog change).
            config.tickInterval = max(config.tickInterval, EngineKeeper.idleTickInterval)
        }
        let engine = Engine(home: home, catalog: catalog, config: config, kind: .embedded, id: engineId)
        EngineSetup.install(on: engine)
        guard try engine.start() else { return }
        defer { engine.stop() }
        var idleSince: Date?
        var leaseChecked = Date()
        while true {
            switch EngineSignals.wait(timeout: scheduler ? 1 : 0.2) {
            case .poke: engine.poke(); continue
            case .stop: return
            case nil: break
            }
            if let parentPid, getppid() != parentPid { return }
            if Date().timeIntervalSince(leaseChecked) >= 5 {
                leaseChecked = Date()
                // Lost the lease (stalled past its timeout, another engine took over): the engine has stopped
                // claiming work; wind down so whoever started this can look again.
                if let live = try? catalog.liveEngine(timeout: config.leaseTimeout), live.owner != engine.id { return }
            }
            guard !scheduler else { continue }
            let pending = try catalog.jobs().count
            if pending == 0 {
                if let since = idleSince, Date().timeIntervalSince(since) > 1 { return }
                idleSince = idleSince ?? Date()
            } else {
                idleSince = nil
            }
        }
    }

    /// The command line of the dashboard's engine child.
    static func childArguments(home: Home, engineId: String, logFile: String?) -> [String] {
        [Executable.path, "engine", "--home", home.root, "--scheduler", "--parent-pid", "\(getpid())", "--engine-id", engineId]
            + (logFile.map { ["--log-file", $0] } ?? [])
    }
}

/// The signals an engine process acts on: SIGTERM, SIGINT and SIGHUP stop it (running jobs go back to the
/// queue), SIGUSR1 wakes it (work was queued). Blocked in every thread and taken by one loop, so no handler
/// runs at an unsafe moment.
enum EngineSignals {
    enum Received { case stop, poke }

    static let stopping: [Int32] = [SIGTERM, SIGINT, SIGHUP]

    static var set: sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for sig in stopping + [SIGUSR1] { sigaddset(&set, sig) }
        return set
    }

    static func block() {
        var s = set
        pthread_sigmask(SIG_BLOCK, &s, nil)
    }

    /// Waits up to `timeout` seconds for one of the signals.
    static func wait(timeout: TimeInterval) -> Received? {
        var s = set
        var ts = timespec(tv_sec: Int(timeout), tv_nsec: Int((timeout - timeout.rounded(.down)) * 1e9))
        let sig = sigtimedwait(&s, nil, &ts)
        if sig == SIGUSR1 { return .poke }
        if stopping.contains(sig) { return .stop }
        return nil
    }
}

/// `prctl(PR_SET_PDEATHSIG)`: Swift cannot call the variadic prctl, so it is called through its address.
enum ParentDeath {
    static func signal(_ sig: Int32) {
        typealias Prctl = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32
        guard let symbol = dlsym(nil, "prctl") else { return }  // nil: RTLD_DEFAULT
        let prctl = unsafeBitCast(symbol, to: Prctl.self)
        let PR_SET_PDEATHSIG: Int32 = 1
        _ = prctl(PR_SET_PDEATHSIG, UInt(sig), 0, 0, 0)
    }
}

/// Starts an engine in its own session when none is alive, so work queued over SSH outlives the connection.
enum DetachedEngine {
    static func ensure(home: Home, catalog: Catalog) throws {
        guard try catalog.liveEngine() == nil else { return }
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        // POSIX_SPAWN_SETSID (glibc, hidden behind _GNU_SOURCE): a new session, so SIGHUP of the SSH session misses it.
        let setsid: Int16 = 0x80
        posix_spawnattr_setflags(&attr, setsid)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd: Int32 in [0, 1, 2] { posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0) }
        let words: [String] = [Executable.path, "engine", "--home", home.root]
        let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, Executable.path, &actions, &attr, argv, environ)
        guard rc == 0 else { throw CLIError(description: "cannot start an engine: \(String(cString: strerror(rc)))", code: Exit.syncFailed) }
    }
}

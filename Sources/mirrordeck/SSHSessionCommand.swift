import ArgumentParser
import Foundation
import Logging
import MirrorCore
import MirrorTUI

/// What sshd runs for every granted key (the forced command). The client cannot choose its identity:
/// the user comes from the authorized_keys line, the address from SSH_CONNECTION.
struct SSHSessionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ssh-session",
        abstract: "The forced command sshd runs for granted keys (see docs/ssh-admin.md).",
        shouldDisplay: false)

    @OptionGroup var global: GlobalOptions
    @Option(help: "The granted user this key acts as.") var user: String

    func run() throws {
        try Grant.validateUser(user)
        let (home, catalog) = try global.open()
        let env = ProcessInfo.processInfo.environment
        let source = Self.sourceAddress(env["SSH_CONNECTION"])
        let actor = Actor(user: user, source: source)
        guard let role = try catalog.role(of: user) else {
            try? catalog.record(Event(actor: actor, action: "ssh-refused", mirror: nil, message: "no grant for this user"))
            throw CLIError(description: "access denied: \(user) has no grant on this host")
        }
        Session.adopt(Session.Identity(actor: actor, trigger: .ssh, role: role))

        guard let original = env["SSH_ORIGINAL_COMMAND"] else {
            if TTY.stdin && TTY.stdout {
                try SessionDashboard.open(home: home, catalog: catalog, role: role, actor: actor)
                return
            }
            throw CLIError(description: "no command given: run 'ssh HOST help' for the commands, or 'ssh -t HOST' for the dashboard")
        }
        let command: SSHCommand
        do {
            command = try SSHCommand(original)
            try role.check(command.permission)
        } catch let error as AccessError {
            try? catalog.record(Event(actor: actor, action: "ssh-refused", mirror: nil,
                                      message: "\(error.description): \(Redactor.quote(String(original.prefix(200))))"))
            throw CLIError(description: error.description)
        }
        switch command.action {
        case .help:
            print(SSHCommand.helpText)
        case .whoami:
            print("\(user) (\(role.rawValue)) from \(source)")
        case let .cli(args):
            if command.permission != .view {
                try catalog.record(Event(actor: actor, action: "ssh", mirror: nil, message: command.words.joined(separator: " ")))
            }
            var parsed = try MirrorDeck.parseAsRoot(args + ["--home", home.root])
            try parsed.run()
            if args.contains("--no-wait") { try DetachedEngine.ensure(home: home, catalog: catalog) }
        }
    }

    /// The client's address: the first field of SSH_CONNECTION, if it looks like one.
    static func sourceAddress(_ connection: String?) -> String {
        guard let first = connection?.split(separator: " ").first,
              first.count <= 45, first.allSatisfy({ $0.isHexDigit || $0 == "." || $0 == ":" }) else { return "unknown" }
        return String(first)
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

/// `mirrordeck engine`: an engine without HTTP that exits once the queue is empty (started detached for
/// SSH sessions when no daemon runs).
struct EngineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "Run queued jobs until the queue is empty, then exit (no scheduler, no HTTP).",
        shouldDisplay: false)

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let (home, catalog) = try global.open()
        var config = try EngineConfig.load(home: home)
        config.runsScheduler = false
        let engine = Engine(home: home, catalog: catalog, config: config, kind: .embedded)
        EngineSetup.install(on: engine)
        guard try engine.start() else { return }
        defer { engine.stop() }
        var idleSince: Date?
        while true {
            usleep(200_000)
            let pending = try catalog.jobs().count
            if pending == 0 {
                if let since = idleSince, Date().timeIntervalSince(since) > 1 { return }
                idleSince = idleSince ?? Date()
            } else {
                idleSince = nil
            }
        }
    }
}

/// The dashboard for an interactive SSH session: the session's role decides every action (checked where
/// the action happens, not by hiding keys), the header says who you are, and work runs in the daemon or in
/// a detached engine, so it outlives the connection.
enum SessionDashboard {
    static func open(home: Home, catalog: Catalog, role: Role, actor: Actor) throws {
        // Nothing may write to the terminal behind ncurses' back.
        LoggingSystem.bootstrap { _ in SwiftLogNoOpLogHandler() }
        var options = DashboardOptions(home: home, catalog: catalog)
        options.actor = actor
        options.trigger = .ssh
        options.policy = RolePolicy(role: role)
        options.identity = "\(actor.user) (\(role.rawValue)) from \(actor.source)"
        options.engine = .detached(ensure: { try? DetachedEngine.ensure(home: home, catalog: catalog) })
        do {
            if let farewell = try Dashboard.run(options) { print(farewell) }
        } catch let error as TerminalError {
            throw CLIError(description: error.description)
        }
    }
}

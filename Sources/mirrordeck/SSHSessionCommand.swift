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
            if let git = try GitSSHCommand.parse(original) {
                try SSHGit.run(git, home: home, catalog: catalog, actor: actor, role: role)
                return
            }
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

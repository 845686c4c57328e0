import ArgumentParser
import Foundation
import MirrorCore

struct AccessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "access",
        abstract: "Manage who may reach MirrorDeck over SSH, and with which role.",
        discussion: "Grants live in the catalog and are written to the service account's authorized_keys as forced-command lines inside a managed block. See docs/ssh-admin.md.",
        subcommands: [Grant.self, List.self, Revoke.self])

    /// Options shared by the subcommands that rewrite authorized_keys.
    struct KeysFile: ParsableArguments {
        @Option(name: .customLong("authorized-keys"), help: "The service account's authorized_keys (default: MIRRORDECK_AUTHORIZED_KEYS, else ~/.ssh/authorized_keys).")
        var path: String?

        var resolved: String {
            if let path { return (path as NSString).expandingTildeInPath }
            if let env = ProcessInfo.processInfo.environment["MIRRORDECK_AUTHORIZED_KEYS"], !env.isEmpty { return env }
            return NSHomeDirectory() + "/.ssh/authorized_keys"
        }

        func rewrite(home: Home, catalog: Catalog) throws {
            try AuthorizedKeys.write(path: resolved, grants: catalog.grants(), binary: Executable.path, home: home.root)
        }
    }

    struct Grant: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Grant a public key to USER with a role (viewer, operator or admin).")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var keys: KeysFile
        @Argument(help: "User name the key acts as.") var user: String
        @Option(help: "viewer, operator or admin.") var role: String
        @Option(help: "Public key file, or - for standard input.") var key: String

        func run() throws {
            try SSHSessionGuard.refuseInsideSession()
            try MirrorCore.Grant.validateUser(user)
            let role = try Role.parse(self.role)
            let text: String
            if key == "-" {
                text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            } else {
                guard let data = FileManager.default.contents(atPath: key) else { throw CLIError(description: "cannot read key file \(key)") }
                text = String(decoding: data, as: UTF8.self)
            }
            let publicKey = try PublicKey(line: text)
            let (home, catalog) = try global.open()
            try catalog.grant(user: user, role: role, key: publicKey, actor: .acting)
            try keys.rewrite(home: home, catalog: catalog)
            print("granted \(role.rawValue) to \(user) (\(publicKey.fingerprint)); \(keys.resolved) updated")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List grants.")
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let (_, catalog) = try global.open()
            let grants = try catalog.grants()
            if json {
                print(JSONShapes.encode(grants.map { g in
                    ["user": g.user, "role": g.role.rawValue, "fingerprint": g.fingerprint, "key_type": g.keyType,
                     "comment": g.comment, "created_at": TimeFormat.iso(g.createdAt) as Any, "created_by": g.createdBy] as [String: Any]
                }))
                return
            }
            guard !grants.isEmpty else { print("no grants: add one with 'mirrordeck access grant USER --role viewer --key FILE'"); return }
            var rows = [["USER", "ROLE", "FINGERPRINT", "TYPE", "COMMENT", "GRANTED BY"]]
            for g in grants { rows.append([g.user, g.role.rawValue, g.fingerprint, g.keyType, g.comment, g.createdBy]) }
            print(Table.render(rows))
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a user (all their keys) or one key by its SHA256: fingerprint.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var keys: KeysFile
        @Argument(help: "USER or SHA256:fingerprint.") var target: String

        func run() throws {
            try SSHSessionGuard.refuseInsideSession()
            if !target.hasPrefix("SHA256:") { try MirrorCore.Grant.validateUser(target) }
            let (home, catalog) = try global.open()
            let removed = try catalog.revoke(target, actor: .acting)
            try keys.rewrite(home: home, catalog: catalog)
            print("revoked \(removed.count) key(s) of \(Set(removed.map(\.user)).sorted().joined(separator: ", ")); \(keys.resolved) updated")
        }
    }
}

/// Grants are changed on the host only: a session's own keys must not be able to grant more keys.
enum SSHSessionGuard {
    static func refuseInsideSession() throws {
        if Session.current != nil { throw CLIError(description: "access changes are made on the mirror host, not over SSH") }
    }
}

/// This executable's absolute path (what authorized_keys lines run).
enum Executable {
    static var path: String {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        guard n > 0 else { return CommandLine.arguments[0] }
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

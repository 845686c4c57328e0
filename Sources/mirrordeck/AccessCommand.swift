import ArgumentParser
import Foundation
import MirrorCore

struct AccessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "access",
        abstract: "Manage who may reach MirrorDeck over SSH (with a role) and over HTTP (with a token).",
        discussion: "Grants live in the catalog and are written to the service account's authorized_keys as forced-command lines inside a managed block. See docs/ssh-admin.md.",
        subcommands: [Grant.self, List.self, Revoke.self, Token.self, Tokens.self, RevokeToken.self])

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

extension AccessCommand {
    struct Token: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Mint an HTTP token for USER (for 'serve --auth tokens' and private mirrors); it is shown once.",
            discussion: "Use it as the password of any user name (git asks for one), or as 'Authorization: Bearer TOKEN'. Only its hash is kept.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "User name the token acts as.") var user: String
        @Option(help: "Lifetime, e.g. 30d or 12h (default: no expiry).") var expires: String?

        func run() throws {
            try SSHSessionGuard.refuseInsideSession()
            try MirrorCore.Grant.validateUser(user)
            let until = try expires.map { Date().addingTimeInterval(TimeInterval(try Interval.parse($0))) }
            let (_, catalog) = try global.open()
            let (token, id) = try catalog.mintToken(user: user, expires: until, actor: .acting)
            print(token)
            FileHandle.standardError.write(Data("minted token #\(id) for \(user)\(until.map { " until " + (TimeFormat.iso($0) ?? "") } ?? " with no expiry"); it is not shown again\n".utf8))
        }
    }

    struct Tokens: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List HTTP tokens (never the tokens themselves).")
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let (_, catalog) = try global.open()
            let tokens = try catalog.accessTokens()
            let now = Date()
            if json {
                print(JSONShapes.encode(tokens.map { t in
                    ["id": t.id, "user": t.user, "created_at": TimeFormat.iso(t.createdAt) as Any, "created_by": t.createdBy,
                     "expires_at": TimeFormat.iso(t.expiresAt) as Any, "revoked_at": TimeFormat.iso(t.revokedAt) as Any,
                     "live": t.isLive(now: now)] as [String: Any]
                }))
                return
            }
            guard !tokens.isEmpty else { print("no HTTP tokens: mint one with 'mirrordeck access token USER'"); return }
            var rows = [["ID", "USER", "STATE", "EXPIRES", "CREATED", "BY"]]
            for t in tokens {
                let state = t.revokedAt != nil ? "revoked" : (t.isLive(now: now) ? "live" : "expired")
                rows.append(["#\(t.id)", t.user, state, TimeFormat.iso(t.expiresAt) ?? "never", TimeFormat.iso(t.createdAt) ?? "", t.createdBy])
            }
            print(Table.render(rows))
        }
    }

    struct RevokeToken: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "revoke-token", abstract: "Revoke one HTTP token (#ID) or every token of USER.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "#ID (as 'access tokens' lists it) or USER.") var target: String

        func run() throws {
            try SSHSessionGuard.refuseInsideSession()
            let (_, catalog) = try global.open()
            let count = try catalog.revokeTokens(target, actor: .acting)
            print("revoked \(count) HTTP token(s)")
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

import Foundation
import Crypto
import Testing
@testable import MirrorCore

@Suite("SSH access: roles, keys, the command grammar, authorized_keys")
struct AccessTests {
    @Test("roles include the ones below them")
    func roles() {
        #expect(Role.viewer.allows(.view) && !Role.viewer.allows(.sync))
        #expect(Role.operator.allows(.cancel) && !Role.operator.allows(.add))
        #expect(Permission.allCases.allSatisfy { Role.admin.allows($0) })
        #expect(throws: AccessError.denied(.remove, role: .operator)) { try Role.operator.check(.remove) }
    }

    @Test("commands map to CLI arguments; sync queues without waiting unless --wait")
    func grammar() throws {
        #expect(try SSHCommand("status --json").action == .cli(["list", "--json"]))
        #expect(try SSHCommand("sync a b").action == .cli(["sync", "a", "b", "--no-wait"]))
        #expect(try SSHCommand("sync a --wait").action == .cli(["sync", "a"]))
        #expect(try SSHCommand("events --since 1h").action == .cli(["events", "--since", "1h"]))
        #expect(try SSHCommand("add org/x https://h/x.git --interval 2h").permission == .add)
        #expect(try SSHCommand("whoami").action == .whoami)
        #expect(try SSHCommand("access list --json").action == .cli(["access", "list", "--json"]))
    }

    @Test("anything outside the grammar is refused", arguments: [
        "status; id", "$(id)", "`id`", "a\nb", "a\0b", "status > /tmp/x", "show 'x'", "show \"x\"", "frob", "status --nope",
        "show", "show a b", "access grant x", "events --since", "", String(repeating: "x", count: 1025),
    ])
    func refused(text: String) {
        #expect(throws: AccessError.self) { try SSHCommand(text) }
    }

    @Test("public keys are parsed and fingerprinted like ssh-keygen")
    func keys() throws {
        let key = try PublicKey(line: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHx5OvXGvO8Y0o1jHq0Yj1+Yk2uP3Bwz2Zq4n3S8m0bE ops@laptop\n")
        #expect(key.type == "ssh-ed25519" && key.comment == "ops@laptop")
        #expect(key.fingerprint.hasPrefix("SHA256:") && !key.fingerprint.hasSuffix("="))
        #expect(throws: AccessError.self) { try PublicKey(line: "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIHx5OvXGvO8Y0o1jHq0Yj1+Yk2uP3Bwz2Zq4n3S8m0bE") }
        #expect(throws: AccessError.self) { try PublicKey(line: "command=\"x\" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHx5OvXGvO8Y0o1jHq0Yj1+Yk2uP3Bwz2Zq4n3S8m0bE") }
    }

    @Test("the managed block is replaced in place and other lines are kept")
    func authorizedKeysRender() throws {
        let key = try PublicKey(line: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHx5OvXGvO8Y0o1jHq0Yj1+Yk2uP3Bwz2Zq4n3S8m0bE a")
        let grant = Grant(fingerprint: key.fingerprint, user: "alice", role: .viewer, keyType: key.type, keyBase64: key.base64,
                          comment: key.comment, createdAt: Date(), createdBy: "root")
        let existing = "first\n\(AuthorizedKeys.begin)\nold line\n\(AuthorizedKeys.end)\nlast\n"
        let out = AuthorizedKeys.render(existing: existing, grants: [grant], binary: "/usr/bin/mirrordeck", home: "/srv/md")
        #expect(out == "first\n\(AuthorizedKeys.begin)\nrestrict,pty,command=\"/usr/bin/mirrordeck ssh-session --home /srv/md --user alice\" \(key.line)\n\(AuthorizedKeys.end)\nlast\n")
        #expect(AuthorizedKeys.render(existing: out, grants: [], binary: "/b", home: "/h") == "first\n\(AuthorizedKeys.begin)\n\(AuthorizedKeys.end)\nlast\n")
    }
}

@Suite("credentials for the client-facing server, and git over SSH")
struct ServeCredentialTests {
    @Test("a signed token names its user and mirror, expires, and fails when any byte changes")
    func signed() throws {
        let key = SymmetricKey(size: .bits256)
        let now = Date()
        let token = ServeToken.sign(user: "alice", mirror: "org/model", expires: now.addingTimeInterval(60), key: key)
        #expect(ServeToken.verify(token, key: key, now: now)! == ("alice", "org/model"))
        #expect(ServeToken.verify(token, key: key, now: now.addingTimeInterval(61)) == nil)
        #expect(ServeToken.verify(token, key: SymmetricKey(size: .bits256), now: now) == nil)
        var bytes = Array(token.utf8)
        bytes[bytes.count / 2] = bytes[bytes.count / 2] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect(ServeToken.verify(String(decoding: bytes, as: UTF8.self), key: key, now: now) == nil)
        #expect(ServeToken.verify("mds1.garbage", key: key, now: now) == nil)
    }

    @Test("access tokens have one shape; their hash is what the catalog keeps")
    func accessTokens() {
        let t = ServeToken.mint()
        #expect(ServeToken.looksLikeAccessToken(t))
        #expect(!ServeToken.looksLikeAccessToken(t + "x"))
        #expect(!ServeToken.looksLikeAccessToken("mdt_' OR 1=1 --"))
        #expect(ServeToken.hash(t).count == 64 && ServeToken.hash(t) != ServeToken.hash(ServeToken.mint()))
    }

    @Test("git's SSH commands: quoted paths, leading slash, .git optional; anything else refused")
    func gitCommands() throws {
        #expect(try GitSSHCommand.parse("git-upload-pack '/org/model.git'") == .uploadPack(mirror: "org/model"))
        #expect(try GitSSHCommand.parse("git-upload-pack 'lib.git'") == .uploadPack(mirror: "lib"))
        #expect(try GitSSHCommand.parse("git upload-pack lib") == .uploadPack(mirror: "lib"))
        #expect(try GitSSHCommand.parse("git-receive-pack '/lib.git'") == .receivePack(mirror: "lib"))
        #expect(try GitSSHCommand.parse("git-lfs-authenticate 'org/model.git' download") == .lfsAuthenticate(mirror: "org/model", operation: "download"))
        #expect(try GitSSHCommand.parse("status") == nil)
        for bad in ["git-upload-pack '../../etc.git'", "git-upload-pack '/a/b/c.git'", "git-upload-pack 'lib.git", "git-upload-pack",
                    "git-upload-pack 'lib.git' extra", "git-lfs-authenticate 'lib.git' delete", "git-upload-pack '$(id).git'"] {
            #expect(throws: AccessError.self, "\(bad)") { try GitSSHCommand.parse(bad) }
        }
    }
}

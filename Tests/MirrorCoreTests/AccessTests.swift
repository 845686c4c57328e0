import Foundation
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

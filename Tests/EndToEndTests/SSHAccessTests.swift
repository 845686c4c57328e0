import Foundation
import Testing

@Suite("remote admin over real OpenSSH: grants, roles, the command grammar, audit")
struct SSHAccessTests {
    struct World {
        let env: TestEnv
        let sshd: SSHD
        let gitd: GitDaemon
        let viewer: String
        let op: String
        let admin: String
    }

    func world(_ label: String) throws -> World {
        let env = try TestEnv(label)
        let sshd = try SSHD.start(env: env)
        let gitd = try GitDaemon.start(env: env, root: env.path("served"))
        _ = try Upstream(env: env, servedRoot: gitd.root, name: "lib")
        try env.md("add", "lib", gitd.url("lib"), "--interval", "1d")
        var keys: [String] = []
        for (user, role) in [("alice", "viewer"), ("bob", "operator"), ("carol", "admin")] {
            let key = try sshd.makeKey(user)
            let r = try env.md("access", "grant", user, "--role", role, "--key", key + ".pub", "--authorized-keys", sshd.authorizedKeys)
            #expect(r.status == 0, "\(r)")
            keys.append(key)
        }
        return World(env: env, sshd: sshd, gitd: gitd, viewer: keys[0], op: keys[1], admin: keys[2])
    }

    @Test("grants are written to a managed block; lines outside it survive; bad and reused keys are refused")
    func grantListRevoke() throws {
        let env = try TestEnv("grants")
        let sshd = try SSHD.start(env: env)
        let outside = "# my own line\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHx5OvXGvO8Y0o1jHq0Yj1+Yk2uP3Bwz2Zq4n3S8m0bE ops@laptop\n"
        try outside.write(toFile: sshd.authorizedKeys, atomically: true, encoding: .utf8)
        let key = try sshd.makeKey("dave")
        let grant = try env.md("access", "grant", "dave", "--role", "operator", "--key", key + ".pub", "--authorized-keys", sshd.authorizedKeys)
        #expect(grant.status == 0, "\(grant)")
        let text = try String(contentsOfFile: sshd.authorizedKeys, encoding: .utf8)
        #expect(text.hasPrefix(outside))
        let pub = try String(contentsOfFile: key + ".pub", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(text.contains("\nrestrict,pty,command=\"/"), "an absolute path to mirrordeck")
        #expect(text.contains("ssh-session --home \(env.home) --user dave\" \(pub)"))
        let mode = try FileManager.default.attributesOfItem(atPath: sshd.authorizedKeys)[.posixPermissions] as? Int
        #expect(mode == 0o600)

        let list = try env.json(env.md("access", "list", "--json")) as! [[String: Any]]
        #expect(list.count == 1 && list[0]["user"] as? String == "dave" && list[0]["role"] as? String == "operator")

        let taken = try env.md("access", "grant", "erin", "--role", "viewer", "--key", key + ".pub", "--authorized-keys", sshd.authorizedKeys)
        #expect(taken.status == 2 && taken.stderr.contains("already granted to \"dave\""))
        for bad in ["not a key", "ssh-ed25519 !!!notbase64", "ssh-dss AAAAB3NzaC1kc3MAAACBAP", "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIHx5OvXGvO8Y0o1jHq0Yj1+Yk2uP3Bwz2Zq4n3S8m0bE"] {
            let r = try env.md("access", "grant", "erin", "--role", "viewer", "--key", "-", "--authorized-keys", sshd.authorizedKeys, stdin: bad)
            #expect(r.status == 2, "\(bad): \(r)")
            #expect(r.stderr.contains("not a usable SSH public key"))
        }
        let badRole = try env.md("access", "grant", "erin", "--role", "root", "--key", key + ".pub", "--authorized-keys", sshd.authorizedKeys)
        #expect(badRole.status == 2 && badRole.stderr.contains("use viewer, operator or admin"))
        let badUser = try env.md("access", "grant", "Erin;x", "--role", "viewer", "--key", key + ".pub", "--authorized-keys", sshd.authorizedKeys)
        #expect(badUser.status == 2 && badUser.stderr.contains("invalid user name"))

        #expect(try env.md("access", "revoke", "dave", "--authorized-keys", sshd.authorizedKeys).status == 0)
        let after = try String(contentsOfFile: sshd.authorizedKeys, encoding: .utf8)
        #expect(after.hasPrefix(outside))
        #expect(!after.contains("dave"))
    }

    @Test("each role runs what it may and is refused what it may not, with the role it needs")
    func roles() throws {
        let w = try world("roles")
        let viewStatus = try w.sshd.run(key: w.viewer, "status --json")
        #expect(viewStatus.status == 0, "\(viewStatus)")
        #expect((try JSONSerialization.jsonObject(with: Data(viewStatus.stdout.utf8)) as? [[String: Any]])?.first?["name"] as? String == "lib")
        #expect(try w.sshd.run(key: w.viewer, "whoami").stdout == "alice (viewer) from 127.0.0.1\n")

        let denied = try w.sshd.run(key: w.viewer, "sync lib")
        #expect(denied.status == 2)
        #expect(denied.stderr.contains("permission denied: 'sync' needs the operator role (you are viewer)"))

        let sync = try w.sshd.run(key: w.op, "sync lib --wait")
        #expect(sync.status == 0, "\(sync)")
        let events = try w.env.sql("SELECT actor, source FROM event WHERE action = 'sync' ORDER BY id DESC LIMIT 1")
        #expect(events == [["bob", "127.0.0.1"]])
        #expect(try w.env.sql("SELECT trigger, actor FROM job ORDER BY id DESC LIMIT 1") == [["ssh", "bob@127.0.0.1"]])

        let opAdd = try w.sshd.run(key: w.op, "add other \(w.gitd.url("lib"))")
        #expect(opAdd.status == 2 && opAdd.stderr.contains("needs the admin role (you are operator)"))
        let adminAdd = try w.sshd.run(key: w.admin, "add other \(w.gitd.url("lib")) --interval 1h")
        #expect(adminAdd.status == 0, "\(adminAdd)")
        #expect(try w.env.sql("SELECT actor, source FROM event WHERE action = 'add' AND mirror = 'other'") == [["carol", "127.0.0.1"]])
        let opEdit = try w.sshd.run(key: w.op, "edit other --interval 30m")
        #expect(opEdit.status == 2 && opEdit.stderr.contains("'edit' needs the admin role (you are operator)"), "\(opEdit)")
        let adminEdit = try w.sshd.run(key: w.admin, "edit other --interval 30m --no-prune")
        #expect(adminEdit.status == 0, "\(adminEdit)")
        #expect(try w.env.sql("SELECT interval_seconds, prune FROM mirror WHERE name = 'other'") == [["1800", "0"]])
        #expect(try w.env.sql("SELECT actor, message FROM event WHERE action = 'edit'") == [["carol", "changed interval 30m, prune false"]])
        let grantsOverSSH = try w.sshd.run(key: w.admin, "access list --json")
        #expect(grantsOverSSH.status == 0)
        #expect(try w.sshd.run(key: w.viewer, "access list").status == 2)
        #expect(try w.sshd.run(key: w.admin, "show nosuch").status == 2)
    }

    @Test("injection attempts and malformed commands are refused with one line, logged, and change nothing")
    func injection() throws {
        let w = try world("inject")
        let before = try w.env.md("export").stdout
        let attempts = ["status; rm -rf /", "$(id)", "`id`", "status\nid", "status | cat", "show lib && id", "show 'lib'",
                        "frobnicate", "status --exec=id", String(repeating: "a", count: 100_000), "", "show ../../etc/passwd --json"]
        for attempt in attempts {
            let r = try w.sshd.run(key: w.admin, attempt)
            #expect(r.status == 2, "\(attempt.prefix(40)): \(r)")
            #expect(r.stderr.split(separator: "\n").count == 1, "\(attempt.prefix(40)): \(r.stderr)")
            #expect(r.stdout.isEmpty)
        }
        #expect(try w.env.md("export").stdout == before)
        let refused = try w.env.sql("SELECT count(*) FROM event WHERE action = 'ssh-refused' AND actor = 'carol'")
        // The grammar refuses and logs 10; the empty command (no SSH_ORIGINAL_COMMAND, no terminal) and the
        // path-escaping name (refused by the CLI's name check) are refused without an ssh-refused event.
        #expect(refused == [["10"]])
    }

    @Test("a revoked or downgraded user loses rights on the next connection")
    func revokeAndDowngrade() throws {
        let w = try world("revoke")
        #expect(try w.sshd.run(key: w.op, "sync lib --wait").status == 0)
        let grant = try w.env.md("access", "grant", "bob", "--role", "viewer", "--key", w.op + ".pub", "--authorized-keys", w.sshd.authorizedKeys)
        #expect(grant.status == 0)
        let downgraded = try w.sshd.run(key: w.op, "sync lib")
        #expect(downgraded.status == 2 && downgraded.stderr.contains("you are viewer"))
        #expect(try w.env.md("access", "revoke", "bob", "--authorized-keys", w.sshd.authorizedKeys).status == 0)
        let revoked = try w.sshd.run(key: w.op, "status")
        #expect(revoked.status == 255, "the key is gone from authorized_keys: \(revoked)")
    }

    @Test("work started over SSH keeps running after the connection ends")
    func jobsOutliveSessions() throws {
        let w = try world("outlive")
        let r = try w.sshd.run(key: w.op, "sync lib")
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("queued job #"))
        try eventually(timeout: 20, "the detached engine finished the job") {
            try w.env.sql("SELECT state FROM job ORDER BY id DESC LIMIT 1") == [["succeeded"]]
        }
        #expect(try w.env.sql("SELECT trigger FROM sync_run ORDER BY id DESC LIMIT 1") == [["ssh"]])
    }

    @Test("ssh -tt lands in the dashboard with the role enforced; the operator's sync is seen live elsewhere and outlives the connection")
    func interactiveDashboard() throws {
        let env = try TestEnv("ssh-dash")
        let sshd = try SSHD.start(env: env)
        let server = try HTTPGitServer.start(env: env, root: env.path("served"), slowRate: "512k")
        let upstream = try Upstream(env: env, servedRoot: server.root, name: "big")
        try env.md("add", "big", server.url("big", path: "slow"), "--interval", "1d")
        #expect(try env.md("sync", "big").status == 0)
        var keys: [String: String] = [:]
        for (user, role) in [("alice", "viewer"), ("bob", "operator")] {
            keys[user] = try sshd.makeKey(user)
            let r = try env.md("access", "grant", user, "--role", role, "--key", keys[user]! + ".pub", "--authorized-keys", sshd.authorizedKeys)
            #expect(r.status == 0, "\(r)")
        }
        func session(_ user: String) throws -> Tmux {
            try Tmux(["/usr/bin/ssh"] + sshd.sshArgs(key: keys[user]!, tty: true), width: 140, height: 32)
        }

        // The viewer lands in the dashboard, sees who they are, and `s` is refused with the role it needs.
        let viewer = try session("alice")
        try viewer.waitFor("the viewer's dashboard", timeout: 20) { $0.contains("alice (viewer) from 127.0.0.1") && $0.contains(" big ") }
        let jobsBefore = try env.sql("SELECT count(*) FROM job")
        try viewer.send("s")
        try viewer.waitFor("sync needs the operator role (you are viewer)")
        #expect(try env.sql("SELECT count(*) FROM job") == jobsBefore, "nothing was queued")

        // Something to fetch, slowly (5 MB at 512 KB/s), so the connection can drop mid-sync.
        FileManager.default.createFile(atPath: upstream.work + "/blob.bin", contents: Data((0..<(5 << 20)).map { _ in UInt8.random(in: 0...255) }))
        try Shell.git(["add", "blob.bin"], cwd: upstream.work)
        try Shell.git(["commit", "-q", "-m", "blob"], cwd: upstream.work)
        try upstream.push(["main"])

        // The operator's `s` queues a sync that a detached engine runs; the event names bob and his address.
        var op: Tmux? = try session("bob")
        try op!.waitFor("the operator's dashboard", timeout: 20) { $0.contains("bob (operator) from 127.0.0.1") && $0.contains(" big ") }
        try op!.send("s")
        try op!.waitFor("queued sync of big")
        #expect(try env.sql("SELECT actor, source FROM event WHERE action = 'enqueue' ORDER BY id DESC LIMIT 1") == [["bob", "127.0.0.1"]])
        #expect(try env.sql("SELECT trigger, actor FROM job ORDER BY id DESC LIMIT 1") == [["ssh", "bob@127.0.0.1"]])
        // The viewer's open session shows the event as it happens.
        try viewer.waitFor("bob's event in the viewer's session") { screen in
            screen.split(separator: "\n").contains { $0.contains("bob@127.0.0.1") && $0.contains("queued sync job") }
        }

        // Drop the operator's connection while the fetch runs: the sync goes on and finishes.
        var last: [[String]] = []
        do {
            try eventually(timeout: 20, "the sync is fetching") {
                last = try env.sql("SELECT state, bytes_done, engine_id FROM job ORDER BY id DESC LIMIT 1")
                return last.first?[0] == "running" && Int(last.first?[1] ?? "") ?? 0 > 0
            }
        } catch {
            Issue.record("the sync never fetched: job \(last); runs \(try env.sql("SELECT trigger, result, bytes_received, duration_ms, error FROM sync_run"))")
            throw error
        }
        op = nil  // kills its tmux server: ssh gets SIGHUP, sshd closes the session
        try eventually(timeout: 40, "the sync finishes without the connection") { try env.sql("SELECT state FROM job ORDER BY id DESC LIMIT 1") == [["succeeded"]] }
        #expect(try Upstream.refs(of: env.mirrorPath("big")) == (try Upstream.refs(of: upstream.bare)))

        // A new session shows it done; so does the viewer's, which stayed open.
        let again = try session("bob")
        try again.waitFor("the new session shows big synced", timeout: 20) { again.line(containing: " big ", in: $0).contains(" ok ") }
        try viewer.waitFor("the viewer sees it done") { viewer.line(containing: " big ", in: $0).contains(" ok ") }
        try again.send("q")
        try eventually(timeout: 10, "the session ends on q") { again.exited }
    }
}

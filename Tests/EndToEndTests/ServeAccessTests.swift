import Foundation
import Testing

/// Who may read what from `mirrordeck serve`, over HTTP (tokens, private mirrors) and over SSH (real sshd),
/// resumed downloads, and the daemon running the server beside its engine.
@Suite("serving the mirrors: tokens, private mirrors, git over SSH, resume, metrics")
struct ServeAccessTests {
    let serveTests = ServeTests()

    @Test("--auth tokens: anonymous clients get 401; a minted token works as bearer or basic; a revoked one stops working")
    func tokens() throws {
        let w = try serveTests.world("serve-tokens")
        let env = w.env
        let serve = try ServeProcess.start(env: env, ["--auth", "tokens"])
        let client = try GitClient(env: env)
        let anonymous = try client.run(["ls-remote", serve.url("model")])
        #expect(anonymous.status != 0)
        #expect(try HTTP.request(serve.url("model") + "/info/refs?service=git-upload-pack", env: env).status == 401)

        let minted = try env.md("access", "token", "alice", "--expires", "1d")
        #expect(minted.status == 0, "\(minted)")
        let token = minted.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(token.hasPrefix("mdt_"))
        #expect(try env.sql("SELECT COUNT(*) FROM access_token WHERE token_hash LIKE '%\(token.dropFirst(4).prefix(10))%'")[0][0] == "0",
                "only the hash is stored")
        try client.ok(["-c", "http.extraHeader=Authorization: Bearer \(token)", "clone", "-q", "--mirror", serve.url("model"), env.path("t1.git")])
        #expect(try refList(env.path("t1.git")) == refList(env.mirrorPath("model")))
        let basicURL = serve.url("model").replacingOccurrences(of: "http://", with: "http://alice:\(token)@")
        try client.ok(["clone", "-q", basicURL, env.path("t2")])
        #expect(FileManager.default.contents(atPath: env.path("t2") + "/b.bin") == w.files["b.bin"], "git lfs pull with basic credentials")
        try eventually(timeout: 10, "user in the access log") { try env.sql("SELECT COUNT(*) FROM access_log WHERE user = 'alice'")[0][0] != "0" }

        #expect(try env.md("access", "revoke-token", "alice").status == 0)
        let revoked = try client.run(["-c", "http.extraHeader=Authorization: Bearer \(token)", "ls-remote", serve.url("model")])
        #expect(revoked.status != 0)
        #expect(try HTTP.request(serve.url("model") + "/info/refs?service=git-upload-pack", headers: ["Authorization: Bearer \(token)"], env: env).status == 401)
        let listed = try env.md("access", "tokens")
        #expect(listed.stdout.contains("revoked") && !listed.stdout.contains(token))
    }

    @Test("a private mirror is invisible without a token and served with one")
    func privateMirror() throws {
        let w = try serveTests.world("serve-private")
        let env = w.env
        #expect(try env.md("edit", "model", "--private").status == 0)
        let serve = try ServeProcess.start(env: env)
        let client = try GitClient(env: env)
        #expect(try client.run(["ls-remote", serve.url("model")]).status != 0)
        #expect(try HTTP.request(serve.url("model") + "/info/refs?service=git-upload-pack", env: env).status == 404)
        let token = try env.md("access", "token", "bob").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let out = try client.ok(["-c", "http.extraHeader=Authorization: Bearer \(token)", "ls-remote", serve.url("model")])
        #expect(out.contains("refs/heads/main"))
    }

    @Test("a running server sees catalog changes made by other processes at once: privacy and LFS sets are not served from a stale cache")
    func catalogChangesReachARunningServer() throws {
        let w = try serveTests.world("serve-changes")
        let env = w.env
        let serve = try ServeProcess.start(env: env)
        let row = try env.sql("SELECT o.oid FROM lfs_object o JOIN mirror m ON m.id = o.mirror_id WHERE m.name = 'model' AND o.size = 70000")
        let objectURL = serve.url("model") + "/info/lfs/objects/" + row[0][0]
        // Asked twice, so the answers are in the server's cache before anything changes.
        for _ in 0..<2 {
            let reply = try HTTP.request(objectURL, env: env)
            #expect(reply.status == 200 && reply.body == w.files["b.bin"])
        }
        #expect(try env.md("edit", "model", "--private").status == 0)
        #expect(try HTTP.request(objectURL, env: env).status == 404, "a mirror made private is not served anonymously")
        #expect(try env.md("edit", "model", "--public").status == 0)
        #expect(try HTTP.request(objectURL, env: env).status == 200)
        // An object the mirror's LFS set no longer references is not served, though its file is still there.
        try env.sqlWrite("DELETE FROM lfs_object WHERE oid = '\(row[0][0])'")
        #expect(try HTTP.request(objectURL, env: env).status == 404)
        #expect(FileManager.default.fileExists(atPath: env.mirrorPath("model") + "/lfs/objects/\(row[0][0].prefix(2))/\(row[0][0].dropFirst(2).prefix(2))/\(row[0][0])"))
    }

    @Test("over real sshd: git clone ssh://, git lfs pull through git-lfs-authenticate, pushes refused for every role")
    func overSSH() throws {
        let w = try serveTests.world("serve-ssh")
        let env = w.env
        let sshd = try SSHD.start(env: env)
        let serve = try ServeProcess.start(env: env)
        let viewer = try sshd.makeKey("alice")
        let admin = try sshd.makeKey("carol")
        for (user, role, key) in [("alice", "viewer", viewer), ("carol", "admin", admin)] {
            #expect(try env.md("access", "grant", user, "--role", role, "--key", key + ".pub", "--authorized-keys", sshd.authorizedKeys).status == 0)
        }
        let client = try GitClient(env: env)
        func sshCommand(_ key: String) -> String {
            "ssh -i \(key) -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes -o BatchMode=yes -o LogLevel=ERROR"
        }
        let url = "ssh://\(NSUserName())@127.0.0.1:\(sshd.port)/model.git"
        let work = env.path("ssh-clone")
        try client.ok(["clone", "-q", url, work], extra: ["GIT_SSH_COMMAND": sshCommand(viewer)])
        for (path, data) in w.files {
            #expect(FileManager.default.contents(atPath: work + "/" + path) == data, "\(path) came through git-lfs-authenticate and HTTP")
        }
        let bare = env.path("ssh-mirror.git")
        try client.ok(["clone", "-q", "--mirror", url, bare], extra: ["GIT_SSH_COMMAND": sshCommand(viewer)])
        #expect(try refList(bare) == refList(env.mirrorPath("model")))

        let auth = try sshd.run(key: viewer, "git-lfs-authenticate 'model.git' download")
        #expect(auth.status == 0, "\(auth)")
        let reply = try JSONSerialization.jsonObject(with: Data(auth.stdout.utf8)) as? [String: Any]
        #expect(reply?["href"] as? String == serve.url("model") + "/info/lfs")
        #expect(try sshd.run(key: viewer, "git-lfs-authenticate 'model.git' upload").status != 0)

        // Pushes, for the admin too.
        try "change\n".write(toFile: work + "/README.md", atomically: true, encoding: .utf8)
        try client.ok(["commit", "-q", "-am", "try to push"], cwd: work)
        let before = try refList(env.mirrorPath("model"))
        for key in [viewer, admin] {
            let push = try client.run(["push", "origin", "HEAD:refs/heads/main"], cwd: work, extra: ["GIT_SSH_COMMAND": sshCommand(key)])
            #expect(push.status != 0 && push.stderr.contains("read-only mirror"), "\(push.stderr)")
        }
        #expect(try refList(env.mirrorPath("model")) == before)
        #expect(try env.sql("SELECT COUNT(*) FROM event WHERE action = 'ssh-refused' AND message LIKE 'read-only mirror: model cannot be pushed%'")[0][0] == "2")
        let logged = try env.sql("SELECT kind, user FROM access_log WHERE client = '127.0.0.1' AND kind IN ('clone', 'fetch') AND user = 'alice'")
        #expect(logged.count >= 2, "SSH clones are logged with their user: \(logged)")
        #expect(try sshd.run(key: viewer, "git-upload-pack '../../etc.git'").status != 0)
    }

    @Test("resume: git-lfs cut off mid-object retries with Range and gets only the rest; a SIGKILLed download resumes with Range")
    func resume() throws {
        let size = 200 << 20
        let w = try serveTests.world("serve-resume", big: size)
        let env = w.env
        // The client reaches the server through a link capped at 40 MB/s that cuts every connection after 50–80 MB.
        let servePort = Net.freePort()
        let proxyPort = Net.freePort()
        let proxy = try Shell.start("/usr/bin/env", ["python3", FarLinkProxy.script, "--listen", "127.0.0.1:\(proxyPort)",
                                                     "--target", "127.0.0.1:\(servePort)", "--rate", "\(40 << 20)",
                                                     "--cut-after", "50000000-80000000"])
        env.own(proxy)
        let process = try env.mdStart(["serve", "--listen", "127.0.0.1:\(servePort)", "--public-url", "http://127.0.0.1:\(proxyPort)"])
        env.own(process)
        try eventually(timeout: 20, "serve and proxy") { Net.isListening(servePort) && Net.isListening(proxyPort) }
        let client = try GitClient(env: env)
        let work = env.path("resume-clone")
        try client.ok(["clone", "-q", "http://127.0.0.1:\(servePort)/model.git", work], extra: ["GIT_LFS_SKIP_SMUDGE": "1"])
        try client.ok(["config", "lfs.url", "http://127.0.0.1:\(proxyPort)/model.git/info/lfs"], cwd: work)
        try client.ok(["lfs", "pull", "--include", "big.bin"], cwd: work)
        #expect(FileManager.default.contents(atPath: work + "/big.bin") == w.files["big.bin"])
        let oid = try LFSUpstream.sha256(file: w.up.work + "/big.bin")
        try eventually(timeout: 10, "the final request logged") {
            try !env.sql("SELECT 1 FROM access_log WHERE kind = 'lfs-object' AND status IN (200, 206) AND bytes > 0").isEmpty
        }
        let rows = try env.sql("SELECT status, bytes FROM access_log WHERE kind = 'lfs-object' AND bytes > 0 ORDER BY id")
        #expect(rows.count >= 3 && rows.first?[0] == "499", "cut more than once: \(rows)")
        #expect(rows.dropFirst().allSatisfy { $0[0] == "206" || $0[0] == "499" }, "every retry asked for the rest with Range: \(rows)")
        // What the server counts is what it handed to the kernel: a cut loses what was still in the socket
        // buffers and the proxy (a few MB), so each cut may add that much, never a restart from zero.
        let total = rows.reduce(0) { $0 + Int($1[1])! }
        #expect(total <= size + (rows.count - 1) * (16 << 20), "no attempt started over: \(total) bytes for \(rows.count) attempts")

        // Stock git-lfs (3.3) names a partial download <oid><random> and cannot pick it up after its process
        // is killed; a client that keeps its partial file (curl -C -) resumes with Range, served only the rest.
        let url = "http://127.0.0.1:\(servePort)/model.git/info/lfs/objects/\(oid)"
        let out = env.path("resumed.bin")
        let slowProxyPort = Net.freePort()
        let slow = try Shell.start("/usr/bin/env", ["python3", FarLinkProxy.script, "--listen", "127.0.0.1:\(slowProxyPort)",
                                                    "--target", "127.0.0.1:\(servePort)", "--rate", "\(40 << 20)"])
        env.own(slow)
        try eventually(timeout: 10, "slow proxy") { Net.isListening(slowProxyPort) }
        let first = try Shell.start("/usr/bin/curl", ["-s", "-o", out, url.replacingOccurrences(of: "\(servePort)", with: "\(slowProxyPort)")])
        try eventually(timeout: 60, "a third downloaded") {
            ((try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0) > size / 3 || !first.isRunning
        }
        #expect(first.isRunning, "still downloading when killed")
        first.kill(SIGKILL)
        _ = first.wait()
        let kept = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0
        let before = Int(try env.sql("SELECT COALESCE(MAX(id), 0) FROM access_log")[0][0])!
        let again = try Shell.run("/usr/bin/curl", ["-s", "-f", "-C", "-", "-o", out, url])
        #expect(again.status == 0, "\(again)")
        #expect(FileManager.default.contents(atPath: out) == w.files["big.bin"])
        // The killed download's own row (499) may be flushed after the resumed one starts: both arrive in
        // batches, so look for the resumed request by what it is, not by being last.
        let resumedRow = "SELECT status, bytes FROM access_log WHERE id > \(before) AND kind = 'lfs-object' AND status <> 499"
        try eventually(timeout: 10, "the resumed request logged") { try !env.sql(resumedRow).isEmpty }
        let resumed = try env.sql(resumedRow)
        #expect(resumed.count == 1 && resumed[0][0] == "206" && Int(resumed[0][1])! == size - kept,
                "served only the rest: \(resumed), \(kept) kept")
    }

    @Test("daemon --serve-listen runs the server beside the engine; /metrics counts requests, bytes and pull-throughs")
    func daemonMetrics() throws {
        let w = try serveTests.world("serve-daemon")
        let env = w.env
        let servePort = Net.freePort()
        let daemon = try DaemonProcess.start(env: env, extra: ["--serve-listen", "127.0.0.1:\(servePort)"])
        try eventually(timeout: 20, "serve listener") { Net.isListening(servePort) }
        let client = try GitClient(env: env)
        try client.ok(["clone", "-q", "http://127.0.0.1:\(servePort)/model.git", env.path("d-clone")])
        let metrics = try Curl.get(daemon.base + "/metrics").body
        #expect(metrics.contains("mirrordeck_serve_requests_total{mirror=\"model\",kind=\"clone\",status=\"200\"} 1"), "\(metrics)")
        #expect(metrics.contains("mirrordeck_serve_bytes_total{mirror=\"model\",kind=\"lfs-object\"}"))
        #expect(metrics.contains("mirrordeck_serve_active_downloads 0"))
        #expect(metrics.contains("mirrordeck_serve_pull_through_total"))
    }
}

import Foundation
import Testing

/// `mirrordeck serve` against stock git and git-lfs clients, with giftless (behind nginx) as the upstream.
@Suite("serving the mirrors: git clone, fetch and git lfs pull from the mirror host")
struct ServeTests {
    /// An upstream with LFS files on two branches and a tag, mirrored (git and LFS) into the env's home.
    struct World {
        let env: TestEnv
        let lfs: LFSServer
        let up: LFSUpstream
        var files: [String: Data] = [:]
    }

    func world(_ label: String, fetchLFS: Bool = true, big: Int? = nil) throws -> World {
        let env = try TestEnv(label)
        let lfs = try LFSServer.start(env: env)
        let up = try LFSUpstream(env: env, servedRoot: lfs.gitRoot, name: "model", lfsURL: lfs.endpoint("model"))
        var w = World(env: env, lfs: lfs, up: up)
        for (path, size) in [("weights/a.bin", 300_000), ("b.bin", 70_000)] + (big.map { [("big.bin", $0)] } ?? []) {
            let data = LFSUpstream.random(size)
            try up.add(path, data)
            w.files[path] = data
        }
        try up.addText("README.md", "model card\n")
        try up.commit("weights")
        try up.git(["tag", "-a", "v1", "-m", "release 1"], cwd: up.work)
        try up.git(["checkout", "-q", "-b", "dev"], cwd: up.work)
        try up.add("dev.bin", LFSUpstream.random(20_000))
        try up.commit("dev work")
        try up.git(["checkout", "-q", "main"], cwd: up.work)
        try up.push(["--all"])
        try up.push(["--tags"])
        try env.md("add", "model", lfs.url("model"))
        let sync = fetchLFS ? try env.md("sync", "model") : try env.md("sync", "model", "--no-lfs")
        #expect(sync.status == 0, "\(sync)")
        if !fetchLFS {
            #expect(LFSUpstream.objects(in: env.mirrorPath("model")).isEmpty, "the mirror holds no LFS object yet")
        }
        return w
    }

    func logRows(_ env: TestEnv, where clause: String = "1") throws -> [[String]] {
        try env.sql("SELECT kind, status, bytes, mirror, user FROM access_log WHERE \(clause) ORDER BY id")
    }

    @Test("clone and fetch over smart HTTP (protocol v0 and v2), then git lfs pull: refs equal the mirror's, files equal upstream's")
    func cloneFetchPull() throws {
        var w = try world("serve-clone")
        let env = w.env
        let serve = try ServeProcess.start(env: env)
        let client = try GitClient(env: env)

        // A mirror clone over protocol v0: every ref, as the mirror has them.
        let bare = env.path("client-mirror.git")
        try client.ok(["-c", "protocol.version=0", "clone", "-q", "--mirror", serve.url("model"), bare])
        #expect(try refList(bare) == refList(env.mirrorPath("model")))

        // A working clone over v2 with git-lfs: the smudge filter pulls every LFS file through the batch API.
        let work = env.path("client-work")
        try client.ok(["-c", "protocol.version=2", "clone", "-q", serve.url("model"), work])
        for (path, data) in w.files {
            #expect(FileManager.default.contents(atPath: work + "/" + path) == data, "\(path) has upstream's bytes")
        }
        // An explicit git lfs pull in a clone made without smudging.
        let lazy = env.path("client-lazy")
        try client.ok(["clone", "-q", serve.url("model"), lazy], extra: ["GIT_LFS_SKIP_SMUDGE": "1"])
        #expect(FileManager.default.contents(atPath: lazy + "/b.bin") != w.files["b.bin"], "a pointer before the pull")
        try client.ok(["lfs", "pull"], cwd: lazy)
        #expect(FileManager.default.contents(atPath: lazy + "/b.bin") == w.files["b.bin"])

        // A new upstream commit, synced, then fetched over v2 and v0.
        let c = LFSUpstream.random(40_000)
        try w.up.add("c.bin", c)
        w.files["c.bin"] = c
        try w.up.commit("more weights")
        try w.up.push(["main"])
        #expect(try env.md("sync", "model").status == 0)
        try client.ok(["-c", "protocol.version=2", "pull", "-q"], cwd: work)
        #expect(FileManager.default.contents(atPath: work + "/c.bin") == c)
        try client.ok(["-c", "protocol.version=0", "fetch", "-q", "--prune", "origin", "+refs/*:refs/*"], cwd: bare)
        #expect(try refList(bare) == refList(env.mirrorPath("model")))

        // Every request is in the access log, with the right kinds.
        // (The log is written in batches, about once a second: wait for the last requests' rows.)
        let wanted: Set<String> = ["refs", "clone", "fetch", "lfs-batch", "lfs-object"]
        try? eventually(timeout: 15, "access log rows of every kind") { try wanted.isSubset(of: Set(logRows(env).map { $0[0] })) }
        let rows = try logRows(env)
        let kinds = Set(rows.map { $0[0] })
        for kind in wanted.sorted() { #expect(kinds.contains(kind), "\(kind) in \(kinds)") }
        #expect(rows.allSatisfy { $0[3] == "model" && $0[1] == "200" })
        let objectBytes = rows.filter { $0[0] == "lfs-object" }.reduce(0) { $0 + Int($1[2])! }
        #expect(objectBytes >= w.files.values.reduce(0) { $0 + $1.count }, "object bytes are counted")
        #expect(serve.process.stderrSoFar.contains("\"GET /model.git/info/refs?service=git-upload-pack HTTP/1.1\" 200"), "combined-format lines on stderr")

        // show prints the clone command for this host.
        let show = try env.md("show", "model")
        #expect(show.stdout.contains("git clone \(serve.url("model"))"), "\(show.stdout)")
    }

    @Test("pushes over HTTP are refused with 403 and change nothing")
    func pushRefused() throws {
        let w = try world("serve-push")
        let env = w.env
        let serve = try ServeProcess.start(env: env)
        let client = try GitClient(env: env)
        let work = env.path("pusher")
        try client.ok(["clone", "-q", serve.url("model"), work], extra: ["GIT_LFS_SKIP_SMUDGE": "1"])
        try "change\n".write(toFile: work + "/README.md", atomically: true, encoding: .utf8)
        try client.ok(["commit", "-q", "-am", "try to push"], cwd: work)
        let before = try refList(env.mirrorPath("model"))
        let push = try client.run(["push", "origin", "HEAD:refs/heads/main"], cwd: work)
        #expect(push.status != 0)
        #expect(push.stderr.contains("403"), "\(push.stderr)")
        #expect(try refList(env.mirrorPath("model")) == before)
        let receive = try HTTP.request(serve.url("model") + "/git-receive-pack", method: "POST",
                                       headers: ["Content-Type: application/x-git-receive-pack-request"], body: Data("0000".utf8), env: env)
        #expect(receive.status == 403 && receive.text.contains("read-only mirror"))
        let upload = try HTTP.batch(serve.url("model"), objects: [(String(repeating: "a", count: 64), 1)], operation: "upload", env: env)
        #expect(upload.status == 403)
        let locks = try HTTP.request(serve.url("model") + "/info/lfs/locks/verify", method: "POST", headers: ["Content-Type: application/vnd.git-lfs+json"],
                                     body: Data("{}".utf8), env: env)
        #expect(locks.status == 404)
    }

    @Test("hostile and malformed requests are refused or bounded, logged, and never read outside a mirror")
    func badRequests() throws {
        let w = try world("serve-bad")
        let env = w.env
        try env.md("add", "secret/model", w.lfs.url("model"), "--private")
        #expect(try env.md("sync", "secret/model", "--no-lfs").status == 0)
        let canaryText = "CANARY-\(UUID().uuidString)"
        try canaryText.write(toFile: env.home + "/canary.txt", atomically: true, encoding: .utf8)
        try canaryText.write(toFile: env.mirrorPath("model") + "/canary.txt", atomically: true, encoding: .utf8)
        // A symlink planted in the store where a referenced object would be: never followed.
        let oid = try env.sql("SELECT oid FROM lfs_object o JOIN mirror m ON m.id = o.mirror_id WHERE m.name = 'model' LIMIT 1")[0][0]
        let objectPath = env.mirrorPath("model") + "/lfs/objects/" + oid.prefix(2) + "/" + oid.dropFirst(2).prefix(2) + "/" + oid
        try FileManager.default.removeItem(atPath: objectPath)
        try FileManager.default.createSymbolicLink(atPath: objectPath, withDestinationPath: env.home + "/canary.txt")
        let serve = try ServeProcess.start(env: env, ["--no-pull-through", "--header-timeout", "2"])

        var replies: [HTTPReply] = []
        for target in ["/../canary.txt", "/model.git/../../canary.txt", "/%2e%2e/canary.txt", "/model.git/%2e%2e/canary.txt",
                       "/model%2ecanary.txt", "//canary.txt", "/model.git/canary.txt", "/model.git/info/lfs/objects/../../../canary.txt",
                       "/model.git/info/lfs/objects/\(oid.uppercased())", "/model.git/info/lfs/objects/\(oid)%00",
                       "/model.git/info/lfs/objects/\(oid)", "/catalog.sqlite", "/model.git/info/refs?service=../../canary"] {
            let r = try HTTP.request(serve.base + target, env: env)
            #expect([400, 403, 404].contains(r.status), "\(target) → \(r.status)")
            replies.append(r)
        }
        #expect(replies.allSatisfy { !$0.text.contains(canaryText) }, "no reply carries the canary")

        // Unknown and private-without-credentials mirrors read the same.
        let unknown = try HTTP.request(serve.url("nosuch/model") + "/info/refs?service=git-upload-pack", env: env)
        let hidden = try HTTP.request(serve.url("secret/model") + "/info/refs?service=git-upload-pack", env: env)
        #expect(unknown.status == 404 && hidden.status == 404)
        #expect(unknown.text.replacingOccurrences(of: "nosuch", with: "X") == hidden.text.replacingOccurrences(of: "secret", with: "X"))

        // Batch limits: malformed oids per object, >1 MiB bodies and >1000 objects as a whole.
        let mixed = try HTTP.batch(serve.url("model"), objects: [("../../etc/passwd", 1), (oid.uppercased(), 1), (oid, -1)], env: env)
        #expect(mixed.status == 200)
        let answers = try JSONSerialization.jsonObject(with: mixed.body) as! [String: Any]
        for object in answers["objects"] as! [[String: Any]] {
            #expect((object["error"] as? [String: Any])?["code"] as? Int == 422, "\(object)")
        }
        let many = try HTTP.batch(serve.url("model"), objects: (0..<1001).map { (String(format: "%064x", $0), 1) }, env: env)
        #expect(many.status == 413)
        let huge = try HTTP.request(serve.url("model") + "/info/lfs/objects/batch", method: "POST",
                                    headers: ["Content-Type: application/vnd.git-lfs+json"], body: Data(count: (1 << 20) + 1), env: env)
        #expect(huge.status == 413)
        let notJSON = try HTTP.request(serve.url("model") + "/info/lfs/objects/batch", method: "POST",
                                       headers: ["Content-Type: application/vnd.git-lfs+json"], body: Data("{".utf8), env: env)
        #expect(notJSON.status == 422)

        // A slowloris client trickling its head is cut off at the header timeout; others are served meanwhile.
        let slow = try Shell.start("/usr/bin/env", ["python3", "-c", """
            import socket, sys, time
            s = socket.create_connection(("127.0.0.1", \(serve.port)))
            start = time.time()
            try:
                for c in b"GET /model.git/info/refs HTTP/1.1\\r\\nHost: x\\r\\n":
                    s.send(bytes([c])); time.sleep(0.3)
                print("not cut")
            except OSError:
                print("cut after %.1f" % (time.time() - start))
            """])
        let meanwhile = try HTTP.request(serve.url("model") + "/info/refs?service=git-upload-pack", env: env)
        #expect(meanwhile.status == 200)
        let cut = slow.wait()
        #expect(cut.stdout.hasPrefix("cut after"), "\(cut)")
        if let seconds = Double(cut.stdout.split(separator: " ").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") {
            #expect(seconds < 8, "cut near the 2 s header timeout")
        }

        // Every refusal is logged.
        try? eventually(timeout: 15, "refusals logged") { Int(try env.sql("SELECT COUNT(*) FROM access_log WHERE status = 400")[0][0])! >= 5 }
        #expect(Int(try env.sql("SELECT COUNT(*) FROM access_log WHERE status = 400")[0][0])! >= 5)
    }

    @Test("10,000 idle connections are held without stalling a clone")
    func manyIdleConnections() throws {
        let w = try world("serve-idle")
        let env = w.env
        // Long head and idle timeouts: the connections stay open through the clone (the head timeout's cut-off
        // is tested in badRequests).
        let serve = try ServeProcess.start(env: env, ["--header-timeout", "300", "--idle-timeout", "300"])
        let client = try GitClient(env: env)
        var started = Date()
        try client.ok(["clone", "-q", "--mirror", serve.url("model"), env.path("before-idle.git")])
        let alone = Date().timeIntervalSince(started)
        let holder = try Shell.start("/usr/bin/env", ["python3", "-c", """
            import os, resource, socket, sys, time
            soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 20000), hard))
            socks = []
            for i in range(10000):
                s = socket.socket(); s.connect(("127.0.0.1", \(serve.port))); socks.append(s)
            # Written whole, then renamed: the test polls for the file and reads it at once.
            with open(sys.argv[1] + ".tmp", "w") as f:
                f.write("%d\\n" % len(socks))
            os.rename(sys.argv[1] + ".tmp", sys.argv[1])
            time.sleep(30)
            """, env.path("held")])
        try eventually(timeout: 60, "10,000 connections open") { FileManager.default.fileExists(atPath: env.path("held")) || !holder.isRunning }
        #expect((try? String(contentsOfFile: env.path("held"), encoding: .utf8))?.hasPrefix("10000") == true, "\(holder.stderrSoFar)")
        started = Date()
        try client.ok(["clone", "-q", "--mirror", serve.url("model"), env.path("while-idle.git")])
        let crowded = Date().timeIntervalSince(started)
        #expect(crowded < 10 * alone + 5, "a clone is not stalled by idle connections: \(crowded) s against \(alone) s alone")
        #expect(try refList(env.path("while-idle.git")) == refList(env.mirrorPath("model")))
        holder.kill(SIGKILL)
        _ = holder.wait()
    }

    @Test("SIGTERM: a download in flight finishes, a client that stopped reading is cut after the grace, the server exits 0")
    func stopDrains() throws {
        let w = try world("serve-stop", big: 6_000_000)
        let env = w.env
        let serve = try ServeProcess.start(env: env)
        let oid = try LFSUpstream.sha256(file: w.up.work + "/big.bin")
        let url = serve.url("model") + "/info/lfs/objects/\(oid)"
        // About 2 s at 3 MB/s: still sending when the signal comes.
        let slow = try Shell.start("/usr/bin/curl", ["-s", "-f", "--limit-rate", "3M", "-o", env.path("slow.bin"), url])
        // Asks for the same object and never reads: its response cannot finish.
        let stuck = try Shell.start("/usr/bin/env", ["python3", "-c", """
            import socket, sys, time
            s = socket.create_connection(("127.0.0.1", \(serve.port)))
            s.sendall(b"GET /model.git/info/lfs/objects/\(oid) HTTP/1.1\\r\\nHost: mirror\\r\\n\\r\\n")
            open(sys.argv[1], "w").close()
            time.sleep(60)
            """, env.path("stuck-sent")])
        try eventually(timeout: 20, "the stuck client sent its request") { FileManager.default.fileExists(atPath: env.path("stuck-sent")) }
        Thread.sleep(forTimeInterval: 0.5)
        let signalled = Date()
        serve.process.kill(SIGTERM)
        let exit = serve.process.wait()
        let took = Date().timeIntervalSince(signalled)
        #expect(exit.status == 0, "\(exit)")
        #expect(took >= 4 && took < 15, "waited the 5 s grace for the stuck response, then exited: \(took) s")
        #expect(slow.wait().status == 0)
        #expect(FileManager.default.contents(atPath: env.path("slow.bin")) == w.files["big.bin"], "the download in flight finished whole")
        #expect(!exit.stderr.contains("Cannot schedule tasks"), "\(exit.stderr)")
        stuck.kill(SIGKILL)
        _ = stuck.wait()
    }

    @Test("pull-through: clients ask before the mirror holds any LFS object; five at once cause one upstream download")
    func pullThrough() throws {
        let w = try world("serve-pull", fetchLFS: false)
        let env = w.env
        let serve = try ServeProcess.start(env: env)
        let oidA = try LFSUpstream.sha256(file: w.up.work + "/weights/a.bin")
        let batch = try HTTP.batch(serve.url("model"), objects: [(oidA, 300_000)], env: env)
        #expect(batch.status == 200, "\(batch.text)")
        let answer = (try JSONSerialization.jsonObject(with: batch.body) as! [String: Any])["objects"] as! [[String: Any]]
        let href = ((answer[0]["actions"] as? [String: Any])?["download"] as? [String: Any])?["href"] as? String
        #expect(href == serve.url("model") + "/info/lfs/objects/\(oidA)", "\(answer)")

        // Five clients at once.
        var fetches: [RunningProcess] = []
        for i in 0..<5 {
            fetches.append(try Shell.start("/usr/bin/curl", ["-s", "-f", "-o", env.path("pulled-\(i)"), serve.url("model") + "/info/lfs/objects/\(oidA)"]))
        }
        for f in fetches { #expect(f.wait().status == 0) }
        for i in 0..<5 { #expect(FileManager.default.contents(atPath: env.path("pulled-\(i)")) == w.files["weights/a.bin"]) }
        #expect(w.lfs.downloads(of: oidA).count == 1, "one upstream transfer: \(w.lfs.downloads(of: oidA))")
        // The clients may have every byte a moment before the flight has verified and renamed the object.
        try? eventually(timeout: 20, "the object placed") { LFSUpstream.objects(in: env.mirrorPath("model")).values.contains(w.files["weights/a.bin"]!) }
        #expect(LFSUpstream.objects(in: env.mirrorPath("model")).values.contains(w.files["weights/a.bin"]!), "placed, verified, in the mirror")

        // A real client clones while the rest is still upstream only.
        let client = try GitClient(env: env)
        let work = env.path("pull-clone")
        try client.ok(["clone", "-q", serve.url("model"), work])
        for (path, data) in w.files { #expect(FileManager.default.contents(atPath: work + "/" + path) == data, "\(path)") }
        #expect(try env.sql("SELECT state FROM lfs_object o JOIN mirror m ON m.id = o.mirror_id WHERE m.name = 'model' AND oid = '\(oidA)'")[0][0] == "present")
        #expect(!FileManager.default.fileExists(atPath: env.home + "/lfs-incomplete/\(oidA).part"), "no partial download is left")
    }
}

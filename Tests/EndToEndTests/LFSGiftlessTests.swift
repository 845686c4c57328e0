import Foundation
import Testing

/// Git LFS mirroring against giftless (a real LFS server) behind nginx, compared with the real `git lfs`.
@Suite("Git LFS against giftless")
struct LFSGiftlessTests {
    /// `git clone --mirror URL` plus `git lfs fetch --all` in it: what git-lfs itself would hold.
    func reference(_ env: TestEnv, _ up: LFSUpstream, url: String) throws -> String {
        let ref = env.path("reference-\(UUID().uuidString.prefix(6)).git")
        try up.git(["clone", "-q", "--mirror", url, ref])
        try up.git(["lfs", "fetch", "--all"], cwd: ref)
        return ref
    }

    func report(_ result: ProcessResult) throws -> [String: Any] {
        guard let reports = try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]], let first = reports.first else {
            throw TestFailure.message("no JSON report: \(result)")
        }
        return first
    }

    func lfsStatus(_ env: TestEnv, _ name: String) throws -> [String: Any] {
        try env.json(env.lfs("status", name, "--json")) as! [String: Any]
    }

    @Test("objects from every branch, tag and old commit match git lfs fetch --all in a git clone --mirror; new commits are scanned and fetched alone")
    func matchesGitLFS() throws {
        let env = try TestEnv("lfs-match")
        let server = try LFSServer.start(env: env)
        let up = try LFSUpstream(env: env, servedRoot: server.gitRoot, name: "model", lfsURL: server.endpoint("model"))
        var oids = Set<String>()
        oids.insert(try up.add("weights/a.bin", LFSUpstream.random(300_000)))
        oids.insert(try up.add("b.bin", LFSUpstream.random(40_000)))
        try up.addText("README.md", "model card\n")
        try up.commit("first weights")
        oids.insert(try up.add("b.bin", LFSUpstream.random(50_000))) // the first b.bin stays only in history
        let shared = LFSUpstream.random(20_000)
        oids.insert(try up.add("copy1.bin", shared))
        _ = try up.add("dir/copy2.bin", shared) // same content, same object
        try up.commit("new b, and one object at two paths")
        try up.git(["checkout", "-q", "-b", "dev"], cwd: up.work)
        oids.insert(try up.add("dev-only.bin", LFSUpstream.random(30_000)))
        try up.commit("dev work")
        try up.git(["checkout", "-q", "--detach", "main"], cwd: up.work)
        oids.insert(try up.add("release.bin", LFSUpstream.random(25_000)))
        try up.commit("release build")
        try up.git(["tag", "-a", "v1", "-m", "release 1"], cwd: up.work)
        try up.git(["checkout", "-q", "main"], cwd: up.work)
        try up.push(["--all"])
        try up.push(["--tags"])
        #expect(oids.count == 6)

        try env.md("add", "model", server.url("model"))
        let sync = try env.md("sync", "model", "--no-lfs")
        #expect(sync.status == 0, "\(sync)")
        let first = try env.lfs("fetch", "model", "--json")
        #expect(first.status == 0, "\(first)")
        let r1 = try report(first)
        #expect(r1["result"] as? String == "ok")
        #expect(r1["objects_total"] as? Int == 6 && r1["objects_present"] as? Int == 6)
        let endpoint = try lfsStatus(env, "model")
        #expect(endpoint["endpoint"] as? String == server.endpoint("model"))
        #expect(endpoint["endpoint_source"] as? String == "upstream", "derived as git-lfs does: upstream URL + /info/lfs")

        let mirrored = LFSUpstream.objects(in: env.mirrorPath("model"))
        #expect(Set(mirrored.keys.map { String($0.split(separator: "/").last!) }) == oids)
        for oid in oids { #expect(server.downloads(of: oid).count == 1, "each object is downloaded once") }
        let ref = try reference(env, up, url: server.url("model"))
        #expect(mirrored == LFSUpstream.objects(in: ref), "same object paths and bytes as git lfs fetch --all")

        let commitsBefore = try lfsStatus(env, "model")["commits_scanned"] as! Int
        #expect(commitsBefore == 5)

        // One new commit upstream: only it is scanned, only its object is fetched.
        let added = try up.add("weights/c.bin", LFSUpstream.random(70_000))
        try up.commit("more weights")
        try up.push(["main"])
        #expect(try env.md("sync", "model", "--no-lfs").status == 0)
        let second = try env.lfs("fetch", "model", "--json")
        #expect(second.status == 0, "\(second)")
        let status = try lfsStatus(env, "model")
        #expect(status["commits_scanned"] as? Int == commitsBefore + 1, "only the new commit is walked")
        #expect(status["objects_present"] as? Int == 7 && status["objects_total"] as? Int == 7)
        #expect(server.downloads(of: added).count == 1)
        for oid in oids { #expect(server.downloads(of: oid).count <= 2, "old objects are not fetched again by mirrordeck") }

        // Nothing new: the scan walks nothing and nothing is transferred.
        let third = try report(env.lfs("fetch", "model", "--json"))
        let scan = third["scan"] as! [String: Any]
        #expect(scan["up_to_date"] as? Bool == true && scan["commits_scanned"] as? Int == 0)
        #expect(third["bytes_transferred"] as? Int == 0)

        try up.git(["fetch", "-q", "--prune", "origin", "+refs/*:refs/*"], cwd: ref)
        try up.git(["lfs", "fetch", "--all"], cwd: ref)
        #expect(LFSUpstream.objects(in: env.mirrorPath("model")) == LFSUpstream.objects(in: ref))
        let show = try env.json(env.md("show", "model", "--json")) as! [String: Any]
        #expect(show["status"] as? String == "ok")
        #expect(show["lfs_objects_present"] as? Int == 7 && show["lfs_objects_total"] as? Int == 7)
        #expect((show["lfs_bytes_present"] as? Int ?? 0) > 500_000)
        #expect(show["lfs_bytes_present"] as? Int == show["lfs_bytes_total"] as? Int)
    }

    @Test(".lfsconfig on the default branch names the endpoint of a git:// upstream, as git-lfs reads it")
    func lfsconfigEndpoint() throws {
        let env = try TestEnv("lfs-config")
        let daemon = try GitDaemon.start(env: env, root: env.path("served"))
        let server = try LFSServer.start(env: env)
        let up = try LFSUpstream(env: env, servedRoot: daemon.root, name: "data", lfsURL: server.endpoint("data"))
        try up.addText(".lfsconfig", "[lfs]\n\turl = \"\(server.endpoint("data"))\" # where the objects live\n")
        let oid = try up.add("set.bin", LFSUpstream.random(64_000))
        try up.commit("data set")
        try up.push(["--all"])

        try env.md("add", "data", daemon.url("data"))
        #expect(try env.md("sync", "data", "--no-lfs").status == 0)
        let fetch = try env.lfs("fetch", "data", "--json")
        #expect(fetch.status == 0, "\(fetch)")
        #expect(try report(fetch)["objects_present"] as? Int == 1)
        let status = try lfsStatus(env, "data")
        #expect(status["endpoint_source"] as? String == ".lfsconfig")
        #expect(status["endpoint"] as? String == server.endpoint("data"))
        let ref = try reference(env, up, url: daemon.url("data"))
        let mirrored = LFSUpstream.objects(in: env.mirrorPath("data"))
        #expect(mirrored.count == 1 && mirrored.keys.first?.hasSuffix(oid) == true)
        #expect(mirrored == LFSUpstream.objects(in: ref))
    }

    @Test("--lfs-url overrides the endpoint; a second mirror hard-links and downloads nothing; a file:// mirror of the mirror copies")
    func overrideLinksAndLocalCopies() throws {
        let env = try TestEnv("lfs-share")
        let server = try LFSServer.start(env: env)
        // The upstream's own derived endpoint would be wrong (objects were pushed under another name).
        let up = try LFSUpstream(env: env, servedRoot: server.gitRoot, name: "repo", lfsURL: server.endpoint("objects"))
        var oids: [String] = []
        for i in 0..<4 { oids.append(try up.add("f\(i).bin", LFSUpstream.random(10_000 * (i + 1)))) }
        try up.commit("objects")
        try up.push(["--all"])

        try env.md("add", "a", server.url("repo"), "--lfs-url", server.endpoint("objects"))
        #expect(try env.md("sync", "a", "--no-lfs").status == 0)
        let a = try report(env.lfs("fetch", "a", "--json"))
        #expect(a["result"] as? String == "ok" && a["objects_present"] as? Int == 4)
        #expect(try lfsStatus(env, "a")["endpoint_source"] as? String == "lfs-url")

        try env.md("add", "b", server.url("repo"), "--lfs-url", server.endpoint("objects"))
        #expect(try env.md("sync", "b", "--no-lfs").status == 0)
        let b = try report(env.lfs("fetch", "b", "--json"))
        #expect(b["result"] as? String == "ok")
        #expect(b["objects_present"] as? Int == 4)
        #expect(b["bytes_transferred"] as? Int == 0, "a second mirror of the same objects downloads nothing")
        for oid in oids {
            let pa = env.mirrorPath("a") + "/lfs/objects/\(oid.prefix(2))/\(oid.dropFirst(2).prefix(2))/\(oid)"
            let pb = env.mirrorPath("b") + "/lfs/objects/\(oid.prefix(2))/\(oid.dropFirst(2).prefix(2))/\(oid)"
            let ia = try FileManager.default.attributesOfItem(atPath: pa)[.systemFileNumber] as? UInt64
            let ib = try FileManager.default.attributesOfItem(atPath: pb)[.systemFileNumber] as? UInt64
            #expect(ia != nil && ia == ib, "hard-linked, not copied")
            #expect(server.downloads(of: oid).count == 1)
        }

        // A mirror of mirror "a" in another home, over file://: objects are copied from a's lfs/objects.
        let other = env.path("other-home")
        func md2(_ args: [String]) throws -> ProcessResult {
            try Shell.run(TestEnv.binary, [args[0], "--home", other] + args.dropFirst())
        }
        #expect(try md2(["add", "copy", "file://" + env.mirrorPath("a")]).status == 0)
        #expect(try md2(["sync", "copy"]).status == 0)
        let c = try report(env.lfs("fetch", "copy", "--json", home: other))
        #expect(c["result"] as? String == "ok", "\(c)")
        #expect(c["bytes_transferred"] as? Int == 0)
        let copy = try env.json(env.lfs("status", "copy", "--json", "--all", home: other)) as! [String: Any]
        #expect(copy["endpoint"] as? String == "file://" + env.mirrorPath("a") + "/lfs/objects")
        #expect((copy["objects"] as! [[String: Any]]).map { $0["source"] as? String } == Array(repeating: "copied", count: 4))
        #expect(LFSUpstream.objects(in: other + "/mirrors/copy.git") == LFSUpstream.objects(in: env.mirrorPath("a")))
    }

    @Test("a mirror whose LFS objects are partly unavailable upstream shows as failed with the count missing, and recovers")
    func partlyUnavailable() throws {
        let env = try TestEnv("lfs-missing")
        let server = try LFSServer.start(env: env)
        let up = try LFSUpstream(env: env, servedRoot: server.gitRoot, name: "model", lfsURL: server.endpoint("model"))
        var oids: [String] = []
        for i in 0..<5 { oids.append(try up.add("w\(i).bin", LFSUpstream.random(8_000 + i))) }
        try up.commit("weights")
        try up.push(["--all"])
        // The LFS server loses two objects.
        let aside = env.path("aside")
        try FileManager.default.createDirectory(atPath: aside, withIntermediateDirectories: true)
        for oid in oids.prefix(2) { try FileManager.default.moveItem(atPath: server.storedObject("model", oid), toPath: aside + "/" + oid) }

        try env.md("add", "model", server.url("model"))
        #expect(try env.md("sync", "model", "--no-lfs").status == 0)
        let fetch = try env.lfs("fetch", "model", "--json")
        #expect(fetch.status == 1, "\(fetch)")
        let r = try report(fetch)
        #expect(r["result"] as? String == "failed")
        #expect(r["objects_missing"] as? Int == 2 && r["unavailable"] as? Int == 2)
        #expect((r["error"] as? String ?? "").contains("2 of 5 LFS objects missing (2 unavailable upstream)"))

        let show = try env.json(env.md("show", "model", "--json")) as! [String: Any]
        #expect(show["status"] as? String == "failed")
        #expect((show["last_error"] as? String ?? "").hasPrefix("LFS: 2 of 5 LFS objects missing"))
        #expect(show["lfs_objects_present"] as? Int == 3 && show["lfs_objects_total"] as? Int == 5)
        #expect(show["consecutive_failures"] as? Int == 1)
        let status = try lfsStatus(env, "model")
        let notPresent = status["objects"] as! [[String: Any]]
        #expect(Set(notPresent.map { $0["oid"] as! String }) == Set(oids.prefix(2)))
        for o in notPresent {
            #expect(o["state"] as? String == "unavailable")
            #expect((o["error"] as? String ?? "").contains("404"), "\(o)")
        }
        let list = try env.md("list")
        #expect(list.stdout.contains("failed"))
        let text = try env.lfs("fetch", "model")
        #expect(text.status == 1 && text.stdout.contains("FAILED  model: 2 of 5 LFS objects missing"), "\(text)")

        for oid in oids.prefix(2) { try FileManager.default.moveItem(atPath: aside + "/" + oid, toPath: server.storedObject("model", oid)) }
        let again = try env.lfs("fetch", "model", "--json")
        #expect(again.status == 0, "\(again)")
        let healed = try env.json(env.md("show", "model", "--json")) as! [String: Any]
        #expect(healed["status"] as? String == "ok")
        #expect(healed["last_error"] is NSNull)
        #expect(healed["consecutive_failures"] as? Int == 0)
        #expect(healed["lfs_objects_present"] as? Int == 5)
    }
}

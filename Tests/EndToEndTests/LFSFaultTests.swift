import Foundation
import Testing

@Suite("Git LFS against hostile and broken servers")
struct LFSFaultTests {
    /// Every file under `root` except the skipped top-level entries: path → size and modification time.
    func snapshot(_ root: String, skipping: Set<String>) -> [String: String] {
        var out: [String: String] = [:]
        guard let walker = FileManager.default.enumerator(atPath: root) else { return out }
        for case let rel as String in walker {
            if let top = rel.split(separator: "/").first, skipping.contains(String(top)) { continue }
            guard let attrs = try? FileManager.default.attributesOfItem(atPath: root + "/" + rel) else { continue }
            out[rel] = "\(attrs[.size] ?? "") \(attrs[.modificationDate] ?? "")"
        }
        return out
    }

    @Test("each fault ends in a clear recorded error, transient ones are retried, no path or request comes from a bad answer, nothing outside the home changes, the token never leaks")
    func faults() throws {
        let env = try TestEnv("lfs-faults")
        let up = try LFSUpstream(env: env, servedRoot: env.path("served"), name: "hostile", lfsURL: nil)
        // (file name, fault, size, final state, what the recorded error says)
        let cases: [(String, String, Int, String, String)] = [
            ("ok", "ok", 40_000, "present", ""),
            ("retry-after", "429once", 30_000, "present", ""),
            ("server-error-once", "500once", 30_000, "present", ""),
            ("expired-link", "expired", 20_000, "present", ""),
            ("truncated", "truncate", 50_000, "failed", "closed the connection before the end of the body; gave up after 3 attempts"),
            ("extra-bytes", "extra", 20_000, "failed", "more than the declared 20000 bytes: cut off and discarded"),
            ("extra-declared", "extra_declared", 20_000, "failed", "more than the declared 20000 bytes"),
            ("wrong-bytes", "wrong", 20_000, "failed", "not the object id: discarded"),
            ("stalled", "stall", 20_000, "failed", "stalled (no data for 1 s)"),
            ("dotdot-oid", "bad_oid", 10_000, "failed", "did not include this object; it answered instead for 3 invalid or unrequested object id(s) (ignored): \"../../x\""),
            ("upper-oid", "upper_oid", 10_000, "failed", "did not include this object"),
            ("short-oid", "short_oid", 10_000, "failed", "did not include this object"),
            ("file-href", "file_href", 10_000, "failed", "download link uses \"file\": only http(s) links are followed"),
            ("redirect-loop", "redirect_loop", 10_000, "failed", "too many redirects (more than 5)"),
            ("redirect-file", "redirect_file", 10_000, "failed", "redirected to a URL that is not http(s)"),
            ("gone", "missing", 10_000, "unavailable", "not available upstream (404 Object does not exist)"),
        ]
        var objects: [FaultServer.Object] = []
        var expected: [String: (String, String)] = [:]
        try FileManager.default.createDirectory(atPath: env.path("data"), withIntermediateDirectories: true)
        for (name, fault, size, state, error) in cases {
            let path = env.path("data/\(name)")
            try LFSUpstream.random(size).write(to: URL(fileURLWithPath: path))
            let oid = try LFSUpstream.sha256(file: path)
            objects.append(FaultServer.Object(oid: oid, size: Int64(size), path: path, fault: fault))
            expected[oid] = (state, error)
            try up.addText("\(name).ptr", LFSUpstream.pointer(oid: oid, size: Int64(size)))
        }
        // A pointer declaring a petabyte: refused before any request (the server would stream forever).
        let hugeOID = String(repeating: "ab", count: 32)
        objects.append(FaultServer.Object(oid: hugeOID, size: 1 << 50, path: "/dev/null", fault: "huge"))
        expected[hugeOID] = ("failed", "the object declares 1.0 PiB but the home's filesystem has")
        try up.addText("huge.ptr", LFSUpstream.pointer(oid: hugeOID, size: 1 << 50))
        // Pointers with hostile object ids in the repository itself: never a path, never a request.
        let evil = ["sha256:../../../../tmp/evil", "sha256:" + String(repeating: "AB", count: 32), "sha256:" + String(repeating: "a", count: 63)]
        for (i, oid) in evil.enumerated() {
            try up.addText("evil\(i).ptr", "version https://git-lfs.github.com/spec/v1\noid \(oid)\nsize 12\n")
        }
        try up.commit("pointers to a hostile server")
        try up.push(["--no-verify", "--all"]) // no local objects: skip git-lfs's pre-push upload

        let server = try FaultServer.start(env: env, objects: objects, batchFaults: ["429", "500"])
        // The git side is cloned in place (no `sync`): only `lfs fetch`, with short timeouts, talks to this server.
        try up.git(["clone", "-q", "--mirror", up.bare, env.mirrorPath("hostile")])
        try env.md("add", "hostile", up.bare, "--lfs-url", server.endpoint)
        let outside = snapshot(env.root, skipping: ["home", (server.dir as NSString).lastPathComponent])
        let passwd = FileManager.default.contents(atPath: "/etc/passwd")

        let fetch = try env.lfs("fetch", "hostile", "--json", "--retries", "2", "--stall-timeout", "1")
        #expect(fetch.status == 1, "\(fetch)")
        let report = try #require((try JSONSerialization.jsonObject(with: Data(fetch.stdout.utf8)) as? [[String: Any]])?.first)
        #expect(report["result"] as? String == "failed")
        #expect(report["objects_total"] as? Int == cases.count + 1)
        #expect(report["objects_present"] as? Int == 4, "ok, 429 then ok, 500 then ok, and an expired link refreshed")
        #expect((report["error"] as? String ?? "").contains("13 of 17 LFS objects missing (1 unavailable upstream, 12 failed)"))
        let scan = report["scan"] as! [String: Any]
        #expect(scan["malformed_pointers"] as? Int == 3)

        // Each object's row says what happened to it.
        let status = try env.json(env.lfs("status", "hostile", "--json", "--all")) as! [String: Any]
        let rows = status["objects"] as! [[String: Any]]
        #expect(rows.count == cases.count + 1)
        for row in rows {
            let oid = row["oid"] as! String
            let (state, error) = try #require(expected[oid])
            #expect(row["state"] as? String == state, "\(oid): \(row)")
            let recorded = row["error"] as? String ?? ""
            #expect(error.isEmpty ? row["error"] is NSNull : recorded.contains(error), "\(oid): \(recorded)")
            #expect(!recorded.contains("\n"))
        }
        #expect(status["malformed_pointers"] as? Int == 3)
        #expect((status["malformed_example"] as? String ?? "").contains("is not sha256: followed by 64 lowercase hex digits"))

        // The batch API was retried through 429 and 500; the huge object and the hostile ids were never asked for.
        let requests = server.requests()
        let batches = requests.filter { ($0["path"] as? String) == "/lfs/objects/batch" }.compactMap { $0["status"] as? Int }
        #expect(Array(batches.prefix(3)) == [429, 500, 200])
        let paths = requests.compactMap { $0["path"] as? String }
        #expect(!paths.contains { $0.contains(hugeOID) })
        #expect(!paths.contains { $0.contains("..") || $0.contains("evil") })
        #expect(requests.filter { ($0["path"] as? String ?? "").hasPrefix("/obj/") }.allSatisfy { $0["authorization"] as? Bool == true })

        // Nothing outside the home changed; inside it, only well-formed names and verified objects.
        #expect(snapshot(env.root, skipping: ["home", (server.dir as NSString).lastPathComponent]) == outside)
        #expect(!FileManager.default.fileExists(atPath: "/tmp/evil"))
        let allowedTop: Set<String> = ["catalog.sqlite", "catalog.sqlite-wal", "catalog.sqlite-shm", "mirrors", "locks", "lfs-incomplete", "quarantine", "trash",
                                      ".space-reserve"]  // the 2 MiB the catalog keeps for a full disk (docs/operations.md)
        for entry in try FileManager.default.contentsOfDirectory(atPath: env.home) { #expect(allowedTop.contains(entry), "\(entry)") }
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: env.home + "/lfs-incomplete")) ?? [] {
            let stem = entry.hasSuffix(".part") ? String(entry.dropLast(5)) : entry.hasSuffix(".lock") ? String(entry.dropLast(5)) : entry
            #expect(stem.count == 64 && stem.allSatisfy { "0123456789abcdef".contains($0) }, "\(entry)")
        }
        let present = LFSUpstream.objects(in: env.mirrorPath("hostile"))
        #expect(present.count == 4)
        for (rel, data) in present {
            let oid = String(rel.split(separator: "/").last!)
            #expect(rel == "\(oid.prefix(2))/\(oid.dropFirst(2).prefix(2))/\(oid)")
            #expect(expected[oid]?.0 == "present")
            #expect(data != passwd)
        }
        if let walker = FileManager.default.enumerator(atPath: env.home) {
            for case let rel as String in walker where !rel.hasPrefix("catalog") {
                #expect(FileManager.default.contents(atPath: env.home + "/" + rel) != passwd, "\(rel) is a copy of /etc/passwd")
            }
        }

        // The download token and signed URLs never reach the output, the errors or the catalog.
        for text in [fetch.stdout, fetch.stderr] {
            #expect(!text.contains(server.token) && !text.contains("SIGNED-URL-SECRET"))
        }
        for file in ["catalog.sqlite", "catalog.sqlite-wal"] {
            let bytes = (try? String(contentsOfFile: env.home + "/" + file, encoding: .isoLatin1)) ?? ""
            #expect(!bytes.contains(server.token) && !bytes.contains("SIGNED-URL-SECRET"), "\(file)")
        }

        // The mirror shows as failed with the count missing.
        let show = try env.json(env.md("show", "hostile", "--json")) as! [String: Any]
        #expect(show["status"] as? String == "failed")
        #expect((show["last_error"] as? String ?? "").hasPrefix("LFS: 13 of 17 LFS objects missing"))
    }

    @Test("an LFS server that wants credentials, and a URL with no LFS server, fail with what to do")
    func credentialsAndWrongEndpoint() throws {
        let env = try TestEnv("lfs-auth")
        let up = try LFSUpstream(env: env, servedRoot: env.path("served"), name: "p", lfsURL: nil)
        try up.addText("w.ptr", LFSUpstream.pointer(oid: String(repeating: "c", count: 64), size: 10))
        try up.commit("a pointer")
        try up.push(["--no-verify", "--all"])
        let server = try FaultServer.start(env: env, objects: [])
        try env.md("add", "locked", up.bare, "--lfs-url", server.authEndpoint)
        try env.md("add", "nowhere", up.bare, "--lfs-url", server.nowhereEndpoint)
        #expect(try env.md("sync", "locked", "nowhere", "--no-lfs").status == 0)

        let locked = try env.lfs("fetch", "locked")
        #expect(locked.status == 1)
        #expect(locked.stdout.contains("LFS server \(server.authEndpoint) answered 401: it needs credentials"), "\(locked)")
        #expect(locked.stdout.contains("~/.netrc"))
        let nowhere = try env.lfs("fetch", "nowhere")
        #expect(nowhere.status == 1)
        #expect(nowhere.stdout.contains("answered 404: there is no LFS server at that URL"), "\(nowhere)")
        let show = try env.json(env.md("show", "locked", "--json")) as! [String: Any]
        #expect(show["status"] as? String == "failed")
        #expect((show["last_error"] as? String ?? "").contains("needs credentials"))
        #expect(show["lfs_objects_total"] as? Int == 1 && show["lfs_objects_present"] as? Int == 0)
    }
}

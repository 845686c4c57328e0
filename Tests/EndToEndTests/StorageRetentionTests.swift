import Foundation
import Testing

@Suite("storage over time: LFS retention, trash, archive, restore")
struct StorageRetentionTests {
    /// A local upstream (its `lfs/objects` is its LFS store) with six annotated tags v1…v6, dated a day
    /// apart, each replacing `weights.bin`; `shared.bin` is in every tag, `config.bin` changes at v4,
    /// `extra.bin` arrives at v2 and stays. `dev` stays at the first commits (no LFS). Returns the oids by role.
    struct Model {
        var bare: String
        var weights: [String] = []   // weights[i] only in v(i+1)
        var shared = ""
        var configOld = ""            // v1–v3
        var configNew = ""            // v4–v6
        var extra = ""                // v2–v6
        var all: Set<String> { Set(weights + [shared, configOld, configNew, extra]) }
    }

    static func makeModel(env: TestEnv) throws -> Model {
        let upstream = try Upstream(env: env, servedRoot: env.path("served"), name: "model", commits: 1)
        // Upstream makes a tag v1 at the first commit, dated now: replace it with the dated ones below.
        try Shell.git(["tag", "-d", "v1"], cwd: upstream.work)
        try Shell.git(["push", "-q", upstream.bare, ":refs/tags/v1"], cwd: upstream.work)
        var model = Model(bare: upstream.bare)
        func object(_ size: Int) throws -> (oid: String, size: Int) {
            let file = env.path("blob-\(UUID().uuidString)")
            try LFSUpstream.random(size).write(to: URL(fileURLWithPath: file))
            let oid = try LFSUpstream.sha256(file: file)
            let dir = upstream.bare + "/lfs/objects/\(oid.prefix(2))/\(oid.dropFirst(2).prefix(2))"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try FileManager.default.moveItem(atPath: file, toPath: dir + "/" + oid)
            return (oid, size)
        }
        func point(_ path: String, _ o: (oid: String, size: Int)) throws {
            try upstream.commit(path, LFSUpstream.pointer(oid: o.oid, size: Int64(o.size)), message: "update \(path)")
        }
        let shared = try object(3000), configOld = try object(1500), configNew = try object(1600), extra = try object(2500)
        model.shared = shared.oid
        model.configOld = configOld.oid
        model.configNew = configNew.oid
        model.extra = extra.oid
        try point("shared.bin", shared)
        for i in 1...6 {
            let w = try object(4000 + i)
            model.weights.append(w.oid)
            try point("weights.bin", w)
            if i == 1 { try point("config.bin", configOld) }
            if i == 2 { try point("extra.bin", extra) }
            if i == 4 { try point("config.bin", configNew) }
            var env = ["GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.org", "GIT_COMMITTER_NAME": "Test",
                       "GIT_COMMITTER_EMAIL": "test@example.org", "GIT_CONFIG_NOSYSTEM": "1", "HOME": NSTemporaryDirectory()]
            env["GIT_COMMITTER_DATE"] = "2024-01-0\(i)T12:00:00Z"
            let r = try Shell.run("/usr/bin/git", ["tag", "-a", "v\(i)", "-m", "release \(i)"], cwd: upstream.work, environment: env)
            try #require(r.status == 0, "\(r)")
        }
        try upstream.push(["main"])
        try upstream.push(["--tags"])
        return model
    }

    /// The LFS objects the trees at `refs` point at, found with git alone: `git ls-tree -r -l` of each ref,
    /// and every blob under 1024 bytes read with `git cat-file` and parsed as a pointer.
    static func pointedAt(repo: String, refs: [String]) throws -> Set<String> {
        var out = Set<String>()
        for ref in refs {
            for line in try Shell.git(["ls-tree", "-r", "-l", ref], cwd: repo).split(separator: "\n") {
                let fields = line.split(separator: "\t")[0].split(separator: " ", omittingEmptySubsequences: true)
                guard fields.count == 4, fields[1] == "blob", let size = Int(fields[3]), size < 1024 else { continue }
                let text = try Shell.git(["cat-file", "blob", String(fields[2])], cwd: repo)
                guard text.hasPrefix("version https://git-lfs.github.com/spec/v1") else { continue }
                for field in text.split(separator: "\n") where field.hasPrefix("oid sha256:") {
                    out.insert(String(field.dropFirst("oid sha256:".count)))
                }
            }
        }
        return out
    }

    static func storePath(_ env: TestEnv, _ mirror: String, _ oid: String) -> String {
        env.mirrorPath(mirror) + "/lfs/objects/\(oid.prefix(2))/\(oid.dropFirst(2).prefix(2))/\(oid)"
    }

    /// Every regular file under `dir`: relative path → SHA-256 (the state a dry run must not change).
    static func fingerprint(_ dir: String) throws -> [String: String] {
        var out: [String: String] = [:]
        guard let walker = FileManager.default.enumerator(atPath: dir) else { return out }
        for case let rel as String in walker {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dir + "/" + rel, isDirectory: &isDir), !isDir.boolValue,
                  !rel.hasPrefix("catalog.sqlite") else { continue }
            out[rel] = try LFSUpstream.sha256(file: dir + "/" + rel)
        }
        return out
    }

    static func files(under dir: String) -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: dir) else { return [] }
        return walker.compactMap { $0 as? String }.filter { rel in
            var isDir: ObjCBool = false
            return FileManager.default.fileExists(atPath: dir + "/" + rel, isDirectory: &isDir) && !isDir.boolValue
        }
    }

    static func states(_ env: TestEnv, _ mirror: String) throws -> [String: String] {
        let rows = try env.sql("SELECT o.oid, o.state FROM lfs_object o JOIN mirror m ON m.id = o.mirror_id WHERE m.name = '\(mirror)'")
        return Dictionary(uniqueKeysWithValues: rows.map { ($0[0], $0[1]) })
    }

    @Test("tags:3 moves exactly what only older tags point at to the trash; a second mirror's hard links stay; dry runs change nothing; archive, restore, grace and back to all")
    func retention() throws {
        let env = try TestEnv("retention")
        let model = try Self.makeModel(env: env)
        try env.md("add", "model", model.bare)
        try env.md("add", "copy", model.bare)
        for name in ["model", "copy"] {
            let synced = try env.md("sync", name, "--no-lfs")
            try #require(synced.status == 0, "\(synced)")
            let fetched = try env.md("lfs", "fetch", name)
            try #require(fetched.status == 0, "\(fetched)")
        }
        #expect(Set(try Self.states(env, "model").keys) == model.all)
        // The second mirror linked what the first had fetched: one file, two names.
        var st = stat()
        #expect(stat(Self.storePath(env, "copy", model.weights[0]), &st) == 0 && st.st_nlink == 2)

        // What tags:3 keeps, computed with git alone: the trees of the 3 newest tags and of every branch.
        let kept = try Self.pointedAt(repo: env.mirrorPath("model"), refs: ["refs/tags/v4", "refs/tags/v5", "refs/tags/v6", "refs/heads/main", "refs/heads/dev"])
        #expect(kept == Set(model.weights[3...5] + [model.shared, model.configNew, model.extra]), "git's view agrees with how the upstream was built")
        let leaving = model.all.subtracting(kept)
        #expect(leaving == Set(model.weights[0...2] + [model.configOld]))

        // Bad policies: one line, exit 2, nothing changed.
        let before = try env.md("export").stdout
        for args in [["edit", "model", "--lfs-keep", "tags:0"], ["edit", "model", "--lfs-keep", "refs/heads/*,"],
                     ["edit", "model", "--lfs-keep", "heads"], ["add", "other", model.bare, "--lfs-keep", "tags:x"],
                     ["edit", "model", "--lfs-archive", "relative/dir"], ["edit", "model", "--lfs-archive", env.home + "/archive"]] {
            let r = try env.mdArgs(args)
            #expect(r.status == 2, "\(args): \(r)")
            #expect(r.stderr.split(separator: "\n").count == 1 && r.stderr.hasPrefix("mirrordeck: error: "), "\(args): \(r.stderr)")
        }
        #expect(try env.md("export").stdout == before)

        let edited = try env.md("edit", "model", "--lfs-keep", "tags:3")
        #expect(edited.status == 0, "\(edited)")

        // A dry run lists exactly the leaving objects, with size and why, and changes nothing.
        let fingerprint = try Self.fingerprint(env.home)
        let catalogBefore = try env.sql("SELECT mirror_id, oid, state, retired_path FROM lfs_object ORDER BY 1, 2")
        let dry = try env.json(env.md("lfs", "prune", "model", "--dry-run", "--json")) as! [String: Any]
        let planned = dry["objects"] as! [[String: Any]]
        #expect(Set(planned.map { $0["oid"] as! String }) == leaving)
        #expect(planned.allSatisfy { $0["action"] as? String == "trash" && ($0["why"] as? String ?? "").contains("refs/tags/v") })
        #expect(planned.allSatisfy { $0["shared_link"] as? Bool == true }, "the copy mirror links every one of them")
        #expect(dry["refs_kept"] as? Int == 5 && dry["refs_total"] as? Int == 8)
        let text = try env.md("lfs", "prune", "model", "--dry-run")
        #expect(text.status == 0 && text.stdout.contains(model.weights[0]) && text.stdout.contains("nothing was changed"), "\(text)")
        #expect(try Self.fingerprint(env.home) == fingerprint)
        #expect(try env.sql("SELECT mirror_id, oid, state, retired_path FROM lfs_object ORDER BY 1, 2") == catalogBefore)

        // The real run: exactly the leaving objects go to the trash; the copy mirror keeps its links.
        let pruned = try env.json(env.md("lfs", "prune", "model", "--json")) as! [String: Any]
        #expect(pruned["failed"] as? Int == 0, "\(pruned)")
        for oid in model.all {
            let inStore = FileManager.default.fileExists(atPath: Self.storePath(env, "model", oid))
            #expect(inStore == kept.contains(oid), "\(oid.prefix(8)) in store: \(inStore)")
            #expect(try LFSUpstream.sha256(file: Self.storePath(env, "copy", oid)) == oid, "the copy mirror still has \(oid.prefix(8))")
        }
        let trashed = Self.files(under: env.home + "/lfs-trash")
        #expect(Set(trashed.map { ($0 as NSString).lastPathComponent }) == leaving, "\(trashed)")
        let states = try Self.states(env, "model")
        #expect(Set(states.filter { $0.value == "trashed" }.keys) == leaving)
        #expect(Set(states.filter { $0.value == "present" }.keys) == kept)
        #expect(try env.sql("SELECT actor, message LIKE '%4 to the trash%' FROM event WHERE action = 'lfs-prune'") == [[ProcessInfo.processInfo.environment["USER"] ?? "root", "1"]])
        #expect(try env.sql("SELECT lfs_objects_present, lfs_objects_total, status FROM mirror_state WHERE mirror_id = (SELECT id FROM mirror WHERE name = 'model')")
            == [["6", "6", "ok"]])

        // A fetch under the policy neither re-downloads nor restores what the policy leaves out.
        let refetch = try env.json(env.md("lfs", "fetch", "model", "--json")) as! [[String: Any]]
        #expect(refetch[0]["result"] as? String == "ok" && refetch[0]["copied"] as? Int == 0 && refetch[0]["restored"] as? Int == 0, "\(refetch)")
        #expect(try Self.states(env, "model") == states)

        // Restore one object from the trash: verified, placed, its trash copy gone.
        let w1 = model.weights[0]
        let restored = try env.md("lfs", "restore", "model", w1)
        #expect(restored.status == 0 && restored.stdout.contains("restored \(w1)") && restored.stdout.contains("outside lfs-keep"), "\(restored)")
        #expect(try LFSUpstream.sha256(file: Self.storePath(env, "model", w1)) == w1)
        #expect(try Self.states(env, "model")[w1] == "present")
        #expect(try env.md("lfs", "restore", "model", String(repeating: "a", count: 64)).status == 2)
        #expect(try env.md("lfs", "restore", "model", "nothex").status == 2)

        // An archive on the side and a tighter policy, applied by maintain: v4's weights go to the archive
        // (with v1's, restored above), and stay servable and restorable from there.
        let archive = env.path("archive")
        #expect(try env.md("edit", "model", "--lfs-keep", "tags:2", "--lfs-archive", archive).status == 0)
        let plan = try env.md("maintain", "model", "--dry-run")
        #expect(plan.status == 0 && plan.stdout.contains(model.weights[3]) && plan.stdout.contains("archive"), "\(plan)")
        #expect(!FileManager.default.fileExists(atPath: archive))
        let maintained = try env.md("maintain", "model")
        #expect(maintained.status == 0, "\(maintained)")
        let w4 = model.weights[3]
        let archived = archive + "/model/lfs/objects/\(w4.prefix(2))/\(w4.dropFirst(2).prefix(2))/\(w4)"
        #expect(try LFSUpstream.sha256(file: archived) == w4)
        #expect(!FileManager.default.fileExists(atPath: Self.storePath(env, "model", w4)))
        #expect(try Self.states(env, "model")[w4] == "archived" && Self.states(env, "model")[w1] == "archived")
        // A client is still served the archived object, from the archive.
        let serve = try ServeProcess.start(env: env)
        let served = try HTTP.request(serve.url("model") + "/info/lfs/objects/\(w4)", env: env)
        #expect(served.status == 200, "\(served.status) \(served.text.prefix(200))")
        let servedFile = env.path("served-\(w4)")
        try served.body.write(to: URL(fileURLWithPath: servedFile))
        #expect(try LFSUpstream.sha256(file: servedFile) == w4)
        serve.process.kill(SIGTERM)
        _ = serve.process.wait()
        let back = try env.md("lfs", "restore", "model", w4)
        #expect(back.status == 0, "\(back)")
        #expect(try LFSUpstream.sha256(file: Self.storePath(env, "model", w4)) == w4)
        #expect(!FileManager.default.fileExists(atPath: archived))

        // After the grace period the trash is emptied; the archive is not.
        let expired = try env.json(env.md("lfs", "prune", "model", "--grace", "0s", "--json")) as! [String: Any]
        let deleted = (expired["objects"] as! [[String: Any]]).filter { $0["action"] as? String == "delete" }
        #expect(Set(deleted.map { $0["oid"] as! String }) == leaving.subtracting([w1]), "\(expired)")
        #expect(Self.files(under: env.home + "/lfs-trash").isEmpty)
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: env.home + "/lfs-trash")) ?? []).isEmpty)
        #expect(Set(Self.files(under: archive).map { ($0 as NSString).lastPathComponent }) == [w1, w4])
        for oid in leaving { #expect(try LFSUpstream.sha256(file: Self.storePath(env, "copy", oid)) == oid) }

        // Back to all: the next fetch restores what the archive holds and fetches again what was deleted.
        #expect(try env.md("edit", "model", "--lfs-keep", "all").status == 0)
        let full = try env.json(env.md("lfs", "fetch", "model", "--json")) as! [[String: Any]]
        #expect(full[0]["result"] as? String == "ok" && full[0]["restored"] as? Int == 2, "\(full)")
        for oid in model.all { #expect(try LFSUpstream.sha256(file: Self.storePath(env, "model", oid)) == oid) }
        #expect(Set(try Self.states(env, "model").values) == ["present"])
        #expect(try env.sql("PRAGMA integrity_check") == [["ok"]])
    }

    @Test("an archive on another filesystem: objects are copied there verified, leave the store, are served from there and restored")
    func archiveOnAnotherFilesystem() throws {
        guard getuid() == 0 else {
            Issue.record("this test mounts a tmpfs and needs root")
            return
        }
        let env = try TestEnv("retention-xfs")
        let model = try Self.makeModel(env: env)
        try env.md("add", "model", model.bare)
        try #require(try env.md("sync", "model").status == 0)
        let archive = env.path("archive-fs")
        try env.mountTmpfs(at: archive, size: "16m")
        var home = stat(), other = stat()
        try #require(stat(env.home, &home) == 0 && stat(archive, &other) == 0 && home.st_dev != other.st_dev, "two filesystems")

        #expect(try env.md("edit", "model", "--lfs-keep", "tags:3", "--lfs-archive", archive).status == 0)
        let maintained = try env.md("maintain", "model")
        #expect(maintained.status == 0, "\(maintained)")
        let leaving = Set(model.weights[0...2] + [model.configOld])
        for oid in leaving {
            let archived = archive + "/model/lfs/objects/\(oid.prefix(2))/\(oid.dropFirst(2).prefix(2))/\(oid)"
            #expect(try LFSUpstream.sha256(file: archived) == oid, "copied to the archive, verified")
            #expect(!FileManager.default.fileExists(atPath: Self.storePath(env, "model", oid)), "and gone from the store")
            #expect(try Self.states(env, "model")[oid] == "archived")
        }
        let w1 = model.weights[0]
        let serve = try ServeProcess.start(env: env)
        let served = try HTTP.request(serve.url("model") + "/info/lfs/objects/\(w1)", env: env)
        #expect(served.status == 200)
        let servedFile = env.path("served-\(w1)")
        try served.body.write(to: URL(fileURLWithPath: servedFile))
        #expect(try LFSUpstream.sha256(file: servedFile) == w1, "served from the other filesystem")
        serve.process.kill(SIGTERM)
        _ = serve.process.wait()
        let back = try env.md("lfs", "restore", "model", "--all")
        #expect(back.status == 0, "\(back)")
        for oid in leaving { #expect(try LFSUpstream.sha256(file: Self.storePath(env, "model", oid)) == oid, "restored across filesystems") }
        #expect(try env.sql("PRAGMA integrity_check") == [["ok"]])
    }
}


import Foundation
import Testing

@Suite("far links: stepwise git fetch through a link that cuts and a process that is killed", .serialized)
struct StepwiseFetchTests {
    /// Makes (or extends, from tag `fromTag`) `<root>/<name>.git` with scripts/tagged-repo.py: `tags` annotated
    /// tags along main of `kib` KiB of incompressible data each, and branches dev and feature. Returns the size
    /// of its one pack.
    static func generate(_ bare: String, tags: Int, kib: Int, fromTag: Int = 1) throws -> Int64 {
        let r = try Shell.run("/usr/bin/env", ["python3", TestEnv.checkout + "/scripts/tagged-repo.py", bare, String(tags), String(kib),
                                               "--from-tag", String(fromTag)])
        guard r.status == 0, let size = Int64(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw TestFailure.message("tagged-repo.py failed: \(r)")
        }
        return size
    }

    /// Bytes the proxy sent down to its clients, from its log.
    static func downBytes(log: String) throws -> Int64 {
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        return try text.split(separator: "\n").reduce(0) { sum, line in
            let entry = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return sum + Int64(entry?["down"] as? Int ?? 0)
        }
    }

    /// The refs of a fresh `git clone --mirror` of `url` (taken without the proxy).
    static func directRefs(_ env: TestEnv, url: String, name: String) throws -> String {
        let clone = env.path("direct-\(name).git")
        try? FileManager.default.removeItem(atPath: clone)
        try Shell.git(["clone", "-q", "--mirror", url, clone])
        return try Upstream.refs(of: clone)
    }

    /// Checks, while `sync` runs, that every ref the mirror serves points at an object it has and that no
    /// hidden step ref is served. Returns how many checks saw step refs in the repository (steps under way).
    static func watchServedRefs(mirror: String, while sync: RunningProcess) throws -> (checks: Int, duringSteps: Int) {
        var checks = 0, duringSteps = 0
        while sync.isRunning {
            guard FileManager.default.fileExists(atPath: mirror + "/HEAD") else { usleep(50_000); continue }
            let served = try Shell.run("/usr/bin/git", ["ls-remote", mirror])
            let hidden = try Shell.run("/usr/bin/git", ["for-each-ref", "--format=%(refname)", "refs/mirrordeck/"], cwd: mirror)
            guard served.status == 0 else { continue }
            let lines = served.stdout.split(separator: "\n").map { $0.split(separator: "\t") }
            #expect(!lines.contains { $0.count == 2 && $0[1].hasPrefix("refs/mirrordeck/") }, "a hidden step ref was served")
            let oids = lines.compactMap { $0.first.map(String.init) }
            if !oids.isEmpty {
                let check = try Shell.run("/usr/bin/git", ["cat-file", "--batch-check"], cwd: mirror, stdin: oids.joined(separator: "\n") + "\n")
                #expect(!check.stdout.contains("missing"), "a served ref points at a missing object: \(check.stdout)")
            }
            checks += 1
            if !hidden.stdout.isEmpty { duringSteps += 1 }
            usleep(100_000)
        }
        return (checks, duringSteps)
    }

    @Test("cuts every 1–4 MB: a cold 100 MB mirror (40 tags, 3 branches) and a 25 MB update complete in steps; refs equal a direct clone; fsck clean; served refs always whole")
    func coldMirrorThroughCuts() throws {
        let env = try TestEnv("steps-cuts")
        let daemon = try GitDaemon.start(env: env, root: env.path("served"))
        let bare = daemon.root + "/model.git"
        _ = try Self.generate(bare, tags: 40, kib: 2560)
        let log = env.path("proxy.log")
        let proxy = try FarLinkProxy.start(env: env, target: daemon.port, ["--cut-after", "1000000-4000000", "--log", log])
        try env.md("add", "model", "git://127.0.0.1:\(proxy.port)/model.git", "--lfs", "off")

        let first = try env.mdStart(["sync", "model", "--json"])
        let watched = try Self.watchServedRefs(mirror: env.mirrorPath("model"), while: first)
        let result = first.wait()
        #expect(result.status == 0, "\(result)")
        let cuts = try String(contentsOfFile: log, encoding: .utf8).components(separatedBy: "\"cut\"").count - 1
        #expect(cuts > 0, "the proxy cut connections")
        let mirror = env.mirrorPath("model")
        #expect(try Upstream.refs(of: mirror) == Self.directRefs(env, url: daemon.url("model"), name: "a"))
        #expect(try Upstream.head(of: mirror) == "refs/heads/main")
        let fsck = try Shell.run("/usr/bin/git", ["fsck", "--full", "--no-progress"], cwd: mirror)
        #expect(fsck.status == 0 && fsck.stderr.isEmpty, "\(fsck)")
        #expect(try Shell.git(["for-each-ref", "refs/mirrordeck/"], cwd: mirror).isEmpty, "the step refs are gone once done")
        let runs = try env.sql("SELECT result, steps, steps_total, attempts FROM sync_run ORDER BY id")
        #expect(runs.last?[0] == "updated", "\(runs)")
        #expect(Int(runs.last?[1] ?? "") ?? 0 >= 10 && Int(runs.last?[3] ?? "") ?? 0 > Int(runs.last?[1] ?? "") ?? 0,
                "many steps, and more tries than steps (the cuts): \(runs)")
        #expect(watched.checks > 0)

        // 10 more tags upstream: the update is tried in one piece, cut, and then fetched in steps while the
        // mirror keeps serving its previous refs, whole.
        _ = try Self.generate(bare, tags: 50, kib: 2560, fromTag: 41)
        let second = try env.mdStart(["sync", "model"])
        let watchedUpdate = try Self.watchServedRefs(mirror: mirror, while: second)
        let updated = second.wait()
        #expect(updated.status == 0, "\(updated)")
        #expect(updated.stdout.contains("steps"), "\(updated)")
        #expect(watchedUpdate.duringSteps > 0, "served refs were checked while steps were kept: \(watchedUpdate)")
        #expect(try Upstream.refs(of: mirror) == Self.directRefs(env, url: daemon.url("model"), name: "b"))
        let fsck2 = try Shell.run("/usr/bin/git", ["fsck", "--full", "--no-progress"], cwd: mirror)
        #expect(fsck2.status == 0 && fsck2.stderr.isEmpty, "\(fsck2)")
        let link = try env.sql("SELECT host, cut_bytes FROM host_link")
        #expect(link.first?[0] == "127.0.0.1" && Int(link.first?[1] ?? "") ?? 0 >= 1_000_000, "the host's cuts are remembered: \(link)")
    }

    @Test("smart HTTP: steps share one connection while the link holds, and take new ones where it cuts; refs equal a direct clone; fsck clean")
    func stepsShareHTTPSession() throws {
        let env = try TestEnv("steps-http")
        let server = try HTTPGitServer.start(env: env, root: env.path("served"))
        _ = try Self.generate(server.root + "/model.git", tags: 24, kib: 1024)
        let direct = try Self.directRefs(env, url: server.url("model"), name: "h")
        for (name, cuts) in [("held", false), ("cut", true)] {
            let log = env.path("proxy-\(name).log")
            let proxy = try FarLinkProxy.start(env: env, target: server.port, ["--log", log] + (cuts ? ["--cut-after", "3000000-6000000"] : []))
            try env.md("add", name, "http://127.0.0.1:\(proxy.port)/git/model.git", "--lfs", "off")
            let sync = try env.md("sync", name, "--stepwise")
            #expect(sync.status == 0, "\(sync)")
            let mirror = env.mirrorPath(name)
            #expect(try Upstream.refs(of: mirror) == direct, "\(name)")
            let fsck = try Shell.run("/usr/bin/git", ["fsck", "--full", "--no-progress"], cwd: mirror)
            #expect(fsck.status == 0 && fsck.stderr.isEmpty, "\(name): \(fsck)")
            let run = try env.sql("SELECT r.steps, r.attempts FROM sync_run r JOIN mirror m ON m.id = r.mirror_id WHERE m.name = '\(name)' ORDER BY r.id DESC LIMIT 1").first ?? []
            let steps = Int(run.first ?? "") ?? 0, attempts = Int(run.last ?? "") ?? 0
            let connections = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").count
            #expect(steps >= 3, "\(name): several steps: \(run)")
            if cuts {
                #expect(attempts > steps, "the link cut some steps: \(run)")
            } else {
                // A connection per step would be steps + 1 with the ref listing's.
                #expect(connections < steps + 1, "\(connections) connections for \(steps) steps")
            }
        }
    }

    @Test("SIGKILL at 20 random points of a stepwise sync: each next sync continues from the last completed step; bytes ≤ 1.3 × the pack")
    func killsKeepCompletedSteps() throws {
        let env = try TestEnv("steps-kill")
        let daemon = try GitDaemon.start(env: env, root: env.path("served"))
        let pack = try Self.generate(daemon.root + "/model.git", tags: 80, kib: 512)
        let log = env.path("proxy.log")
        // 2 MB/s: the sync takes about 20 s of transfer, so the kills land all over it.
        let proxy = try FarLinkProxy.start(env: env, target: daemon.port, ["--rate", "2000000", "--log", log])
        try env.md("add", "model", "git://127.0.0.1:\(proxy.port)/model.git", "--lfs", "off")
        let mirror = env.mirrorPath("model")

        var kills = 0, kept: [Int] = []
        while kills < 20 {
            let sync = try env.mdStart(["sync", "model"])
            // Long enough for a process to start, list and complete a step or so even on a loaded machine (a
            // job killed five times in a row without completing a step is given up, as a crash loop).
            usleep(UInt32.random(in: 500_000...1_500_000))
            guard sync.isRunning else { break }
            sync.kill(SIGKILL)
            _ = sync.wait()
            kills += 1
            // The newest completed step, from the mirror's hidden refs (refs/mirrordeck/steps/NNNNNN/OID).
            let names = (try? Shell.git(["for-each-ref", "--format=%(refname)", "refs/mirrordeck/steps/"], cwd: mirror)) ?? ""
            kept.append(names.split(separator: "\n").compactMap { Int($0.split(separator: "/")[3]) }.max() ?? 0)
        }
        #expect(kills >= 15, "the sync was killed many times before it could end: \(kills)")
        #expect(kept == kept.sorted() && (kept.last ?? 0) > 0, "completed steps are kept across kills: \(kept)")
        let last = try env.md("sync", "model")
        #expect(last.status == 0, "\(last)")
        #expect(try Upstream.refs(of: mirror) == Self.directRefs(env, url: daemon.url("model"), name: "k"))
        let fsck = try Shell.run("/usr/bin/git", ["fsck", "--full", "--no-progress"], cwd: mirror)
        #expect(fsck.status == 0 && fsck.stderr.isEmpty, "\(fsck)")
        let down = try Self.downBytes(log: log)
        #expect(Double(down) <= 1.3 * Double(pack), "bytes over the link \(down) vs the pack \(pack): \(Double(down) / Double(pack))×, kept \(kept)")
    }

    @Test("jobs show the step under way as the phase: 'step N/M'")
    func stepPhaseShown() throws {
        let env = try TestEnv("steps-phase")
        let daemon = try GitDaemon.start(env: env, root: env.path("served"))
        _ = try Self.generate(daemon.root + "/model.git", tags: 30, kib: 512)
        // Cut after 1-3 MB: the sync starts in one piece, is cut, and goes on in steps.
        let proxy = try FarLinkProxy.start(env: env, target: daemon.port, ["--rate", "2000000", "--cut-after", "1000000-3000000"])
        try env.md("add", "model", "git://127.0.0.1:\(proxy.port)/model.git", "--lfs", "off")
        let sync = try env.mdStart(["sync", "model"])
        var phases = Set<String>()
        while sync.isRunning {
            if let jobs = try? env.json(env.md("jobs", "--json")) as? [[String: Any]] {
                for job in jobs { if let phase = job["phase"] as? String { phases.insert(phase) } }
            }
            usleep(150_000)
        }
        #expect(sync.wait().status == 0)
        let steps = phases.filter { $0.range(of: #"^step \d+/\d+$"#, options: .regularExpression) != nil }
        #expect(!steps.isEmpty, "phases seen: \(phases)")
    }
}

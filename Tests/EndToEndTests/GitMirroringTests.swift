import Foundation
import Testing

@Suite("git mirroring against real servers")
struct GitMirroringTests {
    /// Syncs `name` and checks refs and HEAD equal a `git clone --mirror` of the same URL.
    func expectIdentical(_ env: TestEnv, name: String, url: String) throws {
        let reference = env.path("reference-\(UUID().uuidString.prefix(6)).git")
        try Shell.git(["clone", "-q", "--mirror", url, reference])
        #expect(try Upstream.refs(of: env.mirrorPath(name)) == Upstream.refs(of: reference))
        #expect(try Upstream.head(of: env.mirrorPath(name)) == Upstream.head(of: reference))
    }

    func runMirrorLifecycle(env: TestEnv, url: String, upstream: Upstream) throws {
        try env.md("add", "lib", url)
        let first = try env.md("sync", "lib")
        #expect(first.status == 0, "\(first)")
        try expectIdentical(env, name: "lib", url: url)

        // Upstream rewrites history: force-push main, delete a branch and a tag, add a tag.
        try Shell.git(["reset", "-q", "--hard", "HEAD~1"], cwd: upstream.work)
        try upstream.commit("rewritten.txt", "new history\n")
        try upstream.push(["--force", "main"])
        try upstream.push([":dev"])
        try upstream.push([":refs/tags/v1"])
        try Shell.git(["tag", "v2"], cwd: upstream.work)
        try upstream.push(["v2"])

        let second = try env.md("sync", "lib", "--json")
        #expect(second.status == 0, "\(second)")
        let reports = try env.json(second) as! [[String: Any]]
        let run = reports[0]["run"] as! [String: Any]
        #expect(reports[0]["result"] as? String == "updated")
        #expect(run["refs_deleted"] as? Int == 2)
        #expect((run["refs_updated"] as? Int ?? 0) == 2)
        try expectIdentical(env, name: "lib", url: url)
    }

    @Test("git:// mirror matches git clone --mirror, through force-push, deletions and new tags")
    func gitDaemonLifecycle() throws {
        let env = try TestEnv("gitd")
        let daemon = try GitDaemon.start(env: env, root: env.path("served"))
        let upstream = try Upstream(env: env, servedRoot: daemon.root, name: "lib")
        try runMirrorLifecycle(env: env, url: daemon.url("lib"), upstream: upstream)
    }

    @Test("smart HTTP (git http-backend behind nginx) mirror matches git clone --mirror")
    func smartHTTPLifecycle() throws {
        let env = try TestEnv("http")
        let server = try HTTPGitServer.start(env: env, root: env.path("served"))
        let upstream = try Upstream(env: env, servedRoot: server.root, name: "lib")
        try runMirrorLifecycle(env: env, url: server.url("lib"), upstream: upstream)
    }

    @Test("file:// and plain-path upstreams mirror too")
    func localUpstreams() throws {
        let env = try TestEnv("local")
        let upstream = try Upstream(env: env, servedRoot: env.path("served"), name: "lib")
        try env.md("add", "viafile", "file://" + upstream.bare)
        try env.md("add", "viapath", upstream.bare)
        let r = try env.md("sync", "viafile", "viapath")
        #expect(r.status == 0, "\(r)")
        try expectIdentical(env, name: "viafile", url: upstream.bare)
        try expectIdentical(env, name: "viapath", url: upstream.bare)
    }

    @Test("HEAD follows upstream's default branch when it changes")
    func headFollowsDefaultBranch() throws {
        let env = try TestEnv("head")
        let daemon = try GitDaemon.start(env: env, root: env.path("served"))
        let upstream = try Upstream(env: env, servedRoot: daemon.root, name: "lib")
        try env.md("add", "lib", daemon.url("lib"))
        try env.md("sync", "lib")
        #expect(try Upstream.head(of: env.mirrorPath("lib")) == "refs/heads/main")
        try Shell.git(["symbolic-ref", "HEAD", "refs/heads/dev"], cwd: upstream.bare)
        let r = try env.md("sync", "lib")
        #expect(r.status == 0, "\(r)")
        #expect(try Upstream.head(of: env.mirrorPath("lib")) == "refs/heads/dev")
    }

    @Test("a second sync with nothing new upstream does not fetch and still advances fresh-as-of")
    func upToDateSkipsFetch() throws {
        let env = try TestEnv("uptodate")
        let daemon = try GitDaemon.start(env: env, root: env.path("served"))
        _ = try Upstream(env: env, servedRoot: daemon.root, name: "lib")
        try env.md("add", "lib", daemon.url("lib"))
        #expect(try env.md("sync", "lib").status == 0)
        let before = try env.json(env.md("show", "lib", "--json")) as! [String: Any]
        let packsBefore = try FileManager.default.contentsOfDirectory(atPath: env.mirrorPath("lib") + "/objects/pack").sorted()
        usleep(1_100_000) // fresh-as-of has one-second resolution in JSON
        let second = try env.md("sync", "lib", "--json")
        let report = (try env.json(second) as! [[String: Any]])[0]
        let run = report["run"] as! [String: Any]
        #expect(report["result"] as? String == "up-to-date")
        #expect(run["objects_received"] as? Int == 0)
        #expect(run["bytes_received"] as? Int == 0)
        let after = try env.json(env.md("show", "lib", "--json")) as! [String: Any]
        #expect((after["fresh_as_of"] as! String) > (before["fresh_as_of"] as! String))
        #expect(try FileManager.default.contentsOfDirectory(atPath: env.mirrorPath("lib") + "/objects/pack").sorted() == packsBefore)
        let runs = after["runs"] as! [[String: Any]]
        #expect(runs.map { $0["result"] as! String } == ["up-to-date", "updated"])
    }

    @Test("SIGKILL during a large fetch leaves refs as they were, and the next sync succeeds")
    func killDuringFetch() throws {
        let env = try TestEnv("kill")
        let server = try HTTPGitServer.start(env: env, root: env.path("served"), slowRate: "2m")
        let upstream = try Upstream(env: env, servedRoot: server.root, name: "big")
        let url = server.url("big", path: "slow")
        try env.md("add", "big", url)
        #expect(try env.md("sync", "big").status == 0)
        let refsBefore = try Upstream.refs(of: env.mirrorPath("big"))

        // 24 MB of incompressible data: ~12 s through the 2 MB/s location.
        let blob = env.path("random.bin")
        FileManager.default.createFile(atPath: blob, contents: Data((0..<(24 << 20)).map { _ in UInt8.random(in: 0...255) }))
        try FileManager.default.copyItem(atPath: blob, toPath: upstream.work + "/weights.bin")
        try Shell.git(["add", "weights.bin"], cwd: upstream.work)
        try Shell.git(["commit", "-q", "-m", "weights"], cwd: upstream.work)
        try upstream.push(["main"])

        let sync = try env.mdStart(["sync", "big"])
        let packDir = env.mirrorPath("big") + "/objects/pack"
        try eventually(timeout: 30, "pack data arriving") {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: packDir)) ?? []
            return files.contains { name in
                guard name.hasPrefix("pack_git2_") || name.hasPrefix("tmp") else { return false }
                let size = (try? FileManager.default.attributesOfItem(atPath: packDir + "/" + name)[.size] as? Int) ?? 0
                return size > 1 << 20
            }
        }
        sync.kill(SIGKILL)
        #expect(sync.wait().status == 128 + SIGKILL, "the sync must have been killed mid-fetch, not finished")
        #expect(try Upstream.refs(of: env.mirrorPath("big")) == refsBefore)

        let retry = try env.md("sync", "big")
        #expect(retry.status == 0, "\(retry)")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: packDir).filter { $0.hasPrefix("tmp_") || $0.hasPrefix("pack_git2_") }
        #expect(leftovers.isEmpty, "the killed fetch's temporary pack files are gone: \(leftovers)")
        let reference = env.path("reference.git")
        try Shell.git(["clone", "-q", "--mirror", server.url("big"), reference])
        #expect(try Upstream.refs(of: env.mirrorPath("big")) == Upstream.refs(of: reference))
    }

    @Test("received packs are indexed by git's index-pack; its failure fails the sync with git's reason and keeps the refs")
    func packsIndexedByIndexPack() throws {
        let env = try TestEnv("indexpack")
        let daemon = try GitDaemon.start(env: env, root: env.path("served"))
        let upstream = try Upstream(env: env, servedRoot: daemon.root, name: "lib", commits: 20)
        // A git on PATH that logs each call before running the real one, and can be told to break index-pack.
        let bin = env.path("bin")
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        let log = env.path("git-calls.log")
        try """
            #!/bin/sh
            echo "$*" >> \(log)
            case "$*" in *index-pack*) [ -f \(env.path("break")) ] && { head -c 100 >/dev/null; echo "fatal: pack has junk at the end" >&2; exit 128; } ;; esac
            exec /usr/bin/git "$@"
            """.write(toFile: bin + "/git", atomically: true, encoding: .utf8)
        chmod(bin + "/git", 0o755)
        let path = ["PATH": bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")]

        try env.md("add", "lib", daemon.url("lib"))
        let first = try env.md("sync", "lib", "--json", env: path)
        #expect(first.status == 0, "\(first)")
        let calls = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(calls.contains("index-pack --stdin --fix-thin"), "git index-pack received the pack: \(calls)")
        let run = (try env.json(first) as! [[String: Any]])[0]["run"] as! [String: Any]
        let objects = try Shell.git(["rev-list", "--objects", "--all"], cwd: upstream.bare).split(separator: "\n").count
        #expect(run["objects_received"] as? Int == objects, "the run counts the objects index-pack received: \(run)")
        try expectIdentical(env, name: "lib", url: daemon.url("lib"))
        try Shell.git(["fsck", "--full", "--no-progress"], cwd: env.mirrorPath("lib"))

        // index-pack fails: the sync fails with git's own reason, and the refs stay as they were.
        let before = try Upstream.refs(of: env.mirrorPath("lib"))
        try upstream.commit("more.txt", "more\n")
        try upstream.push(["main"])
        FileManager.default.createFile(atPath: env.path("break"), contents: Data())
        let broken = try env.md("sync", "lib", env: path)
        #expect(broken.status != 0)
        #expect(broken.stdout.contains("pack has junk at the end") || broken.stderr.contains("pack has junk at the end"), "\(broken)")
        #expect(try Upstream.refs(of: env.mirrorPath("lib")) == before)
        try FileManager.default.removeItem(atPath: env.path("break"))
        let fixed = try env.md("sync", "lib", env: path)
        #expect(fixed.status == 0, "\(fixed)")
        try expectIdentical(env, name: "lib", url: daemon.url("lib"))

        // MIRRORDECK_PACK_INDEXER=libgit2 keeps libgit2's own indexer: git is not asked.
        try upstream.commit("last.txt", "last\n")
        try upstream.push(["main"])
        try FileManager.default.removeItem(atPath: log)
        let own = try env.md("sync", "lib", env: path.merging(["MIRRORDECK_PACK_INDEXER": "libgit2"]) { $1 })
        #expect(own.status == 0, "\(own)")
        #expect(!((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("index-pack"))
        try expectIdentical(env, name: "lib", url: daemon.url("lib"))
    }
}

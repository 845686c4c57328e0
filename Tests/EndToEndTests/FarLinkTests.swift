import Foundation
import Testing

@Suite("far links: git transfers through a link that stalls")
struct FarLinkTests {
    /// An upstream whose next fetch is a 4 MiB pack of incompressible data, mirrored once through `url(port)`
    /// of a proxy that stops forwarding after 1 MB on any one connection.
    func stalledSecondSync(_ env: TestEnv, upstream: Upstream, serverPort: Int, url: (Int) -> String) throws {
        let proxy = try FarLinkProxy.start(env: env, target: serverPort, ["--stall-after", "1000000"])
        try env.md("add", "lib", url(proxy.port))
        let first = try env.md("sync", "lib", "--stall-timeout", "3")
        #expect(first.status == 0, "a small first fetch fits under the stall point: \(first)")
        let before = try Upstream.refs(of: env.mirrorPath("lib"))

        _ = FileManager.default.createFile(atPath: upstream.work + "/weights.bin",
                                       contents: Data((0..<(4 << 20)).map { _ in UInt8.random(in: 0...255) }))
        try Shell.git(["add", "weights.bin"], cwd: upstream.work)
        try Shell.git(["commit", "-q", "-m", "weights"], cwd: upstream.work)
        try upstream.push(["main"])

        let started = Date()
        let stalled = try env.md("sync", "lib", "--stall-timeout", "3", "--json")
        let took = Date().timeIntervalSince(started)
        #expect(stalled.status == 1, "\(stalled)")
        let report = (try JSONSerialization.jsonObject(with: Data(stalled.stdout.utf8)) as! [[String: Any]])[0]
        let error = report["error"] as? String ?? ""
        #expect(error.contains("stalled: no data from 127.0.0.1 for 3 s"), "\(report)")
        #expect(took < 3 + 5, "ended within the stall timeout + 5 s: \(took) s")
        #expect(try Upstream.refs(of: env.mirrorPath("lib")) == before, "the refs stay as they were")
        let status = try env.sql("SELECT status FROM mirror_state JOIN mirror ON mirror.id = mirror_state.mirror_id WHERE name = 'lib'")
        #expect(status.first?.first == "failed")
    }

    @Test("git://: a fetch whose upstream stops sending mid-pack fails as stalled within the stall timeout; refs stay")
    func stallOverGitDaemon() throws {
        let env = try TestEnv("stall-git")
        let daemon = try GitDaemon.start(env: env, root: env.path("served"))
        let upstream = try Upstream(env: env, servedRoot: daemon.root, name: "lib")
        try stalledSecondSync(env, upstream: upstream, serverPort: daemon.port) { "git://127.0.0.1:\($0)/lib.git" }
    }

    @Test("smart HTTP: a fetch whose upstream stops sending mid-pack fails as stalled within the stall timeout; refs stay")
    func stallOverSmartHTTP() throws {
        let env = try TestEnv("stall-http")
        let server = try HTTPGitServer.start(env: env, root: env.path("served"))
        let upstream = try Upstream(env: env, servedRoot: server.root, name: "lib")
        try stalledSecondSync(env, upstream: upstream, serverPort: server.port) { "http://127.0.0.1:\($0)/git/lib.git" }
    }

    @Test("--stall-timeout and [engine] stall_timeout outside 1…3600 are one line and exit 2")
    func badStallTimeouts() throws {
        let env = try TestEnv("stall-bad")
        try env.md("add", "lib", "git://127.0.0.1:9/lib.git")
        for bad in ["0", "3601", "x"] {
            let r = try env.md("sync", "lib", "--stall-timeout", bad)
            #expect(r.status == 2 && r.stderr.split(separator: "\n").count == 1, "\(r)")
        }
        try "[engine]\nstall_timeout = 0\n".write(toFile: env.home + "/config.toml", atomically: true, encoding: .utf8)
        let r = try env.md("sync", "lib")
        #expect(r.status != 0 && r.stderr.contains("stall_timeout"), "\(r)")
    }
}

@Suite("ref filters: refs/pull/* left out of a mirror and what it serves")
struct RefFilterMirrorTests {
    @Test("with heads-tags no pull ref is fetched or served; all brings them; heads-tags again deletes them")
    func headsTagsLeavesPullRefsOut() throws {
        let env = try TestEnv("refs-filter")
        let daemon = try GitDaemon.start(env: env, root: env.path("served"))
        let upstream = try Upstream(env: env, servedRoot: daemon.root, name: "lib")
        // Two pull requests whose commits no branch or tag reaches, as GitHub keeps them.
        var pullCommits: [String] = []
        for n in 1...2 {
            try Shell.git(["checkout", "-q", "-b", "pr\(n)", "main"], cwd: upstream.work)
            try upstream.commit("pr\(n).txt", "pull request \(n)\n")
            pullCommits.append(try Shell.git(["rev-parse", "HEAD"], cwd: upstream.work))
            try upstream.push(["pr\(n):refs/pull/\(n)/head"])
            try Shell.git(["checkout", "-q", "main"], cwd: upstream.work)
            try Shell.git(["branch", "-q", "-D", "pr\(n)"], cwd: upstream.work)
        }
        let mirror = env.mirrorPath("lib")
        let upstreamRefs = try refList(upstream.bare)
        let headsTags = upstreamRefs.filter { !$0.contains(" refs/pull/") }
        #expect(headsTags.count < upstreamRefs.count)

        try env.md("add", "lib", daemon.url("lib"), "--refs", "heads-tags")
        let first = try env.md("sync", "lib")
        #expect(first.status == 0, "\(first)")
        #expect(try refList(mirror) == headsTags)
        for commit in pullCommits {
            #expect(try Shell.run("/usr/bin/git", ["--git-dir", mirror, "cat-file", "-e", commit]).status != 0,
                    "\(commit), reachable only from a pull ref, was not fetched")
        }
        #expect((try env.json(env.md("show", "lib", "--json")) as! [String: Any])["ref_filter"] as? String == "heads-tags")
        // Nothing changed upstream within the filter: up to date.
        let again = try env.md("sync", "lib", "--json")
        #expect((try env.json(again) as! [[String: Any]])[0]["result"] as? String == "up-to-date")

        // What the mirror serves has no pull ref either.
        let serve = try ServeProcess.start(env: env)
        let client = try GitClient(env: env)
        let advertised = try client.ok(["ls-remote", serve.url("lib")])
        #expect(!advertised.contains("refs/pull/"), "\(advertised)")
        try client.ok(["clone", "-q", "--mirror", serve.url("lib"), env.path("served-clone.git")])
        #expect(try refList(env.path("served-clone.git")) == headsTags)

        // Every ref again: the pull refs arrive, equal to git clone --mirror.
        try env.md("edit", "lib", "--refs", "all")
        #expect(try env.md("sync", "lib").status == 0)
        #expect(try refList(mirror) == upstreamRefs)

        // Back to heads-tags: the pull refs go from the mirror (and its advertisement).
        let edit = try env.md("edit", "lib", "--refs", "heads-tags")
        #expect(edit.status == 0, "\(edit)")
        let events = try env.sql("SELECT message FROM event WHERE action = 'edit' ORDER BY id DESC LIMIT 1")
        #expect(events.first?.first == "changed refs heads-tags")
        let pruned = try env.md("sync", "lib", "--json")
        #expect((try env.json(pruned) as! [[String: Any]])[0]["result"] as? String == "updated")
        #expect(try refList(mirror) == headsTags)
        #expect(!(try client.ok(["ls-remote", serve.url("lib")])).contains("refs/pull/"))

        // Export and import keep the filter.
        let exported = try env.md("export")
        #expect(exported.stdout.contains("refs = \"heads-tags\""), "\(exported.stdout)")
    }

    @Test("a bad --refs is one line, exit 2, and adds or changes nothing", arguments: [
        "refs/../x", "heads", "refs/heads/[ab]", "", "refs/heads/*,",
    ])
    func badFilters(filter: String) throws {
        let env = try TestEnv("refs-bad")
        try env.md("add", "lib", "git://127.0.0.1:9/lib.git")
        let add = try env.md("add", "other", "git://127.0.0.1:9/other.git", "--refs", filter)
        #expect(add.status == 2 && add.stderr.split(separator: "\n").count == 1 && add.stderr.contains("invalid ref filter"), "\(add)")
        #expect(try env.sql("SELECT count(*) FROM mirror")[0][0] == "1")
        let edit = try env.md("edit", "lib", "--refs", filter)
        #expect(edit.status == 2, "\(edit)")
        #expect(try env.sql("SELECT refs IS NULL FROM mirror")[0][0] == "1")
    }
}

@Suite("bandwidth caps: mirrors of one host share its max_rate")
struct BandwidthCapTests {
    @Test("two mirrors of one host capped at 5MB/s together hold it within 10 % over 20 s")
    func hostCapHolds() throws {
        let env = try TestEnv("max-rate")
        let daemon = try GitDaemon.start(env: env, root: env.path("served"))
        for name in ["a", "b"] {
            let upstream = try Upstream(env: env, servedRoot: daemon.root, name: name)
            try Shell.run("/bin/dd", ["if=/dev/urandom", "of=" + upstream.work + "/weights.bin", "bs=1M", "count=55", "status=none"])
            try Shell.git(["add", "weights.bin"], cwd: upstream.work)
            try Shell.git(["commit", "-q", "-m", "weights"], cwd: upstream.work)
            try upstream.push(["main"])
            try env.md("add", name, daemon.url(name), "--lfs", "off")
        }
        try "[hosts.\"127.0.0.1\"]\nmax_rate = \"5MB/s\"\n".write(toFile: env.home + "/config.toml", atomically: true, encoding: .utf8)
        // The rate is read off the packs growing on disk (index-pack writes them as they arrive), between 10 MB
        // and 100 MB received: start-up, listing and indexing, which a loaded machine stretches, stay outside.
        func received() -> Int {
            // Packs grow in objects/pack, or, for a fetch in steps, in the stage before they move into the mirror.
            ["a", "b"].flatMap { [env.mirrorPath($0) + "/objects/pack", env.mirrorPath($0) + "/mirrordeck-steps/objects/pack"] }.reduce(0) { sum, dir in
                sum + ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [])
                    .filter { $0.hasPrefix("tmp_pack_") || $0.hasSuffix(".pack") }
                    .reduce(0) { $0 + ((try? FileManager.default.attributesOfItem(atPath: dir + "/" + $1)[.size] as? Int) ?? 0) }
            }
        }
        let sync = try env.mdStart(["sync", "a", "b", "--json"])
        var samples: [(Date, Int)] = []
        while sync.isRunning {
            samples.append((Date(), received()))
            usleep(200_000)
        }
        let r = sync.wait()
        #expect(r.status == 0, "\(r)")
        let runs = (try env.json(r) as! [[String: Any]]).compactMap { $0["run"] as? [String: Any] }
        let bytes = runs.reduce(0) { $0 + ($1["bytes_received"] as? Int ?? 0) }
        #expect(runs.count == 2 && bytes > 110_000_000, "\(runs)")
        let window = samples.filter { $0.1 >= 10_000_000 && $0.1 <= 100_000_000 }
        let first = try #require(window.first), last = try #require(window.last)
        let seconds = last.0.timeIntervalSince(first.0)
        #expect(seconds > 15, "the window spans most of the transfer: \(seconds) s")
        let rate = Double(last.1 - first.1) / seconds
        print("bandwidth cap: \(last.1 - first.1) bytes in \(String(format: "%.1f", seconds)) s = \(String(format: "%.2f", rate / 1e6)) MB/s against a 5 MB/s host cap")
        #expect(rate <= 5_500_000 && rate >= 4_500_000, "both syncs together: \(rate) B/s against 5 MB/s")
    }

    @Test("--max-rate per mirror: shown, exported, removed with none; bad rates and bad config are one line")
    func mirrorCapSettings() throws {
        let env = try TestEnv("max-rate-settings")
        try env.md("add", "a", "git://127.0.0.1:9/a.git", "--max-rate", "2MB/s")
        #expect((try env.json(env.md("show", "a", "--json")) as! [String: Any])["max_rate"] as? Int == 2_000_000)
        #expect(try env.md("export").stdout.contains("max_rate = \"2000000\""))
        for bad in ["10", "fast", "5XB/s"] {
            let r = try env.md("edit", "a", "--max-rate", bad)
            #expect(r.status == 2 && r.stderr.split(separator: "\n").count == 1, "\(r)")
        }
        #expect(try env.md("edit", "a", "--max-rate", "none").status == 0)
        #expect((try env.json(env.md("show", "a", "--json")) as! [String: Any])["max_rate"] is NSNull)
        try "[hosts.\"example.org\"]\nmax_rate = \"fast\"\n".write(toFile: env.home + "/config.toml", atomically: true, encoding: .utf8)
        let r = try env.md("sync", "a")
        #expect(r.status != 0 && r.stderr.contains("max_rate must be a rate"), "\(r)")
    }
}

@Suite("real proxies: git and LFS through tinyproxy")
struct ProxyTests {
    @Test("with http_proxy set, the git fetch, the LFS batch request and the object download all go through a real HTTP proxy")
    func throughTinyproxy() throws {
        let env = try TestEnv("proxy")
        let server = try LFSServer.start(env: env)
        let up = try LFSUpstream(env: env, servedRoot: server.gitRoot, name: "model", lfsURL: server.endpoint("model"))
        let oid = try up.add("weights/a.bin", LFSUpstream.random(200_000))
        try up.commit("weights")
        try up.push(["--all"])
        let proxy = try TinyProxy.start(env: env)

        try env.md("add", "model", server.url("model"))
        let proxied = ["http_proxy": proxy.url, "HTTP_PROXY": proxy.url, "no_proxy": "", "NO_PROXY": ""]
        let r = try env.md("sync", "model", env: proxied)
        #expect(r.status == 0, "\(r)")
        let placed = env.mirrorPath("model") + "/lfs/objects/\(oid.prefix(2))/\(oid.dropFirst(2).prefix(2))/\(oid)"
        #expect(try LFSUpstream.sha256(file: placed) == oid)
        let requests = proxy.requests
        let base = "http://127.0.0.1:"
        #expect(requests.contains { $0.hasPrefix("GET " + base) && $0.contains("/model.git/info/refs?service=git-upload-pack") }, "\(requests)")
        #expect(requests.contains { $0.hasPrefix("POST " + base) && $0.contains("/model.git/git-upload-pack") }, "\(requests)")
        #expect(requests.contains { $0.hasPrefix("POST " + base) && $0.contains("/objects/batch") }, "\(requests)")
        #expect(requests.contains { $0.hasPrefix("GET " + base) && $0.contains(oid) }, "the object itself came through the proxy: \(requests)")
    }
}

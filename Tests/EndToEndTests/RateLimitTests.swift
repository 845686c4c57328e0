import Foundation
import Testing

@Suite("rate limits: a host state, not N failures; request budgets")
struct RateLimitTests {
    func mirrors(_ env: TestEnv) throws -> [String: [String: Any]] {
        let list = try env.json(env.md("list", "--json")) as! [[String: Any]]
        return Dictionary(uniqueKeysWithValues: list.map { ($0["name"] as! String, $0) })
    }

    func runResults(_ env: TestEnv, _ name: String) throws -> [String] {
        let show = try env.json(env.md("show", name, "--json")) as! [String: Any]
        return (show["runs"] as! [[String: Any]]).map { $0["result"] as! String }
    }

    @Test("429 with Retry-After from a git host: every mirror of it waits rate-limited, none fails or pauses, all sync after the reset")
    func tooManyRequestsIsAHostState() throws {
        let env = try TestEnv("ratelimit429")
        let server = try HTTPGitServer.start(env: env, root: env.path("served"))
        let proxy = try RateLimitProxy.start(env: env, upstreamPort: server.port)
        let names = ["alpha", "beta", "gamma"]
        for name in names {
            _ = try Upstream(env: env, servedRoot: server.root, name: name)
            try env.md("add", name, proxy.url(server.url(name)), "--interval", "1h")
        }
        try proxy.limit(seconds: 8, status: 429, reset: "retry-after")
        let daemon = try DaemonProcess.start(env: env)

        // While the limit holds: every mirror of the host shows it, with its jobs waiting in the queue.
        var seen: [String: [String: Any]] = [:]
        try eventually(timeout: 7, "all three mirrors rate-limited") {
            seen = try mirrors(env)
            return names.allSatisfy { seen[$0]?["rate_limited_until"] is String }
        }
        for name in names {
            let m = try #require(seen[name])
            #expect(m["rate_limited_host"] as? String == "127.0.0.1")
            #expect(m["consecutive_failures"] as? Int == 0, "\(name): \(m)")
            #expect(m["status"] as? String != "paused" && m["status"] as? String != "failed", "\(name): \(m)")
            #expect(m["last_error"] is NSNull, "\(name): \(m)")
        }
        let list = try env.md("list")
        #expect(list.stdout.contains("rate-limited until"), "\(list.stdout)")
        #expect(list.stdout.contains("127.0.0.1 rate-limited until"), "\(list.stdout)")
        let metrics = try Curl.get(daemon.base + "/metrics").body
        #expect(metrics.contains("mirrordeck_mirror_rate_limited{mirror=\"alpha\"} 1"), "\(metrics)")
        #expect(metrics.contains("mirrordeck_host_rate_limited_until_seconds{host=\"127.0.0.1\"}"), "\(metrics)")
        let jobs = try env.json(env.md("jobs", "--json")) as! [[String: Any]]
        let waiting = jobs.filter { $0["state"] as? String == "queued" && $0["wait_until"] is String }
        #expect(!waiting.isEmpty, "\(jobs)")
        #expect(try env.md("jobs").stdout.contains("waits until"))
        // One host event, however many jobs met the limit.
        #expect(try env.sql("SELECT COUNT(*) FROM event WHERE action = 'limit'") == [["1"]])

        // After the reset the syncs resume by themselves and succeed.
        try eventually(timeout: 45, "all three synced after the reset") {
            let now = try mirrors(env)
            return names.allSatisfy { now[$0]?["last_success_at"] is String && now[$0]?["rate_limited_until"] is NSNull }
        }
        for name in names {
            let results = try runResults(env, name)
            #expect(results.first == "updated", "\(name): \(results)")
            #expect(!results.contains("failed"), "\(name): \(results)")
            #expect(try Upstream.refs(of: env.mirrorPath(name)) == Upstream.refs(of: server.root + "/\(name).git"))
        }
        let after = try mirrors(env)
        #expect(names.allSatisfy { after[$0]?["consecutive_failures"] as? Int == 0 && after[$0]?["status"] as? String == "ok" })
        #expect(try env.sql("SELECT COUNT(*) FROM sync_run WHERE result = 'rate-limited'").first?.first.flatMap(Int.init) ?? 0 >= 1)
        // Polite: no hammering while limited — each mirror met the limit at most a couple of times (its fetch
        // and the probe that read the headers), not once per engine tick.
        let limited = proxy.requests().filter { $0["status"] as? Int == 429 }
        #expect(limited.count >= 1 && limited.count <= 3 * 3, "\(limited.count) requests answered 429")
    }

    @Test("403 with X-RateLimit-Remaining: 0 and X-RateLimit-Reset: 'sync' waits for the reset and succeeds; a plain 403 is a failure")
    func forbiddenWithQuotaHeaders() throws {
        let env = try TestEnv("ratelimit403")
        let server = try HTTPGitServer.start(env: env, root: env.path("served"))
        let proxy = try RateLimitProxy.start(env: env, upstreamPort: server.port)
        let upstream = try Upstream(env: env, servedRoot: server.root, name: "tool")
        try env.md("add", "tool", proxy.url(server.url("tool")))
        try proxy.limit(seconds: 4, status: 403, reset: "reset", remaining: "0")
        let started = Date()
        let sync = try env.md("sync", "tool")
        #expect(sync.status == 0, "\(sync)")
        #expect(sync.stdout.contains("waits   tool: 127.0.0.1 rate-limited until"), "\(sync.stdout)")
        #expect(Date().timeIntervalSince(started) >= 2.5, "the sync waited for the reset")
        #expect(try runResults(env, "tool") == ["updated", "rate-limited"])
        let state = try #require(try mirrors(env)["tool"])
        #expect(state["consecutive_failures"] as? Int == 0)

        // A 403 without the quota headers is the refusal it says it is: a failure, counted.
        try upstream.commit("more.txt", "more\n")
        try upstream.push(["main"])
        try proxy.limit(seconds: 60, status: 403, reset: "none", remaining: "17")
        let refused = try env.md("sync", "tool")
        #expect(refused.status == 1, "\(refused)")
        #expect(refused.stdout.contains("FAILED") && refused.stdout.contains("403"), "\(refused.stdout)")
        let failed = try #require(try mirrors(env)["tool"])
        #expect(failed["status"] as? String == "failed")
        #expect(failed["consecutive_failures"] as? Int == 1)
        #expect(failed["rate_limited_until"] is NSNull)
    }

    @Test("--host-budget and request_budget: bad values are one line and exit 2")
    func badBudgets() throws {
        let env = try TestEnv("budgetbad")
        for bad in ["github.com", "github.com=lots/h", "github.com=100/fortnight", "=5/h", "github.com=0/h"] {
            let r = try env.md("daemon", "--host-budget", bad, "--listen", "127.0.0.1:\(Net.freePort())")
            #expect(r.status == 2, "\(bad): \(r)")
            #expect(r.stderr.split(separator: "\n").count == 1 && r.stderr.contains("--host-budget"), "\(bad): \(r.stderr)")
        }
        try FileManager.default.createDirectory(atPath: env.home, withIntermediateDirectories: true)
        try "[hosts.\"github.com\"]\nrequest_budget = \"many\"\n".write(toFile: env.home + "/config.toml", atomically: true, encoding: .utf8)
        let r = try env.md("daemon", "--listen", "127.0.0.1:\(Net.freePort())")
        #expect(r.status == 2, "\(r)")
        #expect(r.stderr.split(separator: "\n").count == 1 && r.stderr.contains("request_budget"), "\(r.stderr)")
    }
}

@Suite("rate limits from an LFS server")
struct LFSRateLimitTests {
    @Test("LFS batch and object requests answered with GitHub's exhausted quota: the LFS job waits for each reset, nothing fails, the objects arrive after it")
    func lfsQuota() throws {
        let env = try TestEnv("ratelimit-lfs")
        let up = try LFSUpstream(env: env, servedRoot: env.path("served"), name: "model", lfsURL: nil)
        try FileManager.default.createDirectory(atPath: env.path("data"), withIntermediateDirectories: true)
        var objects: [FaultServer.Object] = []
        for i in 0..<3 {
            let path = env.path("data/w\(i)")
            try LFSUpstream.random(30_000 + i).write(to: URL(fileURLWithPath: path))
            let oid = try LFSUpstream.sha256(file: path)
            objects.append(FaultServer.Object(oid: oid, size: Int64(30_000 + i), path: path, fault: i == 1 ? "quotaonce" : "ok"))
            try up.addText("w\(i).ptr", LFSUpstream.pointer(oid: oid, size: Int64(30_000 + i)))
        }
        try up.commit("weights")
        try up.push(["--no-verify", "--all"])
        let server = try FaultServer.start(env: env, objects: objects, batchFaults: ["quota"])
        try env.md("add", "model", up.bare, "--lfs-url", server.endpoint)

        let started = Date()
        let sync = try env.md("sync", "model")
        #expect(sync.status == 0, "\(sync)")
        #expect(sync.stdout.contains("waits   model: 127.0.0.1 rate-limited until"), "\(sync.stdout)")
        #expect(Date().timeIntervalSince(started) >= 4, "the LFS job waited for both resets")
        let status = try env.json(env.lfs("status", "model", "--json")) as! [String: Any]
        #expect(status["objects_present"] as? Int == 3, "\(status)")
        let mirror = try #require((try env.json(env.md("list", "--json")) as! [[String: Any]]).first)
        #expect(mirror["consecutive_failures"] as? Int == 0)
        #expect(mirror["status"] as? String == "ok")
        // The batch request met the quota once, was not retried in place, and asked again only after the
        // reset; the object that met it was asked for again after the second reset, and nothing failed.
        let requests = server.requests()
        let batches = requests.filter { ($0["path"] as? String) == "/lfs/objects/batch" }
        #expect(batches.compactMap { $0["status"] as? Int } == [429, 200, 200], "\(batches)")
        if batches.count >= 2, let t0 = batches[0]["t"] as? Double, let t1 = batches[1]["t"] as? Double {
            #expect(t1 - t0 >= 2.5, "asked again after the reset, \(t1 - t0) s later")
        }
        let gets = requests.filter { ($0["path"] as? String ?? "").hasPrefix("/obj/\(objects[1].oid)") }.compactMap { $0["status"] as? Int }
        #expect(gets == [403, 200], "\(gets)")
        #expect(try env.sql("SELECT COUNT(*) FROM event WHERE action = 'limit'") == [["2"]])
        #expect(try env.sql("SELECT COUNT(*) FROM lfs_object WHERE state = 'failed'") == [["0"]])
    }
}

@Suite("request budgets and transfer caps, end to end with the daemon")
struct BudgetAndCapTests {
    @Test("--host-budget 20/h with six mirrors due: two checks start, the other four are spread 200 s apart, none starts meanwhile")
    func budgetSpreadsChecks() throws {
        let env = try TestEnv("budget")
        let gitd = try GitDaemon.start(env: env, root: env.path("served"))
        let names = (1...6).map { "repo\($0)" }
        for name in names {
            _ = try Upstream(env: env, servedRoot: gitd.root, name: name, commits: 1)
            try env.md("add", name, gitd.url(name), "--interval", "1h")
        }
        _ = try DaemonProcess.start(env: env, extra: ["--host-budget", "127.0.0.1=20/h"])
        try eventually(timeout: 20, "two scheduled syncs done") {
            try env.sql("SELECT COUNT(*) FROM job WHERE state = 'succeeded' AND kind = 'sync'") == [["2"]]
        }
        Thread.sleep(forTimeInterval: 2)
        // Only the budget's burst started: no other job was queued.
        #expect(try env.sql("SELECT COUNT(*) FROM job WHERE kind = 'sync'") == [["2"]])
        let next = try env.sql("""
            SELECT (julianday(next_run_at) - julianday('now')) * 86400 FROM mirror_state
            WHERE last_success_at IS NULL ORDER BY next_run_at
            """).compactMap { $0.first.flatMap(Double.init) }
        #expect(next.count == 4)
        let gaps = zip(next.dropFirst(), next).map { $0 - $1 }
        #expect(gaps.allSatisfy { abs($0 - 200) < 5 }, "spread one refill interval apart: \(next)")
        #expect((next.first ?? 0) > 150, "the first deferred check waits for the refill: \(next)")
        let list = try env.md("list")
        #expect(list.stdout.contains("in 3m") || list.stdout.contains("in 2m"), "\(list.stdout)")
    }

    @Test("a running job shows the cap that binds it and the stall timeout, in 'jobs' and its JSON")
    func capVisible() throws {
        let env = try TestEnv("capvisible")
        let server = try HTTPGitServer.start(env: env, root: env.path("served"))
        let up = try Upstream(env: env, servedRoot: server.root, name: "big", commits: 1)
        FileManager.default.createFile(atPath: up.work + "/blob.bin", contents: Data((0..<(4 << 20)).map { _ in UInt8.random(in: 0...255) }))
        try Shell.git(["add", "blob.bin"], cwd: up.work)
        try Shell.git(["commit", "-q", "-m", "blob"], cwd: up.work)
        try up.push(["main"])
        try FileManager.default.createDirectory(atPath: env.home, withIntermediateDirectories: true)
        try "[engine]\nmax_rate = \"1MB/s\"\n[hosts.\"127.0.0.1\"]\nmax_rate = \"200KiB/s\"\n".write(toFile: env.home + "/config.toml", atomically: true, encoding: .utf8)
        try env.md("add", "big", server.url("big"), "--max-rate", "100KiB/s")
        _ = try DaemonProcess.start(env: env)
        var job: [String: Any] = [:]
        try eventually(timeout: 20, "the sync running with its cap recorded") {
            let jobs = try env.json(env.md("jobs", "--json")) as! [[String: Any]]
            job = jobs.first { $0["state"] as? String == "running" } ?? [:]
            return job["cap_rate"] is Int
        }
        #expect(job["cap_rate"] as? Int == 100 << 10, "the lowest cap: the mirror's, \(job)")
        #expect(job["cap_source"] as? String == "mirror")
        #expect(job["stall_timeout_seconds"] as? Int == 60)
        let text = try env.md("jobs").stdout
        #expect(text.contains("LIMIT") && text.contains("(mirror), stall 60s"), "\(text)")
        try env.md("edit", "big", "--max-rate", "none")
        try env.md("cancel", "big")
    }
}

@Suite("the dashboard while a host is rate-limited")
struct RateLimitDashboardTests {
    @Test("the header names the host once, each of its rows says 'rate-limited until HH:MM', and the rows go ok after the reset")
    func dashboardShowsTheLimit() throws {
        let env = try TestEnv("ratelimit-tui")
        let server = try HTTPGitServer.start(env: env, root: env.path("served"))
        let proxy = try RateLimitProxy.start(env: env, upstreamPort: server.port)
        for name in ["one", "two"] {
            _ = try Upstream(env: env, servedRoot: server.root, name: name)
            try env.md("add", name, proxy.url(server.url(name)))
        }
        let gitd = try GitDaemon.start(env: env, root: env.path("served-git"))
        _ = try Upstream(env: env, servedRoot: gitd.root, name: "elsewhere")
        try env.md("add", "elsewhere", "git://localhost:\(gitd.port)/elsewhere.git")
        try proxy.limit(seconds: 10, status: 429, reset: "retry-after")
        // The dashboard's own engine runs the scheduler: all three are due at once.
        let tui = try Tmux([TestEnv.binary, "--home", env.home], width: 160, height: 30)
        let screen = try tui.waitFor("both rows rate-limited", timeout: 15) { s in
            s.components(separatedBy: "\n").filter { $0.contains("rate-limited until") }.count >= 3
        }
        let header = screen.components(separatedBy: "\n").first ?? ""
        #expect(header.contains("127.0.0.1 rate-limited until"), "\(header)")
        #expect(header.components(separatedBy: "rate-limited").count == 2, "named once: \(header)")
        #expect(tui.line(containing: " one ", in: screen).contains("rate-limited until"), "\(screen)")
        #expect(tui.line(containing: " two ", in: screen).contains("rate-limited until"), "\(screen)")
        #expect(!tui.line(containing: "elsewhere", in: screen).contains("rate-limited"), "\(screen)")
        #expect(!screen.contains("failed") || header.contains("0 failed"), "\(screen)")
        // After the reset the syncs run by themselves; nothing is left saying rate-limited, nothing failed.
        let after = try tui.waitFor("both rows ok after the reset", timeout: 40) { s in
            !s.contains("rate-limited until") && tui.line(containing: " one ", in: s).contains(" ok ") && tui.line(containing: " two ", in: s).contains(" ok ")
        }
        #expect(after.components(separatedBy: "\n").first?.contains("0 failed") == true, "\(after)")
        try tui.send("q")
    }
}

import Foundation
import Testing

@Suite("the engine: jobs, daemon, scheduler, metrics, webhooks")
struct EngineTests {
    /// An upstream behind the rate-limited HTTP location, with a 24 MB commit not yet mirrored.
    func slowUpstreamWithPendingFetch(_ env: TestEnv) throws -> (HTTPGitServer, Upstream) {
        let server = try HTTPGitServer.start(env: env, root: env.path("served"), slowRate: "2m")
        let upstream = try Upstream(env: env, servedRoot: server.root, name: "big")
        try env.md("add", "big", server.url("big", path: "slow"))
        #expect(try env.md("sync", "big").status == 0)
        let blob = upstream.work + "/weights.bin"
        FileManager.default.createFile(atPath: blob, contents: Data((0..<(24 << 20)).map { _ in UInt8.random(in: 0...255) }))
        try Shell.git(["add", "weights.bin"], cwd: upstream.work)
        try Shell.git(["commit", "-q", "-m", "weights"], cwd: upstream.work)
        try upstream.push(["main"])
        return (server, upstream)
    }

    func waitForPackData(_ env: TestEnv, _ name: String) throws {
        let packDir = env.mirrorPath(name) + "/objects/pack"
        try eventually(timeout: 30, "pack data arriving for \(name)") {
            ((try? FileManager.default.contentsOfDirectory(atPath: packDir)) ?? []).contains { file in
                // git's index-pack receives into tmp_pack_*, libgit2's own indexer into pack_git2_*.
                guard file.hasPrefix("tmp_pack_") || file.hasPrefix("pack_git2_") else { return false }
                return ((try? FileManager.default.attributesOfItem(atPath: packDir + "/" + file)[.size] as? Int) ?? 0) > 1 << 20
            }
        }
    }

    @Test("SIGKILL of the daemon mid-sync: the restarted daemon resumes the job to success, with no lost or duplicate runs")
    func daemonKilledMidSync() throws {
        let env = try TestEnv("daemonkill")
        let (server, _) = try slowUpstreamWithPendingFetch(env)
        let refsBefore = try Upstream.refs(of: env.mirrorPath("big"))
        let daemon = try DaemonProcess.start(env: env)
        let queued = try env.md("sync", "big", "--no-wait")
        #expect(queued.status == 0)
        let jobId = try #require(queued.stdout.split(separator: "#").last?.split(separator: " ").first.map(String.init))
        try waitForPackData(env, "big")
        daemon.process.kill(SIGKILL, group: true)
        _ = daemon.process.wait()
        #expect(try Upstream.refs(of: env.mirrorPath("big")) == refsBefore)
        #expect(try env.sql("SELECT state, attempts FROM job WHERE id = \(jobId)") == [["running", "1"]])

        _ = try DaemonProcess.start(env: env)
        try eventually(timeout: 60, "job \(jobId) to finish") {
            try env.sql("SELECT state FROM job WHERE id = \(jobId)").first?.first == "succeeded"
        }
        #expect(try env.sql("SELECT attempts FROM job WHERE id = \(jobId)") == [["2"]])
        let runs = try env.sql("SELECT result, error FROM sync_run WHERE job_id = \(jobId) ORDER BY id")
        #expect(runs.count == 2, "one interrupted run and one successful run: \(runs)")
        #expect(runs.first?[0] == "failed" && runs.first?[1].contains("interrupted") == true)
        #expect(runs.last?[0] == "updated")
        let reference = env.path("reference.git")
        try Shell.git(["clone", "-q", "--mirror", server.url("big"), reference])
        #expect(try Upstream.refs(of: env.mirrorPath("big")) == Upstream.refs(of: reference))
    }

    @Test("a running sync cancelled mid-fetch ends cancelled within 2 s with refs unchanged")
    func cancelMidFetch() throws {
        let env = try TestEnv("cancel")
        _ = try slowUpstreamWithPendingFetch(env)
        let refsBefore = try Upstream.refs(of: env.mirrorPath("big"))
        let sync = try env.mdStart(["sync", "big"])
        try waitForPackData(env, "big")
        let cancelled = Date()
        let r = try env.md("cancel", "big")
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("is stopping"))
        let result = sync.wait()
        let took = Date().timeIntervalSince(cancelled)
        #expect(took < 2, "cancel took \(took) s")
        #expect(result.status == 1)
        #expect(result.stdout.contains("cancel  big: cancelled"), "\(result)")
        #expect(try env.sql("SELECT state FROM job ORDER BY id DESC LIMIT 1") == [["cancelled"]])
        #expect(try Upstream.refs(of: env.mirrorPath("big")) == refsBefore)
        #expect(try env.sql("SELECT result FROM sync_run ORDER BY id DESC LIMIT 1") == [["cancelled"]])
    }

    @Test("1,000 enqueues from 4 processes while the daemon syncs: no lock errors, every job accounted for")
    func enqueueUnderLoad() throws {
        let env = try TestEnv("load")
        let gitd = try GitDaemon.start(env: env, root: env.path("served"))
        var list = ""
        for i in 0..<20 {
            _ = try Upstream(env: env, servedRoot: gitd.root, name: "r\(i)", commits: 1)
            list += "[[mirror]]\nname = \"r\(i)\"\nupstream = \"\(gitd.url("r\(i)"))\"\n\n"
        }
        #expect(try env.md("import", "-", stdin: list).status == 0)
        _ = try DaemonProcess.start(env: env)
        let script = """
        set -e
        for i in $(seq 1 250); do "$BIN" sync --home "$HOME_DIR" --no-wait "r$(( (i + W) % 20 ))"; done
        """
        let workers = try (0..<4).map { w in
            try Shell.start("/bin/bash", ["-c", script], environment: ["BIN": TestEnv.binary, "HOME_DIR": env.home, "W": "\(w * 5)"])
        }
        var ids = Set<String>()
        for worker in workers {
            let r = worker.wait()
            #expect(r.status == 0, "\(r.stderr)")
            #expect(!r.stderr.contains("locked"))
            let lines = r.stdout.split(separator: "\n")
            #expect(lines.count == 250)
            for line in lines {
                if let id = line.split(separator: "#").last?.split(separator: " ").first { ids.insert(String(id)) }
            }
        }
        try eventually(timeout: 90, "queue drained") {
            try env.sql("SELECT count(*) FROM job WHERE state IN ('queued','running')") == [["0"]]
        }
        let states = try env.sql("SELECT state, count(*) FROM job WHERE id IN (\(ids.joined(separator: ","))) GROUP BY state")
        #expect(states == [["succeeded", "\(ids.count)"]])
        #expect(try env.sql("SELECT count(*) FROM sync_run WHERE job_id IS NOT NULL AND result NOT IN ('updated','up-to-date')") == [["0"]])
    }

    @Test("the scheduler syncs again on time, backs off a failing upstream, and pauses it after the threshold")
    func scheduler() throws {
        let env = try TestEnv("sched")
        try FileManager.default.createDirectory(atPath: env.home, withIntermediateDirectories: true)
        try "[engine]\nretry_base_seconds = 1\npause_after_failures = 4\n".write(toFile: env.home + "/config.toml", atomically: true, encoding: .utf8)
        let gitd = try GitDaemon.start(env: env, root: env.path("served"))
        _ = try Upstream(env: env, servedRoot: gitd.root, name: "good")
        try env.md("add", "good", gitd.url("good"), "--interval", "10s")
        try env.md("add", "bad", "git://127.0.0.1:\(Net.freePort())/bad.git", "--interval", "1h")
        _ = try DaemonProcess.start(env: env)

        try eventually(timeout: 40, "bad paused") {
            try env.sql("SELECT status FROM mirror_state JOIN mirror ON mirror.id = mirror_id WHERE name = 'bad'") == [["paused"]]
        }
        let epochs = "CAST(strftime('%s', started_at) AS REAL) + CAST(substr(started_at, 21) AS REAL) / 1000"
        let bad = try env.sql("SELECT \(epochs) FROM sync_run JOIN mirror ON mirror.id = mirror_id WHERE name = 'bad' ORDER BY sync_run.id").map { Double($0[0])! }
        #expect(bad.count == 4)
        let gaps = zip(bad.dropFirst(), bad).map { $0 - $1 }
        for (gap, expected) in zip(gaps, [1.0, 2.0, 4.0]) {
            #expect(gap >= expected - 0.05 && gap < expected + 1.0, "backoff gaps \(gaps)")
        }
        let show = try env.json(env.md("show", "bad", "--json")) as! [String: Any]
        #expect((show["paused_reason"] as? String ?? "").contains("4 consecutive failures"))
        #expect(show["next_run_at"] is NSNull)

        try eventually(timeout: 40, "good synced twice by the schedule") {
            try env.sql("SELECT count(*) FROM sync_run JOIN mirror ON mirror.id = mirror_id WHERE name = 'good' AND trigger = 'schedule'") == [["2"]]
        }
        let good = try env.sql("SELECT \(epochs) FROM sync_run JOIN mirror ON mirror.id = mirror_id WHERE name = 'good' ORDER BY sync_run.id").map { Double($0[0])! }
        let gap = good[1] - good[0]
        #expect(gap >= 10 && gap < 12.5, "interval 10s plus up to 1s jitter, got \(gap)")

        // resume: the mirror is due at once and retried.
        #expect(try env.md("resume", "bad").status == 0)
        try eventually(timeout: 10, "bad retried after resume") {
            try env.sql("SELECT count(*) FROM sync_run JOIN mirror ON mirror.id = mirror_id WHERE name = 'bad'") == [["5"]]
        }
    }

    @Test("/metrics parses as Prometheus text with the expected series")
    func metrics() throws {
        let env = try TestEnv("metrics")
        let gitd = try GitDaemon.start(env: env, root: env.path("served"))
        _ = try Upstream(env: env, servedRoot: gitd.root, name: "lib")
        try env.md("add", "lib", gitd.url("lib"))
        try env.md("add", "broken", "git://127.0.0.1:\(Net.freePort())/x.git")
        let daemon = try DaemonProcess.start(env: env)
        try eventually(timeout: 20, "both scheduled syncs done") {
            try env.sql("SELECT count(*) FROM job WHERE state IN ('succeeded','failed')") == [["2"]]
        }
        let scrape = try Curl.get(daemon.base + "/metrics")
        #expect(scrape.status == 200)
        let parser = """
            import sys, json
            from prometheus_client.parser import text_string_to_metric_families
            out = {}
            for family in text_string_to_metric_families(sys.stdin.read()):
                for s in family.samples:
                    out.setdefault(s.name, []).append([s.labels, s.value])
            print(json.dumps(out))
            """
        let parsed = try Shell.run(env.venvPython, ["-c", parser], stdin: scrape.body)
        #expect(parsed.status == 0, "\(parsed)")
        let series = try JSONSerialization.jsonObject(with: Data(parsed.stdout.utf8)) as! [String: [[Any]]]
        func value(_ name: String, _ labels: [String: String]) -> Double? {
            series[name]?.first { ($0[0] as? [String: String]) == labels }?[1] as? Double
        }
        #expect(value("mirrordeck_mirror_lag_seconds", ["mirror": "lib"]).map { $0 >= 0 && $0 < 60 } == true)
        #expect(value("mirrordeck_mirror_lag_seconds", ["mirror": "broken"]) == -1)
        #expect(value("mirrordeck_mirror_consecutive_failures", ["mirror": "broken"]) == 1)
        #expect(value("mirrordeck_mirror_behind_refs", ["mirror": "lib"]) == 0)
        #expect((value("mirrordeck_mirror_last_success_timestamp_seconds", ["mirror": "lib"]) ?? 0) > 1_700_000_000)
        #expect(value("mirrordeck_sync_results_total", ["result": "succeeded"]) == 1)
        #expect(value("mirrordeck_sync_results_total", ["result": "failed"]) == 1)
        #expect(value("mirrordeck_sync_duration_seconds_count", [:]) == 2)
        #expect(value("mirrordeck_queue_depth", ["kind": "sync"]) == 0)
        #expect(value("mirrordeck_lfs_bytes_fetched_total", [:]) != nil)
        #expect(value("mirrordeck_verify_results_total", ["result": "succeeded"]) != nil)
        // Two syncs: at least their claims, runs and ends were written, each changing rows.
        let transactions = try #require(value("mirrordeck_catalog_write_transactions_total", [:]))
        #expect(transactions >= 6)
        #expect((value("mirrordeck_catalog_rows_written_total", [:]) ?? 0) > transactions)
        // Idle, the daemon writes only its heartbeats (two transactions every 2 s).
        usleep(1_500_000)
        let later = try Curl.get(daemon.base + "/metrics").body
        let after = later.split(separator: "\n").first { $0.hasPrefix("mirrordeck_catalog_write_transactions_total ") }
            .flatMap { Double($0.split(separator: " ")[1]) }
        #expect(after.map { $0 - transactions <= 2 } == true, "idle writes: \(String(describing: after)) after \(transactions)")
    }

    @Test("GitHub webhooks: a signed push queues a sync within a second; bad, missing, replayed, unknown and huge are refused")
    func webhooks() throws {
        let env = try TestEnv("webhook")
        let gitd = try GitDaemon.start(env: env, root: env.path("served"))
        _ = try Upstream(env: env, servedRoot: gitd.root, name: "lib")
        try env.md("add", "lib", gitd.url("lib"), "--interval", "1d")
        let secret = "it's a secret to everybody"
        let daemon = try DaemonProcess.start(env: env, secret: secret)
        try eventually(timeout: 20, "first scheduled sync") {
            try env.sql("SELECT count(*) FROM job WHERE state = 'succeeded'") == [["1"]]
        }
        let url = daemon.base + "/webhook/github"
        func push(_ cloneURL: String, delivery: String, sign: Bool = true, badSignature: Bool = false) throws -> Curl.Response {
            let body = Data(#"{"ref":"refs/heads/main","repository":{"full_name":"team/lib","clone_url":"\#(cloneURL)"}}"#.utf8)
            var headers = ["X-GitHub-Event": "push", "X-GitHub-Delivery": delivery]
            if sign { headers["X-Hub-Signature-256"] = try Self.sign(body, secret: badSignature ? "wrong" : secret) }
            return try Curl.post(url, body: body, headers: headers)
        }

        let sent = Date()
        let good = try push(gitd.url("lib"), delivery: "d-1")
        #expect(good.status == 202, "\(good)")
        try eventually(timeout: 10, "webhook job queued") {
            try env.sql("SELECT count(*) FROM job WHERE trigger = 'webhook'") == [["1"]]
        }
        // Measured by the daemon's own clock (the job's created_at), not the test's process spawning.
        let epochs = "CAST(strftime('%s', created_at) AS REAL) + CAST(substr(created_at, 21) AS REAL) / 1000"
        let created = try #require(Double(try env.sql("SELECT \(epochs) FROM job WHERE trigger = 'webhook'")[0][0]))
        #expect(created - sent.timeIntervalSince1970 < 1, "queued \(created - sent.timeIntervalSince1970) s after the push was sent")
        #expect(try env.sql("SELECT actor FROM job WHERE trigger = 'webhook'") == [["github-webhook@127.0.0.1"]])

        let replay = try push(gitd.url("lib"), delivery: "d-1")
        #expect(replay.status == 200 && replay.body.contains("already handled"))
        let bad = try push(gitd.url("lib"), delivery: "d-2", badSignature: true)
        #expect(bad.status == 401)
        let missing = try push(gitd.url("lib"), delivery: "d-3", sign: false)
        #expect(missing.status == 401)
        let unknown = try push("https://example.org/team/other.git", delivery: "d-4")
        #expect(unknown.status == 404)
        let huge = Data(repeating: UInt8(ascii: "x"), count: 2 << 20)
        let tooBig = try Curl.post(url, body: huge, headers: ["X-GitHub-Event": "push", "X-Hub-Signature-256": try Self.sign(huge, secret: secret)])
        #expect(tooBig.status == 413)
        #expect(try env.sql("SELECT count(*) FROM job WHERE trigger = 'webhook'") == [["1"]])
        let rejections = try env.sql("SELECT message FROM event WHERE action = 'webhook' ORDER BY id").map { $0[0] }
        #expect(rejections.contains("rejected: bad signature"))
        #expect(rejections.contains("rejected: no X-Hub-Signature-256"))
        #expect(rejections.contains { $0.contains("no mirror has that upstream") })
    }

    static func sign(_ body: Data, secret: String) throws -> String {
        let file = NSTemporaryDirectory() + "/md-sign-\(UUID().uuidString)"
        FileManager.default.createFile(atPath: file, contents: body)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let r = try Shell.run("/usr/bin/openssl", ["dgst", "-sha256", "-hmac", secret, "-r", file])
        return "sha256=" + (r.stdout.split(separator: " ").first.map(String.init) ?? "")
    }
}

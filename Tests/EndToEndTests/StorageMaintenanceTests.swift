import Foundation
import Testing

/// Clones a repository over and over on a thread of its own until stopped, counting what happened.
final class CloneLoop: @unchecked Sendable {
    private let lock = NSLock()
    private var stopRequested = false
    private var done = false
    private(set) var succeeded = 0
    private(set) var failures: [String] = []

    init(url: String, scratch: String) {
        let thread = Thread { [self] in
            var i = 0
            while !isStopping {
                i += 1
                let dest = scratch + "/clone-\(i)"
                do {
                    try Shell.git(["clone", "-q", "--bare", url, dest])
                    _ = try Shell.git(["rev-list", "--count", "--all"], cwd: dest)
                    lock.lock(); succeeded += 1; lock.unlock()
                } catch {
                    lock.lock(); failures.append("\(error)"); lock.unlock()
                }
                try? FileManager.default.removeItem(atPath: dest)
            }
            lock.lock(); done = true; lock.unlock()
        }
        thread.start()
    }

    private var isStopping: Bool { lock.lock(); defer { lock.unlock() }; return stopRequested }

    /// Stops after the clone in flight and waits for it.
    func stop() {
        lock.lock(); stopRequested = true; lock.unlock()
        while true {
            lock.lock(); let finished = done; lock.unlock()
            if finished { return }
            usleep(10_000)
        }
    }
}

@Suite("storage over time: git maintenance")
struct StorageMaintenanceTests {
    /// Adds one commit to `main` of a bare repository with `git fast-import` (one process, no work tree):
    /// a new file of about 6 KiB that compresses poorly, so packs have real content.
    static func addCommit(bare: String, index: Int) throws {
        var content = ""
        var x = UInt64(index) &* 0x9E37_79B9_7F4A_7C15 | 1
        for _ in 0..<400 {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            content += String(x, radix: 16) + "\n"
        }
        let message = "commit \(index)\n"
        let stream = """
            commit refs/heads/main
            committer Test <test@example.org> \(1_700_000_000 + index) +0000
            data \(message.utf8.count)
            \(message)from refs/heads/main^0
            M 644 inline data/f\(index).txt
            data \(content.utf8.count)
            \(content)

            """
        let r = try Shell.run("/usr/bin/git", ["fast-import", "--quiet"], cwd: bare, stdin: stream)
        guard r.status == 0 else { throw TestFailure.message("fast-import failed: \(r)") }
    }

    static func packFiles(_ repo: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: repo + "/objects/pack")) ?? []).sorted()
    }

    @Test("300 incremental syncs queue maintenance; after it one pack with a bitmap, fsck clean, refs unchanged, clones succeed throughout")
    func incrementalSyncsThenRepack() throws {
        let env = try TestEnv("maint")
        let daemon = try GitDaemon.start(env: env, root: env.path("served"))
        let upstream = try Upstream(env: env, servedRoot: daemon.root, name: "lib")
        try env.md("add", "lib", daemon.url("lib"))
        let first = try env.md("sync", "lib")
        #expect(first.status == 0, "\(first)")
        let started = Date()
        for i in 1...300 {
            try Self.addCommit(bare: upstream.bare, index: i)
            let r = try env.md("sync", "lib")
            guard r.status == 0 else { throw TestFailure.message("sync \(i) failed: \(r)") }
        }
        let syncSeconds = Date().timeIntervalSince(started)
        let mirror = env.mirrorPath("lib")
        let packsBefore = Self.packFiles(mirror).filter { $0.hasSuffix(".pack") }.count
        #expect(packsBefore > 300, "each incremental fetch adds a pack (\(packsBefore))")
        // The sync that left more than 20 packs queued a scheduled maintain job (the CLI's engine runs only
        // its own syncs, so it waits for whoever runs the queue).
        let queued = try env.sql("SELECT trigger, actor, state FROM job WHERE kind = 'maintain'")
        #expect(queued == [["schedule", "scheduler", "queued"]], "\(queued)")
        let due = try env.sql("SELECT maintenance_due FROM mirror_storage")
        #expect(due.first?.first?.hasSuffix("packs (more than 20)") == true, "\(due)")
        let refsBefore = try Upstream.refs(of: mirror)
        func directorySize(_ path: String) -> Int { (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0 }
        let packDirBefore = directorySize(mirror + "/objects/pack")
        #expect(packDirBefore > 16 << 10, "\(packsBefore) packs grew objects/pack to \(packDirBefore) bytes")

        let loop = CloneLoop(url: "file://" + mirror, scratch: env.path("clones"))
        try eventually(timeout: 30, "a first clone") { loop.succeeded >= 1 || !loop.failures.isEmpty }
        let clonesBefore = loop.succeeded
        let maintained = try env.md("maintain", "lib")
        try eventually(timeout: 30, "a clone after the repack") { loop.succeeded >= clonesBefore + 2 || !loop.failures.isEmpty }
        loop.stop()
        #expect(maintained.status == 0, "\(maintained)")
        #expect(maintained.stdout.contains("ok      lib:"), "\(maintained.stdout)")
        #expect(loop.failures.isEmpty, "clones failed during the repack: \(loop.failures.prefix(2))")
        #expect(loop.succeeded > clonesBefore, "clones ran through the repack")

        let files = Self.packFiles(mirror)
        #expect(files.filter { $0.hasSuffix(".pack") }.count == 1, "\(files)")
        #expect(files.filter { $0.hasSuffix(".bitmap") }.count == 1, "\(files)")
        #expect(FileManager.default.fileExists(atPath: mirror + "/objects/info/commit-graph"))
        // The directory that held 900 entries was swapped for a fresh one, with clones running.
        #expect(directorySize(mirror + "/objects/pack") <= 16 << 10, "objects/pack compacted from \(packDirBefore) bytes")
        #expect(!FileManager.default.fileExists(atPath: mirror + "/objects/pack.compact"))
        _ = try Shell.git(["fsck", "--full", "--no-progress"], cwd: mirror)
        #expect(try Upstream.refs(of: mirror) == refsBefore)
        #expect(try Upstream.refs(of: mirror) == Upstream.refs(of: upstream.bare))
        #expect(try Shell.git(["config", "gc.auto"], cwd: mirror) == "0")
        // The queued job was the one that ran: one maintain job, one run, one event with its actor.
        let runs = try env.sql("SELECT result, trigger, packs_after, loose_after FROM maintenance_run")
        #expect(runs == [["succeeded", "schedule", "1", "0"]], "\(runs)")
        let events = try env.sql("SELECT actor, message FROM event WHERE action = 'maintain'")
        #expect(events.count == 1 && events[0][1].contains("packs (more than 20)"), "\(events)")
        let storage = try env.sql("SELECT packs, maintenance_due IS NULL FROM mirror_storage")
        #expect(storage == [["1", "1"]], "\(storage)")
        // A sync after maintenance is up to date and the mirror still matches upstream.
        let after = try env.md("sync", "lib")
        #expect(after.status == 0 && after.stdout.contains("up to date"), "\(after)")
        print("300 incremental syncs: \(String(format: "%.1f", syncSeconds)) s; \(packsBefore) packs → 1; \(loop.succeeded) clones, none failed")
    }

    @Test("after a force-push, unreachable objects survive maintenance within the grace period and go after it")
    func unreachableObjectsGraceperiod() throws {
        let env = try TestEnv("grace")
        let daemon = try GitDaemon.start(env: env, root: env.path("served"))
        let upstream = try Upstream(env: env, servedRoot: daemon.root, name: "lib")
        try env.md("add", "lib", daemon.url("lib"))
        try upstream.commit("doomed.txt", "soon unreachable\n")
        try upstream.push(["main"])
        #expect(try env.md("sync", "lib").status == 0)
        let doomed = try Shell.git(["rev-parse", "HEAD"], cwd: upstream.work)
        let doomedBlob = try Shell.git(["rev-parse", "HEAD:doomed.txt"], cwd: upstream.work)
        try Shell.git(["reset", "-q", "--hard", "HEAD~1"], cwd: upstream.work)
        try upstream.commit("other.txt", "new history\n")
        try upstream.push(["--force", "main"])
        #expect(try env.md("sync", "lib").status == 0)
        let mirror = env.mirrorPath("lib")
        let exists = { (oid: String) in (try? Shell.run("/usr/bin/git", ["cat-file", "-e", oid], cwd: mirror).status) == 0 }
        #expect(exists(doomed) && exists(doomedBlob))

        let kept = try env.md("maintain", "lib", "--grace", "1h")
        #expect(kept.status == 0, "\(kept)")
        #expect(exists(doomed) && exists(doomedBlob), "unreachable objects younger than the grace period stay")
        #expect(Self.packFiles(mirror).contains { $0.hasSuffix(".mtimes") }, "they wait in a cruft pack")
        _ = try Shell.git(["fsck", "--full", "--no-progress"], cwd: mirror)

        sleep(2)
        let expired = try env.md("maintain", "lib", "--grace", "1s")
        #expect(expired.status == 0, "\(expired)")
        #expect(!exists(doomed) && !exists(doomedBlob), "unreachable objects older than the grace period are gone")
        #expect(!Self.packFiles(mirror).contains { $0.hasSuffix(".mtimes") })
        #expect(Self.packFiles(mirror).filter { $0.hasSuffix(".pack") }.count == 1)
        _ = try Shell.git(["fsck", "--full", "--no-progress"], cwd: mirror)
        #expect(try Upstream.refs(of: mirror) == Upstream.refs(of: upstream.bare))
        let grace = try env.sql("SELECT grace_seconds FROM maintenance_run ORDER BY id")
        #expect(grace == [["3600"], ["1"]], "\(grace)")
    }

    @Test("a daemon maintains a mirror by itself once syncs leave more than max_packs packs, and /metrics shows it")
    func daemonSchedulesMaintenance() throws {
        let env = try TestEnv("maintd")
        let gitd = try GitDaemon.start(env: env, root: env.path("served"))
        let upstream = try Upstream(env: env, servedRoot: gitd.root, name: "lib")
        try env.md("add", "lib", gitd.url("lib"))
        try "[maintenance]\nmax_packs = 2\n".write(toFile: env.home + "/config.toml", atomically: true, encoding: .utf8)
        let daemon = try DaemonProcess.start(env: env)
        try eventually(timeout: 30, "the first scheduled sync") {
            try env.sql("SELECT COUNT(*) FROM job WHERE kind = 'sync' AND state = 'succeeded'") == [["1"]]
        }
        for i in 1...3 {
            try Self.addCommit(bare: upstream.bare, index: i)
            let r = try env.md("sync", "lib")
            #expect(r.status == 0, "\(r)")
        }
        try eventually(timeout: 60, "a scheduled maintenance run by the daemon") {
            try env.sql("SELECT COUNT(*) FROM maintenance_run WHERE result = 'succeeded' AND trigger = 'schedule' AND actor = 'scheduler'") != [["0"]]
        }
        try eventually(timeout: 30, "no maintain job left running") {
            try env.sql("SELECT COUNT(*) FROM job WHERE kind = 'maintain' AND state IN ('queued', 'running')") == [["0"]]
        }
        let reason = try env.sql("SELECT reason FROM maintenance_run ORDER BY id LIMIT 1")
        #expect(reason.first?.first?.hasSuffix("packs (more than 2)") == true, "\(reason)")
        #expect(try Upstream.refs(of: env.mirrorPath("lib")) == Upstream.refs(of: upstream.bare))
        _ = try Shell.git(["fsck", "--full", "--no-progress"], cwd: env.mirrorPath("lib"))

        let scrape = try Curl.get(daemon.base + "/metrics")
        #expect(scrape.status == 200)
        let lines = scrape.body.split(separator: "\n").map(String.init)
        func value(_ prefix: String) -> Double? {
            lines.first { $0.hasPrefix(prefix + " ") }.flatMap { Double($0.split(separator: " ").last!) }
        }
        #expect((value("mirrordeck_maintain_results_total{result=\"succeeded\"}") ?? 0) >= 1, "\(scrape.body)")
        #expect(value("mirrordeck_mirror_git_packs{mirror=\"lib\"}") != nil)
        #expect((value("mirrordeck_home_free_bytes") ?? 0) > 0)
        #expect((value("mirrordeck_home_size_bytes") ?? 0) >= (value("mirrordeck_home_free_bytes") ?? .infinity))
    }

    @Test("outside the maintenance window a due mirror only waits: nothing is queued")
    func windowClosed() throws {
        let env = try TestEnv("maintw")
        let gitd = try GitDaemon.start(env: env, root: env.path("served"))
        let upstream = try Upstream(env: env, servedRoot: gitd.root, name: "lib")
        try env.md("add", "lib", gitd.url("lib"))
        // A one-hour window starting two hours from now (local time, as the daemon reads it).
        let hour = Calendar.current.component(.hour, from: Date())
        let window = String(format: "%02d:00-%02d:00", (hour + 2) % 24, (hour + 3) % 24)
        try "[maintenance]\nmax_packs = 2\nwindow = \"\(window)\"\n".write(toFile: env.home + "/config.toml", atomically: true, encoding: .utf8)
        _ = try DaemonProcess.start(env: env)
        try eventually(timeout: 30, "the first scheduled sync") {
            try env.sql("SELECT COUNT(*) FROM job WHERE kind = 'sync' AND state = 'succeeded'") == [["1"]]
        }
        for i in 1...3 {
            try Self.addCommit(bare: upstream.bare, index: i)
            #expect(try env.md("sync", "lib").status == 0)
        }
        let due = try env.sql("SELECT maintenance_due FROM mirror_storage")
        #expect(due.first?.first == "4 packs (more than 2)", "\(due)")
        usleep(500_000)
        #expect(try env.sql("SELECT COUNT(*) FROM job WHERE kind = 'maintain'") == [["0"]])
        #expect(try env.sql("SELECT COUNT(*) FROM maintenance_run") == [["0"]])
    }

    @Test("maintain: --dry-run changes nothing; bad input is one line, exit 2, nothing queued")
    func dryRunAndBadInput() throws {
        let env = try TestEnv("maintbad")
        let daemon = try GitDaemon.start(env: env, root: env.path("served"))
        _ = try Upstream(env: env, servedRoot: daemon.root, name: "lib")
        try env.md("add", "lib", daemon.url("lib"))
        try env.md("add", "never", daemon.url("lib"))
        #expect(try env.md("sync", "lib").status == 0)
        let mirror = env.mirrorPath("lib")
        let before = Self.packFiles(mirror)

        let dry = try env.md("maintain", "lib", "--dry-run")
        #expect(dry.status == 0, "\(dry)")
        #expect(dry.stdout.contains("would maintain lib: 1 pack(s)"), "\(dry.stdout)")
        #expect(dry.stdout.contains("repack -a -d -b -q --cruft"), "\(dry.stdout)")
        #expect(Self.packFiles(mirror) == before)
        #expect(try env.sql("SELECT COUNT(*) FROM job WHERE kind = 'maintain'") == [["0"]])
        #expect(try env.sql("SELECT COUNT(*) FROM maintenance_run") == [["0"]])
        #expect((try? Shell.git(["config", "gc.auto"], cwd: mirror)) == nil, "a dry run does not even configure the mirror")

        for (args, message) in [(["maintain"], "give mirror names or --all"),
                                (["maintain", "nosuch"], "nosuch"),
                                (["maintain", "lib", "--grace", "soon"], "invalid --grace"),
                                (["maintain", "never"], "never been synced"),
                                (["daemon", "--maintenance-window", "2-5"], "invalid --maintenance-window")] {
            let r = try env.mdArgs(args)
            #expect(r.status == 2, "\(args): \(r)")
            #expect(r.stderr.split(separator: "\n").count == 1 && r.stderr.contains(message), "\(args): \(r.stderr)")
        }
        #expect(try env.sql("SELECT COUNT(*) FROM job WHERE kind = 'maintain'") == [["0"]])
        #expect(Self.packFiles(mirror) == before)
    }
}

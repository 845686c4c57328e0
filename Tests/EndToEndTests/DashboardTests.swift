import Foundation
import Testing

/// Screen tests: the real binary in a real terminal (tmux), driven by keys, checked by what the screen shows.
@Suite("the dashboard in a real terminal")
struct DashboardTests {
    /// A home with three mirrors of real upstreams behind git daemon, synced once, and one broken mirror.
    func homeWithMirrors(_ label: String) throws -> (TestEnv, GitDaemon) {
        let env = try TestEnv(label)
        let gitd = try GitDaemon.start(env: env, root: env.path("served"))
        for name in ["alpha", "beta", "gamma"] {
            _ = try Upstream(env: env, servedRoot: gitd.root, name: name, commits: 2)
            try env.md("add", name, gitd.url(name), "--interval", "1h")
        }
        try env.md("add", "broken", "git://127.0.0.1:\(Net.freePort())/broken.git", "--interval", "1h")
        _ = try env.md("sync", "--all")
        return (env, gitd)
    }

    func dashboard(_ env: TestEnv, _ args: [String] = [], width: Int = 120, height: Int = 30,
                   environment: [String: String] = [:]) throws -> Tmux {
        try Tmux([TestEnv.binary, "--home", env.home] + args, width: width, height: height, environment: environment)
    }

    @Test("without a terminal it refuses with a one-line error, exit 2, and creates nothing")
    func noTerminal() throws {
        let env = try TestEnv("dash-notty")
        let r = try env.md("dashboard")
        #expect(r.status == 2)
        #expect(r.stderr == "mirrordeck: error: the dashboard needs a terminal on stdin and stdout: run it in a terminal, or use 'mirrordeck list'\n")
        #expect(!FileManager.default.fileExists(atPath: env.home))
    }

    @Test("it opens on real mirrors, sorts, filters and opens the detail view")
    func browse() throws {
        let (env, _) = try homeWithMirrors("dash-browse")
        let t = try dashboard(env)
        let first = try t.waitFor("all four mirrors") { $0.contains("alpha") && $0.contains("broken") && $0.contains("gamma") }
        #expect(first.contains("4 mirrors"))
        #expect(first.contains("1 failed"))
        #expect(first.contains("NAME▲"))
        #expect(t.line(containing: "broken", in: first).contains("failed"))
        #expect(t.line(containing: "alpha", in: first).contains("ok"))

        try t.type(":sort fails desc")
        try t.send("Enter")
        let sorted = try t.waitFor("sorted by failures") { $0.contains("FAILS▼") }
        let rows = sorted.split(separator: "\n").filter { $0.contains("alpha") || $0.contains("broken") }
        #expect(rows.first?.contains("broken") == true, "failed mirror first: \(rows)")

        try t.send("/")
        try t.type("!fail")
        // The events strip below the table may name the failed mirror too: look at the table only.
        let filtered = try t.waitFor("failed mirror filtered out") { !t.table(in: $0).contains("broken") && t.table(in: $0).contains("alpha") }
        #expect(filtered.contains("3 of 4"))
        try t.send("Enter", "Escape")
        try t.waitFor("filter cleared") { t.table(in: $0).contains("broken") }

        try t.send("g", "Enter")
        let detail = try t.waitFor("detail view with runs") { $0.contains("Recent runs") && $0.contains("STARTED") }
        #expect(detail.contains("upstream"))
        #expect(detail.contains("fresh as of"))
        try t.send("Escape")
        try t.waitFor("back to the table") { $0.contains("NAME") && $0.contains("gamma") }
        try t.send("q")
        try eventually(timeout: 10, "dashboard exits on q") { t.exited }
    }

    @Test("s queues a sync: the row goes syncing with progress in the jobs panel, then ok")
    func syncWithProgress() throws {
        let env = try TestEnv("dash-sync")
        // 512 KiB/s: the 5 MiB transfer lasts about 10 s, long enough for polls to land in it on a busy machine.
        let server = try HTTPGitServer.start(env: env, root: env.path("served"), slowRate: "512k")
        let upstream = try Upstream(env: env, servedRoot: server.root, name: "big")
        try env.md("add", "big", server.url("big", path: "slow"), "--interval", "1h")
        #expect(try env.md("sync", "big").status == 0)
        FileManager.default.createFile(atPath: upstream.work + "/blob.bin", contents: Data((0..<(5 << 20)).map { _ in UInt8.random(in: 0...255) }))
        try Shell.git(["add", "blob.bin"], cwd: upstream.work)
        try Shell.git(["commit", "-q", "-m", "blob"], cwd: upstream.work)
        try upstream.push(["main"])

        let t = try dashboard(env)
        try t.waitFor("the mirror") { $0.contains("big") && $0.contains("engine: embedded") }
        try t.send("s")
        // What the row and the jobs panel show is gathered across polls until the sync is over, then
        // checked: each must have shown the sync while it ran. Waiting for a transient state to be on one
        // screen made a poll that came too late wait out its timeout after the sync had ended. The end is
        // the row ok and the job gone from the panel: the sync records the mirror as ok and the engine
        // closes the job in a later commit, so a screen can show the one without the other.
        var rowsSeen: [String] = []
        var jobLinesSeen: [String] = []
        var sawSyncing = false
        var sawTransfer = false
        try t.waitFor("the sync to start and end", timeout: 60) { screen in
            let row = t.line(containing: " big ", in: screen)
            if rowsSeen.last != row { rowsSeen.append(row) }
            if row.contains("syncing") { sawSyncing = true }
            let job = t.line(containing: "sync   big", in: screen)
            if !job.isEmpty, jobLinesSeen.last != job { jobLinesSeen.append(job) }
            if job.contains("#") && job.contains("░") && (job.contains("KiB") || job.contains("MiB")) { sawTransfer = true }
            let started = sawSyncing || !jobLinesSeen.isEmpty
            return started && row.contains(" ok ") && screen.contains("no jobs queued or running")
        }
        #expect(sawSyncing, "the row never showed syncing; rows seen: \(rowsSeen)")
        #expect(sawTransfer, "the jobs panel never showed the transfer (bar and bytes); job lines seen: \(jobLinesSeen)")
        #expect(try env.sql("SELECT actor, trigger, state FROM job ORDER BY id DESC LIMIT 1").first?[1...] == ["manual", "succeeded"])
        try t.send("q")
    }

    @Test("the add form rejects an invalid name inline, then adds a valid mirror that syncs")
    func addMirror() throws {
        let (env, gitd) = try homeWithMirrors("dash-add")
        _ = try Upstream(env: env, servedRoot: gitd.root, name: "newone", commits: 1)
        let t = try dashboard(env)
        try t.waitFor("alpha")
        try t.send("a")
        try t.waitFor("Add a mirror")
        try t.type("bad name!")
        let rejected = try t.waitFor("inline error") { $0.contains("not a valid name") }
        #expect(rejected.contains("Add a mirror"))
        try t.send("Enter")
        try t.waitFor("still in the form") { $0.contains("Add a mirror") && $0.contains("not a valid name") }
        try t.send("C-u")
        try t.type("team/newone")
        try t.send("Tab")
        try t.type(gitd.url("newone"))
        // Every field is valid now (the interval defaults to 2h, LFS to auto): Enter adds the mirror.
        try t.send("Enter")
        try t.waitFor("added and synced", timeout: 20) { t.line(containing: "team/newone", in: $0).contains(" ok ") }
        #expect(try env.sql("SELECT actor, action FROM event WHERE mirror = 'team/newone' AND action = 'add'").count == 1)
        try t.send("q")
    }

    @Test("delete asks for the name typed exactly, keeps the data unless ticked, and records who did it")
    func deleteMirror() throws {
        let (env, _) = try homeWithMirrors("dash-del")
        let t = try dashboard(env)
        try t.waitFor("beta")
        try t.send("j")
        try t.send("d")
        try t.waitFor("Delete mirror beta")
        try t.type("bet")
        try t.send("Enter")
        try t.waitFor("refused") { $0.contains("type the mirror's name exactly") }
        #expect(FileManager.default.fileExists(atPath: env.mirrorPath("beta")))
        try t.type("a")
        try t.send("Enter")
        try t.waitFor("deleted") { $0.contains("deleted beta") && !t.table(in: $0).contains(" beta ") }
        #expect(try env.sql("SELECT count(*) FROM mirror WHERE name = 'beta'") == [["0"]])
        #expect(FileManager.default.fileExists(atPath: env.mirrorPath("beta")), "data kept by default")
        #expect(try env.sql("SELECT source FROM event WHERE action = 'remove' AND mirror = 'beta'") == [["local"]])

        try t.send("d")
        try t.waitFor("Delete mirror broken")
        try t.type("broken")
        try t.send("Tab", "Space", "Enter")
        try t.waitFor("deleted with data") { $0.contains("deleted broken and its data") }
        try t.send("q")
    }

    @Test("--read-only refuses every action and says why")
    func readOnly() throws {
        let (env, _) = try homeWithMirrors("dash-ro")
        let before = try env.sql("SELECT count(*) FROM job")
        let t = try dashboard(env, ["--read-only"])
        let screen = try t.waitFor("alpha")
        #expect(screen.contains("READ-ONLY"))
        #expect(screen.contains("engine: none"))
        for key in ["s", "S", "v", "p", "c", "a", "d"] {
            try t.send(key)
            try t.waitFor("refusal for \(key)") { $0.contains("read-only: started with --read-only") }
            try t.send("Escape")
        }
        #expect(!(try t.screen()).contains("Add a mirror"))
        #expect(try env.sql("SELECT count(*) FROM job") == before)
        try t.send("q")
    }

    @Test("resizing from 200×50 to 60×15 to 30×8 and back re-lays out at once; too small still quits on q")
    func resize() throws {
        let (env, _) = try homeWithMirrors("dash-resize")
        let t = try dashboard(env, width: 200, height: 50)
        let wide = try t.waitFor("wide layout") { $0.contains("UPSTREAM") && $0.contains("Events") }
        #expect(wide.contains("SIZE") && wide.contains("LFS"))
        try t.resize(width: 60, height: 15)
        let narrow = try t.waitFor("narrow layout") { !$0.contains("UPSTREAM") && $0.contains("NAME") }
        #expect(!narrow.contains("SIZE"))
        #expect(narrow.split(separator: "\n").allSatisfy { $0.count <= 60 })
        #expect(narrow.contains("alpha"))
        try t.resize(width: 30, height: 8)
        let tiny = try t.waitFor("too small") { $0.contains("terminal too small") }
        #expect(tiny.contains("need 40×10"))
        try t.resize(width: 200, height: 50)
        try t.waitFor("wide again") { $0.contains("UPSTREAM") && $0.contains("alpha") }
        try t.resize(width: 30, height: 8)
        try t.waitFor("too small again") { $0.contains("terminal too small") }
        try t.send("q")
        try eventually(timeout: 10, "q quits from the too-small screen") { t.exited }
    }

    @Test("under LANG=C (and with --ascii) the screen is plain ASCII")
    func ascii() throws {
        let (env, _) = try homeWithMirrors("dash-ascii")
        for (args, environment) in [([String](), ["LANG": "C", "LC_ALL": "C"]), (["--ascii"], ["LANG": "C.UTF-8"])] {
            let t = try dashboard(env, args, environment: environment)
            // Wait for the whole frame (a capture can land while tmux is still taking in the first one).
            let screen = try t.waitFor("a full frame in ASCII") { $0.contains("alpha") && $0.contains("NAME^") && $0.contains("q quit") }
            #expect(screen.unicodeScalars.allSatisfy { $0.value < 128 }, "non-ASCII on screen:\n\(screen)")
            #expect(screen.contains("- Jobs"))
            try t.send("q")
        }
    }

    @Test("it works with TERM=xterm, xterm-256color, screen, linux and vt100")
    func terms() throws {
        let (env, _) = try homeWithMirrors("dash-terms")
        for term in ["xterm", "xterm-256color", "screen", "linux", "vt100"] {
            let t = try dashboard(env, environment: ["TERM": term])
            let screen = try t.waitFor("mirrors under TERM=\(term)") { $0.contains("alpha") && $0.contains("q quit") }
            #expect(screen.contains("4 mirrors"), "TERM=\(term)")
            try t.send("Down", "Enter")
            try t.waitFor("detail under TERM=\(term)") { $0.contains("fresh as of") }
            try t.send("Escape", "q")
            try eventually(timeout: 10, "quit under TERM=\(term)") { t.exited }
        }
    }

    @Test("NO_COLOR turns colors off but failed rows still stand out by attributes")
    func noColor() throws {
        let (env, _) = try homeWithMirrors("dash-nocolor")
        let colored = try dashboard(env)
        try colored.waitFor("broken")
        let withColor = try colored.screenWithEscapes()
        #expect(withColor.contains("38;5;") || withColor.contains("[3"), "colors when allowed")
        try colored.send("q")

        let t = try dashboard(env, environment: ["NO_COLOR": "1"])
        try t.waitFor("broken")
        let escapes = try t.screenWithEscapes()
        let colorCodes = ["38;5;", "48;5;", "38;2;", "48;2;", "[31m", "[32m", "[33m", "[34m", "[35m", "[36m", "[41m", "[42m", "[44m"]
        #expect(!colorCodes.contains { escapes.contains($0) }, "no color codes under NO_COLOR")
        let brokenLine = escapes.split(separator: "\n").first { $0.contains("broken") } ?? ""
        #expect(brokenLine.contains("[1m") || brokenLine.contains(";1m") || brokenLine.contains("[7m"), "the failed row is bold: \(brokenLine)")
        try t.send("q")
    }

    @Test("a broken theme file is reported with its line, and the default theme is used")
    func brokenTheme() throws {
        let (env, _) = try homeWithMirrors("dash-theme")
        let file = env.path("mine.toml")
        try "name = \"mine\"\n[styles]\nbase = {}\nfailed = { fg = \"reed\" }\n".write(toFile: file, atomically: true, encoding: .utf8)
        let t = try dashboard(env, ["--theme", file])
        let screen = try t.waitFor("theme error") { $0.contains("line 4") }
        #expect(screen.contains("using the default theme: theme mine.toml line 4: 'reed' is not a color"))
        #expect(screen.contains("alpha"))
        try t.type(":theme solarized-dark")
        try t.send("Enter")
        try t.waitFor("theme switched") { $0.contains("theme solarized-dark") }
        try t.send("q")
    }

    // How fast the other dashboard shows a change is measured by scripts/bench-tui.sh, not here: on a
    // loaded machine tmux and capture-pane alone can take most of a second.
    @Test("two dashboards on one home: an action in one appears in the other without a key pressed there")
    func twoDashboards() throws {
        let (env, _) = try homeWithMirrors("dash-two")
        let a = try dashboard(env)
        let b = try dashboard(env)
        try a.waitFor("alpha")
        try b.waitFor("alpha")
        try a.send("p")
        try a.waitFor("paused in A") { $0.contains("paused alpha") }
        try b.waitFor("paused in B") { b.line(containing: "alpha", in: $0).contains("paused") }
        try b.send("p")
        try b.waitFor("resumed in B") { $0.contains("resumed alpha") }
        try a.waitFor("resumed seen in A") { !a.line(containing: "alpha", in: $0).contains("paused") }
        #expect(try env.sql("SELECT count(*) FROM event WHERE action IN ('pause', 'resume') AND mirror = 'alpha'") == [["2"]])
        try a.send("q")
        try b.send("q")
    }

    /// A home with one mirror behind a slow upstream (512 KiB/s) with 8 MiB to fetch: a sync of it runs for
    /// about 16 s.
    func homeWithSlowSync(_ label: String) throws -> (TestEnv, HTTPGitServer) {
        let env = try TestEnv(label)
        let server = try HTTPGitServer.start(env: env, root: env.path("served"), slowRate: "512k")
        let upstream = try Upstream(env: env, servedRoot: server.root, name: "big")
        try env.md("add", "big", server.url("big", path: "slow"), "--interval", "1h")
        #expect(try env.md("sync", "big").status == 0)
        FileManager.default.createFile(atPath: upstream.work + "/blob.bin", contents: Data((0..<(8 << 20)).map { _ in UInt8.random(in: 0...255) }))
        try Shell.git(["add", "blob.bin"], cwd: upstream.work)
        try Shell.git(["commit", "-q", "-m", "blob"], cwd: upstream.work)
        try upstream.push(["main"])
        return (env, server)
    }

    /// The pid holding the engine lease, once a job runs.
    func enginePid(_ env: TestEnv) throws -> Int32 {
        guard let pid = try env.sql("SELECT pid FROM engine_lease").first.flatMap({ Int32($0[0]) }) else {
            throw TestFailure.message("no engine lease while a job runs")
        }
        return pid
    }

    @Test("quitting with a job running says it will resume, the job goes back to the queue, and no engine process is left")
    func quitWithJobs() throws {
        let (env, _) = try homeWithSlowSync("dash-quit")
        let t = try dashboard(env)
        try t.waitFor("engine: embedded")
        try t.send("s")
        try t.waitFor("running", timeout: 20) { t.line(containing: "big", in: $0).contains("syncing") }
        let engine = try enginePid(env)
        #expect(engine != (try t.pid()), "the engine runs in the dashboard's own process")
        try t.send("q")
        try eventually(timeout: 15, "the dashboard exits") { t.exited }
        let farewell = try t.screenWithHistory()
        #expect(farewell.contains("1 job was running in the dashboard's engine: it is back in the queue and will resume on the next start"), "\(farewell)")
        #expect(try env.sql("SELECT state FROM job ORDER BY id DESC LIMIT 1") == [["queued"]])
        #expect(try env.sql("SELECT count(*) FROM engine_lease") == [["0"]])
        #expect(!ProcInfo.running(engine), "the engine child \(engine) still runs after the dashboard quit")
    }

    @Test("the engine runs in a child of the dashboard; killing the dashboard stops it, its job waits in the queue and resumes on the next start")
    func engineChildDiesWithDashboard() throws {
        let (env, _) = try homeWithSlowSync("dash-child")
        let t = try dashboard(env)
        try t.waitFor("engine: embedded")
        let dashboardPid = try t.pid()
        try t.send("s")
        try t.waitFor("running", timeout: 20) { t.line(containing: "big", in: $0).contains("syncing") }
        let engine = try enginePid(env)
        #expect(engine != dashboardPid)
        #expect(ProcInfo.of(engine)?.ppid == dashboardPid, "the engine \(engine) is not a child of the dashboard \(dashboardPid)")
        // The header names the engine's process.
        try t.waitFor("engine: embedded (pid \(engine))")

        kill(dashboardPid, SIGKILL)
        try eventually(timeout: 10, "the engine child exits after the dashboard was killed") { !ProcInfo.running(engine) }
        #expect(try env.sql("SELECT state FROM job ORDER BY id DESC LIMIT 1") == [["queued"]])
        #expect(try env.sql("SELECT count(*) FROM engine_lease") == [["0"]])

        let again = try dashboard(env)
        try again.waitFor("engine: embedded")
        try eventually(timeout: 20, "the job resumes under the new dashboard's engine") {
            try env.sql("SELECT state FROM job ORDER BY id DESC LIMIT 1") == [["running"]]
        }
        let second = try enginePid(env)
        #expect(second != engine)
        #expect(ProcInfo.of(second)?.ppid == (try again.pid()))
        try again.send("q")
        try eventually(timeout: 15, "the second dashboard exits") { again.exited }
        #expect(!ProcInfo.running(second), "the engine child \(second) still runs after the dashboard quit")
    }
}

import Foundation
@testable import MirrorCore
import Testing
@testable import MirrorTUI

@Suite("the renderer: what the frame holds at various sizes and modes")
struct RendererTests {
    @Test("the main view shows header counts, the table with a sort arrow, the jobs panel and the footer")
    func mainView() {
        let st = Fixture.state(Fixture.fleet, width: 120, height: 30)
        let c = Fixture.renderer.render(st)
        let header = c.text(row: 0)
        #expect(header.contains("5 mirrors"))
        #expect(header.contains("1 failed"))
        #expect(header.contains("engine: none"))
        #expect(c.text(row: 1).contains("NAME▲"))
        #expect(c.text.contains("team/delta"))
        #expect(c.text.contains("─ Jobs"))
        #expect(c.text(row: 29).contains("q quit"))
    }

    @Test("the header shows the home's free space, marked LOW below 10 % and CRITICAL below 5 %, which then never drops out")
    func diskSpace() {
        let gib: Int64 = 1 << 30
        for (free, expected) in [(Int64(50) * gib, "disk 50.0 GiB free"), (8 * gib, "disk 8.0 GiB free (LOW)"), (3 * gib, "disk 3.0 GiB free (CRITICAL)")] {
            var st = Fixture.state(Fixture.fleet, width: 200, height: 30)
            var snap = Snapshot(mirrors: Fixture.fleet)
            snap.disk = DiskSpace(freeBytes: free, totalBytes: 100 * gib)
            st.apply(snap)
            #expect(Fixture.renderer.render(st).text(row: 0).contains(expected), "\(Fixture.renderer.render(st).text(row: 0))")
            st.resize(width: 60, height: 30)
            let narrow = Fixture.renderer.render(st).text(row: 0)
            #expect(narrow.contains(expected) == (free < 10 * gib), "at 60 columns: \(narrow)")
        }
        #expect(Renderer.diskText(nil) == nil)
    }

    @Test("below 40×10 the frame says the terminal is too small and how big it must be")
    func tooSmall() {
        let c = Fixture.renderer.render(Fixture.state(Fixture.fleet, width: 30, height: 8))
        #expect(c.text.contains("terminal too small:"))
        #expect(c.text.contains("need 40×10"))
        #expect(c.text.contains("q quits"))
    }

    @Test("the footer's key hints always fit the width, keeping help and quit")
    func footer() {
        for width in [40, 60, 80, 120, 200] {
            let st = Fixture.state(Fixture.fleet, width: width, height: 20)
            let c = Fixture.renderer.render(st)
            let footer = c.text(row: 19)
            #expect(footer.contains("q quit"), "width \(width): \(footer)")
            #expect(footer.contains("? help"), "width \(width)")
            #expect(DisplayWidth.of(footer) == width)
        }
    }

    @Test("in ASCII mode the frame holds no character outside ASCII")
    func ascii() {
        var st = Fixture.state(Fixture.fleet, width: 100, height: 30)
        _ = st.handle(.char("?"))
        let r = Renderer(theme: .builtinDefault, glyphs: .plain)
        let c = r.render(st)
        #expect(c.text.unicodeScalars.allSatisfy { $0.value < 128 })
    }

    @Test("a running job shows phase, a progress bar, percentage, rate and ETA")
    func jobLine() {
        var job = Job(mirrorId: 1, kind: .sync, trigger: .manual, actor: .local)
        job.id = 12
        job.state = .running
        job.phase = "fetching"
        job.bytesDone = 45 << 20
        job.bytesTotal = 100 << 20
        job.rate = Double(5 << 20)
        let st = Fixture.state(Fixture.fleet, width: 120, height: 30, jobs: [JobSummary(job: job, mirror: "alpha")])
        let c = Fixture.renderer.render(st)
        let line = c.text(row: st.layout.jobsTop)
        #expect(line.contains("#12"))
        #expect(line.contains("fetching"))
        #expect(line.contains("█"))
        #expect(line.contains("45%"))
        #expect(line.contains("5.0 MiB/s"))
        #expect(line.contains("ETA 11s"))
    }

    @Test("the detail view shows upstream without credentials, the last error in full, and recent runs")
    func detail() {
        var s = Fixture.summary("beta", status: .failed, failures: 2, upstream: "https://bob:hunter2@example.org/beta.git")
        s.state.lastError = String(repeating: "a long error that must wrap across several lines ", count: 4) + "END"
        var st = Fixture.state([s], width: 80, height: 40)
        _ = st.handle(.enter)
        var run = SyncRun(mirrorId: 1, trigger: .manual, actor: "tester", startedAt: Fixture.now)
        run.result = .failed
        run.durationMs = 1500
        var snap = Snapshot(mirrors: [s])
        snap.detail = DetailData(mirrorName: "beta", runs: [run], lfsScan: nil, lastVerify: nil, path: "/h/mirrors/beta.git")
        st.apply(snap)
        let text = Fixture.renderer.render(st).text
        #expect(!text.contains("hunter2"))
        #expect(text.contains("***@example.org"))
        #expect(text.contains("END"))
        #expect(text.contains("Recent runs"))
        #expect(text.contains("1.5s"))
        #expect(text.contains("/h/mirrors/beta.git"))
    }

    @Test("unchanged state renders an identical frame (so an idle dashboard writes nothing)")
    func stable() {
        let st = Fixture.state(Fixture.fleet)
        #expect(Fixture.renderer.render(st) == Fixture.renderer.render(st))
    }
}

@Suite("the renderer: rate-limited hosts and transfer caps")
struct RendererLimitTests {
    func limitedState(width: Int = 160) -> DashboardState {
        let fleet = [
            Fixture.summary("org/one", id: 1, upstream: "https://github.com/org/one.git"),
            Fixture.summary("org/two", id: 2, status: .queued, upstream: "https://github.com/org/two.git"),
            Fixture.summary("local/three", id: 3, upstream: "https://git.example.org/three.git"),
        ]
        var st = Fixture.state(fleet, width: width, height: 30)
        var snap = Snapshot(mirrors: fleet)
        snap.hostLimits = [HostRateLimit(host: "github.com", until: Fixture.now.addingTimeInterval(180), status: 429, source: "Retry-After 180")]
        st.apply(snap)
        return st
    }

    @Test("a rate-limited host is named once in the header; each of its mirrors' rows says until when; other hosts' rows do not")
    func rateLimitedRows() {
        let st = limitedState()
        let c = Fixture.renderer.render(st)
        let until = Format.clock(Fixture.now.addingTimeInterval(180), time: .utc)
        let header = c.text(row: 0)
        #expect(header.components(separatedBy: "rate-limited").count == 2, "once: \(header)")
        #expect(header.contains("github.com rate-limited until \(until)"), "\(header)")
        let rows = (0..<c.height).map { c.text(row: $0) }
        let one = rows.first { $0.contains("org/one") } ?? ""
        let two = rows.first { $0.contains("org/two") } ?? ""
        let three = rows.first { $0.contains("local/three") } ?? ""
        #expect(one.contains("rate-limited until \(until)"), "\(one)")
        #expect(two.contains("rate-limited until \(until)"), "\(two)")
        #expect(!three.contains("rate-limited"), "\(three)")
        #expect(three.contains(" ok "), "\(three)")
    }

    @Test("after the reset nothing says rate-limited, even before the next catalog snapshot")
    func afterReset() {
        var st = limitedState()
        st.tick(Fixture.now.addingTimeInterval(181))
        #expect(!Fixture.renderer.render(st).text.contains("rate-limited"))
    }

    @Test("a running job's line shows the cap that binds it; the detail view the cap and the stall timeout")
    func capShown() {
        var job = Job(mirrorId: 1, kind: .sync, trigger: .manual, actor: .local)
        job.id = 7
        job.state = .running
        job.phase = "fetching"
        job.bytesDone = 10 << 20
        job.rate = Double(5 << 20)
        let summary = JobSummary(job: job, mirror: "org/one",
                                 limits: JobTransferLimits(cap: TransferCap(rate: 5 << 20, source: .host), stallTimeout: 60))
        var st = Fixture.state([Fixture.summary("org/one", id: 1, status: .syncing, upstream: "https://github.com/org/one.git")],
                               width: 160, height: 30, jobs: [summary])
        let line = Fixture.renderer.render(st).text(row: st.layout.jobsTop)
        #expect(line.contains("capped 5.0 MiB/s (host)"), "\(line)")
        _ = st.handle(.enter)
        let detail = Fixture.renderer.render(st).text
        #expect(detail.contains("capped 5.0 MiB/s (host)"), "\(detail)")
        #expect(detail.contains("stall timeout 60s"), "\(detail)")
    }
}

import Foundation
@testable import MirrorCore
import Testing
@testable import MirrorTUI

@Suite("keys: what each key does to the dashboard state and which actions it asks for")
struct StateTests {
    func type(_ text: String, into state: inout DashboardState) -> [DashboardState.Effect] {
        var effects: [DashboardState.Effect] = []
        for c in text { effects += state.handle(.char(c)) }
        return effects
    }

    @Test("s syncs the selected mirror; with marks, the marked ones")
    func sync() {
        var st = Fixture.state(Fixture.fleet)
        #expect(st.selected?.name == "alpha")
        #expect(st.handle(.char("s")) == [.perform(.sync(["alpha"]))])
        _ = st.handle(.char(" "))
        _ = st.handle(.down)
        _ = st.handle(.char(" "))
        #expect(st.marks == ["alpha", "epsilon"], "space marks and moves down; rows are sorted by name")
        let effects = st.handle(.char("s"))
        guard case let .perform(.sync(names)) = effects.first else { Issue.record("no sync"); return }
        #expect(Set(names) == st.marks)
    }

    @Test("S asks before syncing every stale or failed mirror, and n leaves the queue alone")
    func syncStale() {
        var st = Fixture.state(Fixture.fleet)
        #expect(st.handle(.char("S")).isEmpty)
        guard case let .confirm(c) = st.mode else { Issue.record("no confirmation"); return }
        #expect(c.action == .sync(["beta", "epsilon", "gamma"]) || Set({ if case let .sync(n) = c.action { return n } else { return [] } }()) == ["beta", "epsilon", "gamma"])
        #expect(st.handle(.char("n")).isEmpty)
        #expect(st.mode == .main)
        _ = st.handle(.char("S"))
        #expect(st.handle(.char("y")).count == 1)
    }

    @Test("V asks before verifying every mirror; v verifies the selection at once")
    func verify() {
        var st = Fixture.state(Fixture.fleet)
        #expect(st.handle(.char("v")) == [.perform(.verify(["alpha"]))])
        _ = st.handle(.char("V"))
        guard case .confirm = st.mode else { Issue.record("no confirmation"); return }
        guard case let .perform(.verify(all))? = st.handle(.enter).first else { Issue.record("no verify"); return }
        #expect(all.count == 5)
    }

    @Test("m maintains the selection at once; :maintain names mirrors; a viewer may not")
    func maintain() {
        var st = Fixture.state(Fixture.fleet)
        #expect(st.handle(.char("m")) == [.perform(.maintain(["alpha"]))])
        var viewer = Fixture.state(Fixture.fleet, policy: ReadOnlyPolicy(reason: "read-only"))
        #expect(viewer.handle(.char("m")).isEmpty)
        #expect(ActionKind.maintain.permission.requiredRole == .operator)
    }

    @Test("p pauses a running mirror and resumes a paused one")
    func pause() {
        var st = Fixture.state(Fixture.fleet)
        #expect(st.handle(.char("p")) == [.perform(.pause(["alpha"]))])
        _ = st.handle(.char("G"))
        #expect(st.selected?.name == "team/delta")
        #expect(st.handle(.char("p")) == [.perform(.resume(["team/delta"]))])
    }

    @Test("c cancels only mirrors that have a job, and says so otherwise")
    func cancel() {
        var st = Fixture.state(Fixture.fleet)
        #expect(st.handle(.char("c")).isEmpty)
        #expect(st.message?.isError == true)
        var job = Job(mirrorId: 1, kind: .sync, trigger: .manual, actor: .local)
        job.id = 7
        st.apply(Snapshot(mirrors: Fixture.fleet, jobs: [JobSummary(job: job, mirror: "alpha")]))
        #expect(st.handle(.char("c")) == [.perform(.cancel(["alpha"]))])
    }

    @Test("--read-only refuses every action key and says why; moving and filtering still work")
    func readOnly() {
        var st = Fixture.state(Fixture.fleet, policy: ReadOnlyPolicy())
        for key in ["s", "S", "v", "V", "p", "c", "a", "d"] {
            st.message = nil
            #expect(st.handle(.char(Character(key))).isEmpty, "key \(key)")
            #expect(st.mode == .main)
            #expect(st.message?.text.contains("read-only") == true, "key \(key)")
        }
        _ = st.handle(.down)
        #expect(st.selected?.name == "beta")
        #expect(st.runCommand("sync alpha").isEmpty)
        #expect(st.message?.isError == true)
    }

    @Test("/ filters as you type, Enter keeps it, Esc in the table clears it")
    func filter() {
        var st = Fixture.state(Fixture.fleet)
        _ = st.handle(.char("/"))
        _ = type("fail", into: &st)
        #expect(st.rows.map(\.name) == ["beta"])
        _ = st.handle(.enter)
        #expect(st.mode == .main)
        #expect(st.rows.count == 1)
        _ = st.handle(.escape)
        #expect(st.rows.count == 5)
        _ = st.handle(.char("/"))
        _ = type("!stale", into: &st)
        #expect(st.rows.map(\.name) == ["alpha", "team/delta"])
        _ = st.handle(.escape)
        #expect(st.rows.count == 5, "Esc in the filter line restores the previous filter")
    }

    @Test("command mode sorts, filters, switches themes, quits, and remembers its history")
    func commands() {
        var st = Fixture.state(Fixture.fleet)
        _ = st.handle(.char(":"))
        _ = type("sort lag desc", into: &st)
        _ = st.handle(.enter)
        #expect(st.sort == SortOrder(.lag, ascending: false))
        #expect(st.rows.first?.name == "epsilon")
        #expect(st.runCommand("filter failed").isEmpty)
        #expect(st.rows.map(\.name) == ["beta"])
        #expect(st.runCommand("theme light") == [.setTheme("light")])
        #expect(st.runCommand("sync beta") == [.perform(.sync(["beta"]))])
        #expect(st.runCommand("sync nope").isEmpty && st.message?.isError == true)
        #expect(st.runCommand("frobnicate").isEmpty && st.message?.text.contains("unknown command") == true)
        #expect(st.runCommand("q") == [.quit])
        _ = st.handle(.char(":"))
        _ = st.handle(.up)
        guard case let .command(field, _) = st.mode else { Issue.record("not in command mode"); return }
        #expect(field.text == "sort lag desc")
    }

    @Test("the add form rejects an invalid name inline and only submits a valid mirror")
    func addForm() {
        var st = Fixture.state(Fixture.fleet)
        _ = st.handle(.char("a"))
        _ = type("bad name", into: &st)
        guard case let .add(form) = st.mode else { Issue.record("no form"); return }
        #expect(form.error(.name)?.contains("not a valid name") == true)
        #expect(st.handle(.enter).isEmpty, "an invalid form does not submit")
        for _ in 0..<8 { _ = st.handle(.backspace) }
        _ = type("alpha", into: &st)
        guard case let .add(dup) = st.mode else { return }
        #expect(dup.error(.name)?.contains("already exists") == true)
        for _ in 0..<5 { _ = st.handle(.backspace) }
        _ = type("team/new", into: &st)
        _ = st.handle(.tab)
        _ = type("git://example.org/new.git", into: &st)
        _ = st.handle(.tab)
        _ = st.handle(.ctrl("u"))
        _ = type("30m", into: &st)
        _ = st.handle(.tab)
        _ = st.handle(.char(" "))
        let effects = st.handle(.enter)
        guard case let .perform(.add(mirror))? = effects.first else { Issue.record("not submitted: \(st.mode)"); return }
        #expect(mirror.name == "team/new" && mirror.intervalSeconds == 1800 && mirror.lfs == .on)
    }

    @Test("e opens the edit form filled in: the name is fixed, other settings survive, and only a valid form saves")
    func editForm() throws {
        var fleet = Fixture.fleet
        fleet[0].mirror.lfsURL = "https://lfs.example.org/alpha"
        fleet[0].mirror.prune = false
        var st = Fixture.state(fleet)
        _ = st.handle(.char("e"))
        guard case let .add(form) = st.mode else { Issue.record("no form: \(st.mode)"); return }
        #expect(form.isEditing && form.name.text == "alpha" && form.url.text == "https://example.org/alpha.git")
        #expect(form.interval.text == "2h" && form.focus == .url)
        #expect(form.error(.name) == nil, "its own name is not a duplicate")
        _ = st.handle(.tab)
        _ = st.handle(.tab)
        _ = st.handle(.tab)
        guard case let .add(wrapped) = st.mode else { return }
        #expect(wrapped.focus == .url, "Tab skips the fixed name")
        _ = st.handle(.tab)
        _ = st.handle(.ctrl("u"))
        _ = type("5s", into: &st)
        #expect(st.handle(.enter).isEmpty, "an interval under 10s does not save")
        _ = st.handle(.ctrl("u"))
        _ = type("15m", into: &st)
        let effects = st.handle(.enter)
        guard case let .perform(.edit(mirror))? = effects.first else { Issue.record("not saved: \(st.mode)"); return }
        #expect(mirror.name == "alpha" && mirror.id == 1 && mirror.intervalSeconds == 900)
        #expect(mirror.lfsURL == "https://lfs.example.org/alpha" && mirror.prune == false, "settings the form does not show stay")

        var viewer = Fixture.state(Fixture.fleet, policy: RolePolicy(role: .operator))
        #expect(viewer.handle(.char("e")).isEmpty && viewer.mode == .main)
        #expect(viewer.message?.text == "permission denied: edit mirrors needs the admin role (you are operator)")
    }

    @Test("delete needs the name typed exactly; data is kept unless the box is ticked")
    func delete() {
        var st = Fixture.state(Fixture.fleet)
        _ = st.handle(.char("d"))
        _ = type("alph", into: &st)
        #expect(st.handle(.enter).isEmpty)
        #expect(st.message?.isError == true)
        _ = type("a", into: &st)
        #expect(st.handle(.enter) == [.perform(.remove("alpha", deleteData: false))])
        _ = st.handle(.char("d"))
        _ = type("alpha", into: &st)
        _ = st.handle(.tab)
        _ = st.handle(.char(" "))
        #expect(st.handle(.enter) == [.perform(.remove("alpha", deleteData: true))])
    }

    @Test("Enter opens the detail view of the selected mirror; Esc returns to the table")
    func detail() {
        var st = Fixture.state(Fixture.fleet)
        _ = st.handle(.down)
        #expect(st.handle(.enter) == [.loadDetail("beta")])
        #expect(st.detailName == "beta")
        #expect(st.handle(.char("s")) == [.perform(.sync(["beta"]))])
        #expect(st.handle(.escape) == [.loadDetail(nil)])
        #expect(st.mode == .main)
    }

    @Test("the selection stays on the same mirror when rows move, and scrolling follows it through thousands of rows")
    func selectionAndScroll() {
        let many = (0..<5000).map { Fixture.summary(String(format: "m%05d", $0), id: Int64($0 + 1)) }
        var st = Fixture.state(many, width: 100, height: 30)
        _ = st.handle(.pageDown)
        _ = st.handle(.pageDown)
        let name = st.selected!.name
        #expect(st.cursor >= st.top && st.cursor < st.top + st.layout.tableRows)
        st.setSort(SortOrder(.name, ascending: false))
        #expect(st.selected?.name == name)
        #expect(st.cursor >= st.top && st.cursor < st.top + st.layout.tableRows)
        _ = st.handle(.end)
        #expect(st.selected?.name == "m00000")
        #expect(st.top == 5000 - st.layout.tableRows)
    }

    @Test("a snapshot where only jobs moved updates those rows' progress and keeps the order")
    func jobsOnly() {
        var st = Fixture.state(Fixture.fleet)
        st.setSort(SortOrder(.lag))
        let order = st.rows.map(\.name)
        var job = Job(mirrorId: 3, kind: .sync, trigger: .manual, actor: .local)
        job.id = 9
        job.state = .running
        job.unitsDone = 1
        job.unitsTotal = 4
        var snap = Snapshot(mirrors: Fixture.fleet, jobs: [JobSummary(job: job, mirror: "gamma")])
        snap.mirrorsChanged = false
        st.apply(snap)
        #expect(st.rows.map(\.name) == order)
        #expect(st.rows.first { $0.name == "gamma" }?.stateText == "ok 25%")
        snap.jobs = []
        st.apply(snap)
        #expect(st.rows.first { $0.name == "gamma" }?.job == nil)
        #expect(st.jobsByMirror.isEmpty)
    }

    @Test("rows a running job moved arrive apart from the list; they survive a minute tick and go with the next list")
    func updatedRows() {
        var st = Fixture.state(Fixture.fleet)
        #expect(st.counts.syncing == 0)
        var moved = Fixture.fleet[0]
        moved.state.status = .syncing
        moved.state.diskBytes = 5 << 20
        var snap = Snapshot(mirrors: Fixture.fleet)
        snap.mirrorsChanged = false
        snap.updated = [moved]
        st.apply(snap)
        #expect(st.rows.first { $0.name == "alpha" }?.status == .syncing)
        #expect(st.rows.first { $0.name == "alpha" }?.summary.state.diskBytes == 5 << 20)
        #expect(st.counts.syncing == 1)
        st.tick(Fixture.now.addingTimeInterval(60))
        #expect(st.rows.first { $0.name == "alpha" }?.status == .syncing, "a rebuild keeps the newer row")
        st.apply(Snapshot(mirrors: Fixture.fleet))
        #expect(st.rows.first { $0.name == "alpha" }?.status == .ok, "a new list replaces it")
        #expect(st.counts.syncing == 0)
    }

    @Test("with --mouse, a click selects a row, a double-click opens it, the wheel scrolls")
    func mouse() {
        var st = Fixture.state(Fixture.fleet)
        let top = st.layout.tableTop
        #expect(st.handle(.mouse(MouseEvent(kind: .click, row: top + 2, col: 5))).isEmpty)
        #expect(st.selected?.name == "epsilon")
        #expect(st.handle(.mouse(MouseEvent(kind: .wheelUp, row: 0, col: 0))).isEmpty)
        #expect(st.selected?.name == "alpha")
        #expect(st.handle(.mouse(MouseEvent(kind: .doubleClick, row: top + 1, col: 5))) == [.loadDetail("beta")])
        var other = Fixture.state(Fixture.fleet)
        #expect(other.handle(.mouse(MouseEvent(kind: .click, row: 0, col: 5))).isEmpty)
        #expect(other.selected?.name == "alpha", "a click outside the table selects nothing")
    }

    @Test("below the minimum size only q does anything")
    func tooSmall() {
        var st = Fixture.state(Fixture.fleet, width: 30, height: 8)
        #expect(st.layout.tooSmall)
        #expect(st.handle(.char("s")).isEmpty)
        #expect(st.handle(.char("q")) == [.quit])
    }
}

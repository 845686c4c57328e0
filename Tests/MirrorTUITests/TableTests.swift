import Foundation
@testable import MirrorCore
import Testing
@testable import MirrorTUI

@Suite("the mirror table: column dropping, sorting and filtering")
struct TableTests {
    @Test("on a wide terminal every column shows, and the row fills the width exactly")
    func wide() {
        let placed = TableLayout.place(width: 200)
        #expect(placed.map(\.column) == MirrorColumn.allCases)
        let last = placed.last!
        #expect(last.x + last.width == 200)
    }

    @Test("columns drop by priority as the terminal narrows: upstream, size, LFS, last, next go first; name and lag stay")
    func narrow() {
        #expect(!TableLayout.place(width: 100).map(\.column).contains(.upstream))
        let at60 = TableLayout.place(width: 60).map(\.column)
        #expect(at60 == [.status, .name, .state, .lag, .next, .behind, .fails])
        let at40 = TableLayout.place(width: 40).map(\.column)
        #expect(at40.contains(.name) && at40.contains(.lag) && at40.contains(.status))
        #expect(!at40.contains(.size) && !at40.contains(.lfs))
        for width in [40, 55, 60, 80, 100, 120, 160, 200] {
            let p = TableLayout.place(width: width)
            #expect(p.last!.x + p.last!.width <= width, "width \(width)")
        }
    }

    @Test("long names win room from the least important columns, up to 20 columns")
    func longNames() {
        let short = TableLayout.place(width: 80).map(\.column)
        #expect(short.contains(.lfs))
        let long = TableLayout.place(width: 80, longestName: 17)
        #expect(!long.map(\.column).contains(.lfs))
        #expect(long.first { $0.column == .name }!.width >= 17)
    }

    @Test("sorting by lag puts never-synced mirrors last, and descending reverses it")
    func sortByLag() {
        let rows = Fixture.rows(Fixture.fleet)
        let asc = MirrorQuery.sort(rows, order: SortOrder(.lag), now: Fixture.now).map(\.name)
        #expect(asc == ["alpha", "team/delta", "beta", "gamma", "epsilon"])
        let desc = MirrorQuery.sort(rows, order: SortOrder(.lag, ascending: false), now: Fixture.now).map(\.name)
        #expect(desc == ["epsilon", "gamma", "beta", "team/delta", "alpha"])
    }

    @Test("sorting by status puts failures first, then stale mirrors; ties go by name")
    func sortByStatus() {
        let rows = Fixture.rows(Fixture.fleet)
        let names = MirrorQuery.sort(rows, order: SortOrder(.status), now: Fixture.now).map(\.name)
        #expect(names.first == "beta")
        #expect(names[1] == "gamma")
        #expect(names.last == "alpha")
    }

    @Test("sort names parse with synonyms and directions")
    func sortParse() {
        #expect(SortOrder.parse("lag") == SortOrder(.lag))
        #expect(SortOrder.parse("lag desc") == SortOrder(.lag, ascending: false))
        #expect(SortOrder.parse("-failures") == SortOrder(.fails, ascending: false))
        #expect(SortOrder.parse("colour") == nil)
    }

    @Test("the filter matches name substrings and tags, all words at once, and ! inverts it")
    func filter() {
        let rows = Fixture.rows(Fixture.fleet)
        func names(_ text: String) -> [String] {
            MirrorQuery.apply(rows, filter: MirrorFilter(text), order: SortOrder(.name), now: Fixture.now).map(\.name)
        }
        #expect(names("ta") == ["beta", "team/delta"])
        #expect(names("failed") == ["beta"])
        #expect(names("stale") == ["beta", "epsilon", "gamma"])
        #expect(names("!stale") == ["alpha", "team/delta"])
        #expect(names("stale a") == ["beta", "gamma"])
        #expect(names("") == ["alpha", "beta", "epsilon", "gamma", "team/delta"])
    }

    @Test("failed and stale rows stand out: their row role, status word and glyph differ from healthy rows")
    func standOut() {
        let rows = Dictionary(uniqueKeysWithValues: Fixture.rows(Fixture.fleet).map { ($0.name, $0) })
        #expect(rows["alpha"]!.rowRole == .base)
        #expect(rows["beta"]!.rowRole == .failed)
        #expect(rows["gamma"]!.rowRole == .stale)
        #expect(rows["gamma"]!.stateText == "stale")
        #expect(rows["team/delta"]!.rowRole == .paused)
        #expect(rows["alpha"]!.text(.lag, now: Fixture.now, glyphs: .unicode) == "4m")
        #expect(rows["gamma"]!.text(.lag, now: Fixture.now, glyphs: .unicode) == "3d")
        #expect(rows["epsilon"]!.text(.lag, now: Fixture.now, glyphs: .unicode) == "never")
        #expect(rows["team/delta"]!.text(.next, now: Fixture.now, glyphs: .unicode) == "paused")
    }

    @Test("a running job's percentage shows in the status column")
    func jobPercent() {
        var job = Job(mirrorId: 1, kind: .sync, trigger: .manual, actor: Actor(user: "a", source: "local"))
        job.state = .running
        job.bytesDone = 45
        job.bytesTotal = 100
        let row = MirrorRow(Fixture.summary("alpha", status: .syncing), job: job, marked: false, now: Fixture.now)
        #expect(row.stateText == "syncing 45%")
    }
}

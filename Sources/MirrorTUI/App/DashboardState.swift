import Foundation
import MirrorCore

/// Everything the dashboard shows and where the operator is in it. Pure: keys go in through `handle`,
/// effects for the app to carry out come out; the screen is drawn from it by `Renderer`.
public struct DashboardState: Sendable {
    public enum Mode: Equatable, Sendable {
        case main
        case detail(scroll: Int)
        case help(scroll: Int)
        case confirm(Confirmation)
        case add(AddForm)
        case delete(DeleteDialog)
        case command(TextField, history: Int?)
        case filter(TextField, previous: String)
    }

    /// What the app must do after a key.
    public enum Effect: Equatable, Sendable {
        case perform(Action)
        case quit
        case loadDetail(String?)
        case setTheme(String)
        case redraw
    }

    public struct Message: Equatable, Sendable {
        public var text: String
        public var isError: Bool
    }

    public private(set) var snapshot = Snapshot()

    /// The hosts whose rate limit has not reset yet (a snapshot may be older than the reset).
    public var activeHostLimits: [HostRateLimit] { snapshot.hostLimits.filter { $0.until > now } }
    public var now: Date
    public var width: Int
    public var height: Int
    public var mode: Mode = .main
    public private(set) var sort = SortOrder(.name)
    public private(set) var filter = MirrorFilter("")
    public var marks: Set<String> = []
    /// The selected mirror's name (selection follows the mirror when rows move).
    public private(set) var selectedName: String?
    public private(set) var cursor = 0
    public private(set) var top = 0
    public var message: Message?
    public var policy: ActionPolicy
    public var actor: Actor
    public var commandHistory: [String] = []
    public var themeName = "default"
    /// This process's engine id, when it runs the embedded engine.
    public var ownEngineId: String?
    public var host = EngineLease.hostName
    /// Who this dashboard acts as, when it is not simply the local user (an SSH session: "alice (operator)
    /// from 10.0.0.5"); the header always shows it.
    public var identity: String?
    public var homePath = ""
    /// The mirror the detail view shows.
    public private(set) var detailName: String?
    public private(set) var rows: [MirrorRow] = []
    public private(set) var allRows: [MirrorRow] = []
    public private(set) var jobsByMirror: [String: Job] = [:]
    /// Counts for the header, computed when rows are rebuilt (not on every frame).
    public struct Counts: Equatable, Sendable {
        public var syncing = 0, failed = 0, stale = 0, paused = 0
        public var lfsPendingBytes: Int64 = 0
    }
    public private(set) var counts = Counts()
    /// Display width of the longest mirror name (the name column grows to it).
    public private(set) var longestName = 0

    public init(width: Int, height: Int, now: Date = Date(), policy: ActionPolicy = FullAccess(), actor: Actor = .local) {
        self.width = width
        self.height = height
        self.now = now
        self.policy = policy
        self.actor = actor
    }

    // MARK: data

    /// Takes a new catalog snapshot, keeping the selection on the same mirror.
    public mutating func apply(_ snapshot: Snapshot) {
        let same = !snapshot.mirrorsChanged && snapshot.mirrors.count == self.snapshot.mirrors.count && filter.isEmpty
        if snapshot.mirrorsChanged { overrides = [:] }
        for summary in snapshot.updated { overrides[summary.mirror.name] = summary }
        self.snapshot = snapshot
        if same, !snapshot.reorder {
            updateJobs()
            updateRows(snapshot.updated)
        } else {
            rebuildRows()
        }
        if let name = detailName, allIndex[name] == nil, case .detail = mode {
            mode = .main
            detailName = nil
            message = Message(text: "\(name) was removed", isError: false)
        }
        if !marks.isEmpty { marks = marks.filter { allIndex[$0] != nil } }
    }

    /// Moves the clock (lags and the header clock are derived from it).
    public mutating func tick(_ now: Date) {
        self.now = now
        rebuildRows()
    }

    public mutating func resize(width: Int, height: Int) {
        self.width = width
        self.height = height
        clampScroll()
    }

    /// Jobs by mirror name; a running job wins over a queued one for the same mirror.
    func currentJobs() -> [String: Job] {
        var jobs: [String: Job] = [:]
        for s in snapshot.jobs {
            if let existing = jobs[s.mirror], existing.state == .running { continue }
            jobs[s.mirror] = s.job
        }
        return jobs
    }

    /// Only jobs moved: update the rows whose job changed, without re-sorting thousands of rows.
    mutating func updateJobs() {
        let jobs = currentJobs()
        var changed = Set<String>()
        for (name, job) in jobs where jobsByMirror[name] != job { changed.insert(name) }
        for name in jobsByMirror.keys where jobs[name] == nil { changed.insert(name) }
        jobsByMirror = jobs
        guard !changed.isEmpty else { return }
        for name in changed {
            if let i = allIndex[name] { allRows[i].job = jobs[name] }
            if let i = rowIndex[name] { rows[i].job = jobs[name] }
        }
    }

    /// Rows of running jobs' mirrors newer than the snapshot's list (see `Snapshot.updated`), until the
    /// next new list.
    private var overrides: [String: MirrorSummary] = [:]

    /// Only some mirrors' rows moved: replace those rows in place (a row then holds its own summary).
    mutating func updateRows(_ updated: [MirrorSummary]) {
        guard !updated.isEmpty else { return }
        for summary in updated {
            let name = summary.mirror.name
            if let i = allIndex[name] {
                allRows[i] = MirrorRow(summary, job: allRows[i].job, marked: allRows[i].marked, now: now)
            }
            if let i = rowIndex[name] { rows[i] = MirrorRow(summary, job: rows[i].job, marked: rows[i].marked, now: now) }
        }
        recount()
    }

    /// Where each mirror sits in `allRows` and `rows`.
    private var allIndex: [String: Int] = [:]
    private var rowIndex: [String: Int] = [:]

    mutating func rebuildRows() {
        let jobs = currentJobs()
        jobsByMirror = jobs
        let store = MirrorStore(snapshot.mirrors)
        allRows = store.mirrors.indices.map { i in
            let name = store.mirrors[i].mirror.name
            if let newer = overrides[name] { return MirrorRow(newer, job: jobs[name], marked: marks.contains(name), now: now) }
            return MirrorRow(store: store, index: i, job: jobs[name], marked: marks.contains(name), now: now)
        }
        recount()
        rows = MirrorQuery.apply(allRows, filter: filter, order: sort, now: now)
        allIndex = Dictionary(allRows.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { a, _ in a })
        rowIndex = Dictionary(rows.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { a, _ in a })
        if let name = selectedName, let i = rows.firstIndex(where: { $0.name == name }) {
            cursor = i
        } else {
            cursor = min(cursor, max(0, rows.count - 1))
            selectedName = rows.isEmpty ? nil : rows[cursor].name
        }
        clampScroll()
    }

    /// The header's counts and the widest name, from `allRows`.
    private mutating func recount() {
        longestName = 0
        var c = Counts()
        for r in allRows {
            longestName = max(longestName, r.name.utf8.count)
            if [.syncing, .fetchingLFS, .verifying].contains(r.status) { c.syncing += 1 }
            if r.failed { c.failed += 1 } else if r.stale { c.stale += 1 }
            if r.status == .paused { c.paused += 1 }
            c.lfsPendingBytes += max(0, r.summary.state.lfsBytesTotal - r.summary.state.lfsBytesPresent)
        }
        counts = c
    }

    public var layout: ScreenLayout { ScreenLayout(width: width, height: height, jobCount: snapshot.jobs.count) }

    public var selected: MirrorRow? { rows.isEmpty ? nil : rows[min(cursor, rows.count - 1)] }

    /// Marked rows, or the selected one when nothing is marked.
    public var targets: [String] {
        if !marks.isEmpty { return allRows.filter { marks.contains($0.name) }.map(\.name) }
        return selected.map { [$0.name] } ?? []
    }

    mutating func select(_ index: Int) {
        guard !rows.isEmpty else { return }
        cursor = max(0, min(rows.count - 1, index))
        selectedName = rows[cursor].name
        clampScroll()
    }

    mutating func clampScroll() {
        let visible = max(1, layout.tableRows)
        if cursor < top { top = cursor }
        if cursor >= top + visible { top = cursor - visible + 1 }
        top = max(0, min(top, max(0, rows.count - visible)))
    }

    /// Selects the mirror called `name` (now, or as soon as it appears in a snapshot).
    public mutating func focus(name: String) {
        selectedName = name
        if let i = rows.firstIndex(where: { $0.name == name }) { select(i) }
    }

    public mutating func setSort(_ order: SortOrder) {
        sort = order
        rebuildRows()
    }

    public mutating func setFilter(_ text: String) {
        filter = MirrorFilter(text)
        rebuildRows()
    }

    // MARK: keys

    /// Applies a key; returns what the app must do.
    public mutating func handle(_ key: Key) -> [Effect] {
        if case .resize = key { return [] }
        if layout.tooSmall {
            if key == .char("q") || key == .ctrl("c") { return [.quit] }
            return []
        }
        switch mode {
        case .main: return handleMain(key)
        case let .detail(scroll): return handleDetail(key, scroll: scroll)
        case let .help(scroll): return handleHelp(key, scroll: scroll)
        case let .confirm(c): return handleConfirm(key, c)
        case let .add(form): return handleAdd(key, form)
        case let .delete(dialog): return handleDelete(key, dialog)
        case let .command(field, history): return handleCommand(key, field, history: history)
        case let .filter(field, previous): return handleFilter(key, field, previous: previous)
        }
    }

    /// Whether the policy allows `kind`; when not, the message line says why.
    mutating func allowed(_ kind: ActionKind) -> Bool {
        if case let .deny(reason) = policy.decide(kind, actor: actor) {
            message = Message(text: reason, isError: true)
            return false
        }
        return true
    }

    public func isAllowed(_ kind: ActionKind) -> Bool {
        policy.decide(kind, actor: actor) == .allow
    }

    mutating func handleMain(_ key: Key) -> [Effect] {
        let page = max(1, layout.tableRows - 1)
        switch key {
        case .char("q"), .ctrl("c"): return [.quit]
        case .up, .char("k"): select(cursor - 1)
        case .down, .char("j"): select(cursor + 1)
        case .pageUp, .ctrl("b"): select(cursor - page); top = max(0, top - page); clampScroll()
        case .pageDown, .ctrl("f"): select(cursor + page); top += page; clampScroll()
        case .home, .char("g"): select(0)
        case .end, .char("G"): select(rows.count - 1)
        case .enter: return openDetail()
        case .char("/"): mode = .filter(TextField(filter.text), previous: filter.text)
        case .char(":"): mode = .command(TextField(), history: nil)
        case .char("?"), .function(1): mode = .help(scroll: 0)
        case .char(" "):
            guard let row = selected else { break }
            if marks.contains(row.name) { marks.remove(row.name) } else { marks.insert(row.name) }
            rebuildRows()
            select(cursor + 1)
        case .char("<"): cycleSort(-1)
        case .char(">"): cycleSort(1)
        case .char("r"): setSort(SortOrder(sort.column, ascending: !sort.ascending))
        case .escape:
            if !filter.isEmpty { setFilter(""); message = Message(text: "filter cleared", isError: false) }
            else if !marks.isEmpty { marks.removeAll(); rebuildRows(); message = Message(text: "marks cleared", isError: false) }
            else { message = nil }
        case .ctrl("l"): return [.redraw]
        case let .mouse(event): return handleMouse(event)
        default: return actionKey(key, names: targets)
        }
        return []
    }

    /// The action keys, shared by the table and the detail view.
    mutating func actionKey(_ key: Key, names: [String]) -> [Effect] {
        switch key {
        case .char("s"):
            guard allowed(.sync) else { return [] }
            guard !names.isEmpty else { message = Message(text: "no mirror selected", isError: true); return [] }
            return [.perform(.sync(names))]
        case .char("S"):
            guard allowed(.sync) else { return [] }
            let due = allRows.filter { $0.status != .paused && ($0.failed || $0.stale) }.map(\.name)
            guard !due.isEmpty else { message = Message(text: "no stale or failed mirrors to sync", isError: false); return [] }
            mode = .confirm(Confirmation(title: "Sync stale and failed mirrors",
                                         lines: ["Queue a sync for \(due.count) stale or failed mirror\(due.count == 1 ? "" : "s")?",
                                                 preview(due)], action: .sync(due)))
        case .char("v"):
            guard allowed(.verify) else { return [] }
            guard !names.isEmpty else { message = Message(text: "no mirror selected", isError: true); return [] }
            return [.perform(.verify(names))]
        case .char("m"):
            guard allowed(.maintain) else { return [] }
            guard !names.isEmpty else { message = Message(text: "no mirror selected", isError: true); return [] }
            return [.perform(.maintain(names))]
        case .char("V"):
            guard allowed(.verify) else { return [] }
            let all = allRows.map(\.name)
            guard !all.isEmpty else { return [] }
            mode = .confirm(Confirmation(title: "Verify every mirror",
                                         lines: ["Queue a checksum audit of all \(all.count) mirror\(all.count == 1 ? "" : "s")?",
                                                 "Audits re-hash every object; they run in the background."], action: .verify(all)))
        case .char("p"):
            let rows = allRows.filter { names.contains($0.name) }
            guard !rows.isEmpty else { return [] }
            if rows.allSatisfy({ $0.status == .paused }) {
                guard allowed(.resume) else { return [] }
                return [.perform(.resume(rows.map(\.name)))]
            }
            guard allowed(.pause) else { return [] }
            return [.perform(.pause(rows.filter { $0.status != .paused }.map(\.name)))]
        case .char("c"):
            guard allowed(.cancel) else { return [] }
            let busy = names.filter { jobsByMirror[$0] != nil }
            guard !busy.isEmpty else {
                message = Message(text: names.count == 1 ? "\(names[0]) has no queued or running job" : "no queued or running jobs among the marked mirrors", isError: true)
                return []
            }
            return [.perform(.cancel(busy))]
        case .char("a"):
            guard allowed(.add) else { return [] }
            mode = .add(AddForm(existingNames: Set(allRows.map(\.name))))
        case .char("e"):
            guard allowed(.edit) else { return [] }
            guard let name = detailName ?? selected?.name, let row = allRows.first(where: { $0.name == name }) else { return [] }
            mode = .add(AddForm(editing: row.summary.mirror))
        case .char("d"), .delete:
            guard allowed(.remove) else { return [] }
            guard let name = detailName ?? selected?.name else { return [] }
            mode = .delete(DeleteDialog(name: name, path: homePath + "/mirrors/\(name).git"))
        default:
            break
        }
        return []
    }

    func preview(_ names: [String]) -> String {
        let shown = names.prefix(4).joined(separator: ", ")
        return names.count > 4 ? shown + " and \(names.count - 4) more" : shown
    }

    mutating func cycleSort(_ step: Int) {
        let columns = MirrorColumn.allCases
        let i = columns.firstIndex(of: sort.column) ?? 0
        let next = columns[(i + step + columns.count) % columns.count]
        setSort(SortOrder(next, ascending: sort.ascending))
        message = Message(text: "sorted by \(next.rawValue) \(sort.ascending ? "ascending" : "descending")", isError: false)
    }

    mutating func openDetail() -> [Effect] {
        guard let row = selected else { return [] }
        detailName = row.name
        mode = .detail(scroll: 0)
        return [.loadDetail(row.name)]
    }

    mutating func closeDetail() -> [Effect] {
        mode = .main
        detailName = nil
        return [.loadDetail(nil)]
    }

    mutating func handleMouse(_ event: MouseEvent) -> [Effect] {
        let l = layout
        switch event.kind {
        case .wheelUp: select(cursor - 3)
        case .wheelDown: select(cursor + 3)
        case .click, .doubleClick:
            let index = top + (event.row - l.tableTop)
            guard event.row >= l.tableTop, event.row < l.tableTop + l.tableRows, index < rows.count else { return [] }
            select(index)
            if event.kind == .doubleClick { return openDetail() }
        }
        return []
    }

    mutating func handleDetail(_ key: Key, scroll: Int) -> [Effect] {
        switch key {
        case .escape, .char("q"), .left, .backspace, .char("h"): return closeDetail()
        case .up, .char("k"): mode = .detail(scroll: max(0, scroll - 1))
        case .down, .char("j"): mode = .detail(scroll: scroll + 1)
        case .pageUp: mode = .detail(scroll: max(0, scroll - 10))
        case .pageDown: mode = .detail(scroll: scroll + 10)
        case .home, .char("g"): mode = .detail(scroll: 0)
        case .char("?"): mode = .help(scroll: 0); detailName = nil; return [.loadDetail(nil)]
        case .ctrl("c"): return [.quit]
        case .ctrl("l"): return [.redraw]
        default:
            if let name = detailName { return actionKey(key, names: [name]) }
        }
        return []
    }

    mutating func handleHelp(_ key: Key, scroll: Int) -> [Effect] {
        switch key {
        case .up, .char("k"): mode = .help(scroll: max(0, scroll - 1))
        case .down, .char("j"): mode = .help(scroll: scroll + 1)
        case .pageUp: mode = .help(scroll: max(0, scroll - 10))
        case .pageDown, .char(" "): mode = .help(scroll: scroll + 10)
        case .ctrl("c"): return [.quit]
        default: mode = .main
        }
        return []
    }

    mutating func handleConfirm(_ key: Key, _ c: Confirmation) -> [Effect] {
        switch key {
        case .char("y"), .char("Y"), .enter:
            mode = .main
            return [.perform(c.action)]
        case .char("n"), .char("N"), .escape, .char("q"):
            mode = .main
            message = Message(text: "cancelled: nothing was queued", isError: false)
        case .ctrl("c"): return [.quit]
        default: break
        }
        return []
    }

    mutating func handleAdd(_ key: Key, _ f: AddForm) -> [Effect] {
        var form = f
        switch key {
        case .escape:
            mode = .main
            message = Message(text: form.isEditing ? "edit cancelled: nothing changed" : "add cancelled", isError: false)
            return []
        case .tab, .down:
            form.focus = form.focus(movedBy: 1)
        case .backTab, .up:
            form.focus = form.focus(movedBy: -1)
        case .enter:
            if let mirror = form.mirror {
                mode = .main
                return [.perform(form.isEditing ? .edit(mirror) : .add(mirror))]
            }
            if form.focus != .lfs, !form.fieldText(form.focus).isEmpty, form.error(form.focus) == nil {
                form.focus = AddForm.Field(rawValue: form.focus.rawValue + 1)!
                break
            }
            form.submitted = true
            if let bad = AddForm.Field.allCases.first(where: { form.error($0) != nil }) { form.focus = bad }
        case .ctrl("c"): return [.quit]
        default:
            if form.focus == .lfs {
                let modes = LFSMode.allCases
                let i = modes.firstIndex(of: form.lfs) ?? 0
                switch key {
                case .char(" "), .right, .char("l"): form.lfs = modes[(i + 1) % modes.count]
                case .left, .char("h"): form.lfs = modes[(i + modes.count - 1) % modes.count]
                default: break
                }
            } else {
                var field = form.field(form.focus)
                _ = field.edit(key)
                form.setField(form.focus, field)
            }
        }
        mode = .add(form)
        return []
    }

    mutating func handleDelete(_ key: Key, _ d: DeleteDialog) -> [Effect] {
        var dialog = d
        switch key {
        case .escape:
            mode = .main
            message = Message(text: "delete cancelled: nothing was removed", isError: false)
            return []
        case .tab, .backTab, .down, .up:
            dialog.focus = 1 - dialog.focus
        case .enter:
            guard dialog.confirmed else {
                message = Message(text: "type the mirror's name exactly to delete it", isError: true)
                break
            }
            mode = .main
            return [.perform(.remove(dialog.name, deleteData: dialog.deleteData))]
        case .ctrl("c"): return [.quit]
        default:
            if dialog.focus == 1 {
                if key == .char(" ") || key == .char("x") { dialog.deleteData.toggle() }
            } else {
                _ = dialog.typed.edit(key)
            }
        }
        mode = .delete(dialog)
        return []
    }

    mutating func handleFilter(_ key: Key, _ f: TextField, previous: String) -> [Effect] {
        var field = f
        switch key {
        case .enter:
            mode = .main
            message = filter.isEmpty ? nil : Message(text: "\(rows.count) of \(allRows.count) mirrors match \(filter.text)", isError: false)
            return []
        case .escape:
            setFilter(previous)
            mode = .main
            return []
        case .ctrl("c"): return [.quit]
        default:
            _ = field.edit(key)
        }
        mode = .filter(field, previous: previous)
        setFilter(field.text)
        select(0)
        return []
    }

    mutating func handleCommand(_ key: Key, _ f: TextField, history: Int?) -> [Effect] {
        var field = f
        switch key {
        case .escape:
            mode = .main
            return []
        case .enter:
            mode = .main
            let line = field.text.trimmingCharacters(in: .whitespaces)
            guard !line.isEmpty else { return [] }
            if commandHistory.last != line { commandHistory.append(line) }
            if commandHistory.count > 100 { commandHistory.removeFirst() }
            return runCommand(line)
        case .up:
            guard !commandHistory.isEmpty else { break }
            let i = max(0, (history ?? commandHistory.count) - 1)
            mode = .command(TextField(commandHistory[i]), history: i)
            return []
        case .down:
            guard let h = history else { break }
            if h + 1 < commandHistory.count {
                mode = .command(TextField(commandHistory[h + 1]), history: h + 1)
            } else {
                mode = .command(TextField(), history: nil)
            }
            return []
        case .backspace where field.text.isEmpty:
            mode = .main
            return []
        case .ctrl("c"): return [.quit]
        default:
            _ = field.edit(key)
        }
        mode = .command(field, history: history)
        return []
    }

    /// Runs a `:` command line.
    public mutating func runCommand(_ line: String) -> [Effect] {
        let words = line.split(separator: " ").map(String.init)
        guard let verb = words.first?.lowercased() else { return [] }
        let args = Array(words.dropFirst())
        let rest = args.joined(separator: " ")
        func names() -> [String]? {
            if args.isEmpty { return targets }
            let known = Set(allRows.map(\.name))
            if let unknown = args.first(where: { !known.contains($0) }) {
                message = Message(text: "no mirror named \(unknown)", isError: true)
                return nil
            }
            return args
        }
        switch verb {
        case "q", "q!", "quit", "exit": return [.quit]
        case "help", "h", "?": mode = .help(scroll: 0)
        case "sync", "s":
            guard allowed(.sync), let n = names() else { return [] }
            return n.isEmpty ? [] : [.perform(.sync(n))]
        case "verify", "v":
            guard allowed(.verify), let n = names() else { return [] }
            return n.isEmpty ? [] : [.perform(.verify(n))]
        case "maintain", "m":
            guard allowed(.maintain), let n = names() else { return [] }
            return n.isEmpty ? [] : [.perform(.maintain(n))]
        case "pause":
            guard allowed(.pause), let n = names() else { return [] }
            return n.isEmpty ? [] : [.perform(.pause(n))]
        case "resume":
            guard allowed(.resume), let n = names() else { return [] }
            return n.isEmpty ? [] : [.perform(.resume(n))]
        case "cancel":
            guard allowed(.cancel), let n = names() else { return [] }
            return n.isEmpty ? [] : [.perform(.cancel(n))]
        case "add": return actionKey(.char("a"), names: [])
        case "edit":
            guard allowed(.edit) else { return [] }
            guard let name = args.first ?? selected?.name else { return [] }
            guard let row = allRows.first(where: { $0.name == name }) else {
                message = Message(text: "no mirror named \(name)", isError: true)
                return []
            }
            mode = .add(AddForm(editing: row.summary.mirror))
        case "delete", "remove", "rm":
            guard allowed(.remove) else { return [] }
            guard let name = args.first ?? selected?.name else { return [] }
            guard allRows.contains(where: { $0.name == name }) else {
                message = Message(text: "no mirror named \(name)", isError: true)
                return []
            }
            mode = .delete(DeleteDialog(name: name, path: homePath + "/mirrors/\(name).git"))
        case "sort":
            guard let order = SortOrder.parse(rest) else {
                message = Message(text: "sort by one of: \(MirrorColumn.allCases.map(\.rawValue).joined(separator: ", ")) (add 'desc' to reverse)", isError: true)
                return []
            }
            setSort(order)
            message = Message(text: "sorted by \(order.column.rawValue) \(order.ascending ? "ascending" : "descending")", isError: false)
        case "filter", "f":
            setFilter(rest)
            select(0)
            message = rest.isEmpty ? Message(text: "filter cleared", isError: false)
                : Message(text: "\(rows.count) of \(allRows.count) mirrors match \(rest)", isError: false)
        case "theme":
            guard !rest.isEmpty else {
                message = Message(text: "theme now: \(themeName); give a name, e.g. :theme light", isError: false)
                return []
            }
            return [.setTheme(rest)]
        case "mark":
            switch rest {
            case "all": marks = Set(rows.map(\.name))
            case "none", "clear": marks.removeAll()
            default:
                let f = MirrorFilter(rest)
                marks.formUnion(allRows.filter(f.matches).map(\.name))
            }
            rebuildRows()
            message = Message(text: "\(marks.count) marked", isError: false)
        default:
            message = Message(text: "unknown command '\(verb)': try :help", isError: true)
        }
        return []
    }
}

extension AddForm {
    func field(_ f: Field) -> TextField {
        switch f {
        case .name: return name
        case .url: return url
        case .interval: return interval
        case .lfs: return TextField(lfs.rawValue)
        }
    }

    func fieldText(_ f: Field) -> String { field(f).text }

    mutating func setField(_ f: Field, _ value: TextField) {
        switch f {
        case .name: name = value
        case .url: url = value
        case .interval: interval = value
        case .lfs: break
        }
    }
}

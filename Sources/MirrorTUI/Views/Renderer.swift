import Foundation
import MirrorCore

/// Draws a `DashboardState` into a `Canvas` (pure: same state, same frame).
public struct Renderer: Sendable {
    public var theme: Theme
    public var glyphs: Glyphs
    public var time: LocalTime

    public init(theme: Theme, glyphs: Glyphs, time: LocalTime = .system) {
        self.theme = theme
        self.glyphs = glyphs
        self.time = time
    }

    func style(_ role: ThemeRole) -> TextStyle {
        role == .base ? theme[.base] : theme[role].over(theme[.base])
    }

    func clean(_ text: String) -> String { DisplayWidth.sanitize(text, ascii: glyphs.ascii) }

    public func render(_ state: DashboardState) -> Canvas {
        var c = Canvas(width: state.width, height: state.height, fill: style(.base))
        let layout = state.layout
        if layout.tooSmall {
            drawTooSmall(&c, state)
            return c
        }
        drawHeader(&c, state)
        switch state.mode {
        case .detail:
            drawDetail(&c, state, layout)
        default:
            drawTable(&c, state, layout)
            drawJobs(&c, state, layout)
            drawEvents(&c, state, layout)
        }
        drawStatusLine(&c, state, layout)
        drawFooter(&c, state, layout)
        switch state.mode {
        case let .help(scroll): drawHelp(&c, state, scroll: scroll)
        case let .confirm(confirmation): drawConfirm(&c, confirmation)
        case let .add(form): drawAddForm(&c, form)
        case let .delete(dialog): drawDelete(&c, dialog)
        default: break
        }
        if glyphs.ascii { c.asciify() }
        return c
    }

    // MARK: too small

    func drawTooSmall(_ c: inout Canvas, _ state: DashboardState) {
        let times = glyphs.ascii ? "x" : "×"
        let lines = ["terminal too small:", "need \(ScreenLayout.minWidth)\(times)\(ScreenLayout.minHeight)",
                     "(now \(state.width)\(times)\(state.height))", "q quits"]
        let top = max(0, (state.height - lines.count) / 2)
        for (i, line) in lines.enumerated() {
            let text = DisplayWidth.truncate(line, to: state.width, ellipsis: "")
            let x = max(0, (state.width - DisplayWidth.of(text)) / 2)
            c.put(text, row: top + i, col: x, style: i == 0 ? style(.failed) : style(.base))
        }
    }

    // MARK: header

    func engineText(_ state: DashboardState) -> (String, Bool) {
        guard let lease = state.snapshot.lease else { return ("engine: none", true) }
        if let own = state.ownEngineId, lease.owner == own { return ("engine: embedded (pid \(lease.pid))", false) }
        let remote = lease.host != EngineLease.hostName ? " on \(lease.host)" : ""
        switch lease.kind {
        case .daemon: return ("engine: daemon (pid \(lease.pid)\(remote))", false)
        case .embedded: return ("engine: embedded in pid \(lease.pid)\(remote)", false)
        }
    }

    /// How full the home's filesystem is: below 10 % free a warning, below 5 % critical.
    enum DiskLevel { case ok, warning, critical }
    static let diskWarningFraction = 0.10
    static let diskCriticalFraction = 0.05

    /// "disk 41 GiB free", "disk 3.2 GiB free (LOW)", "disk 900 MiB free (CRITICAL)".
    static func diskText(_ disk: DiskSpace?) -> (String, DiskLevel)? {
        guard let disk, disk.totalBytes > 0 else { return nil }
        let level: DiskLevel = disk.freeFraction < diskCriticalFraction ? .critical : disk.freeFraction < diskWarningFraction ? .warning : .ok
        let suffix = level == .critical ? " (CRITICAL)" : level == .warning ? " (LOW)" : ""
        return ("disk \(Format.size(disk.freeBytes)) free\(suffix)", level)
    }

    func drawHeader(_ c: inout Canvas, _ state: DashboardState) {
        let bar = style(.title)
        let accent = theme[.titleAccent].over(bar)
        c.fill(row: 0, col: 0, count: c.width, style: bar)
        let rows = state.allRows
        let (syncing, failed, stale, paused) = (state.counts.syncing, state.counts.failed, state.counts.stale, state.counts.paused)
        let pending = state.counts.lfsPendingBytes
        let sep = " \(glyphs.separator) "
        let (engine, engineWarn) = engineText(state)
        // (text, priority: lower stays longer, highlighted)
        var parts: [(String, Int, Bool)] = [
            ("\(Format.count(rows.count)) mirrors", 0, false),
        ]
        if let identity = state.identity { parts.insert((clean(identity), 0, true), at: 0) }
        // Once per host, however many mirrors wait for it: "github.com rate-limited until 12:03".
        for limit in state.activeHostLimits {
            parts.append(("\(clean(limit.host)) rate-limited until \(Format.clock(limit.until, time: time))", 0, true))
        }
        parts += [
            (engine, 1, engineWarn),
            ("\(failed) failed", 1, failed > 0),
            ("\(syncing) syncing", 2, false),
            ("\(stale) stale", 2, stale > 0),
            ("\(paused) paused", 3, false),
            ("LFS pending \(Format.size(pending))", 4, false),
            (clean(state.host), 5, false),
        ]
        if let (text, level) = Self.diskText(state.snapshot.disk) {
            // Low space outranks everything but the mirror count: it is what the operator must act on.
            parts.insert((text, level == .ok ? 6 : 0, level != .ok), at: min(parts.count, level == .ok ? parts.count - 1 : 1))
        }
        let clock = Format.clock(state.now, time: time)
        let title = " MirrorDeck "
        let room = c.width - DisplayWidth.of(title) - DisplayWidth.of(clock) - 2
        func width(_ p: [(String, Int, Bool)]) -> Int { p.reduce(0) { $0 + DisplayWidth.of($1.0) } + max(0, p.count - 1) * DisplayWidth.of(sep) + 1 }
        while !parts.isEmpty, width(parts) > room, let drop = parts.indices.max(by: { parts[$0].1 < parts[$1].1 }) {
            parts.remove(at: drop)
        }
        var x = c.put(title, row: 0, col: 0, style: accent)
        x += 1
        for (i, p) in parts.enumerated() {
            if i > 0 { x = c.put(sep, row: 0, col: x, style: bar) }
            x = c.put(p.0, row: 0, col: x, style: p.2 ? accent : bar)
        }
        c.put(clock, row: 0, col: max(0, c.width - DisplayWidth.of(clock) - 1), style: accent)
    }

    // MARK: table

    func drawTable(_ c: inout Canvas, _ state: DashboardState, _ layout: ScreenLayout) {
        let limited = !state.activeHostLimits.isEmpty
        let placed = TableLayout.place(width: c.width, longestName: state.longestName + 1, stateWidth: limited ? 24 : nil)
        let header = style(.tableHeader)
        c.fill(row: layout.tableHeaderRow, col: 0, count: c.width, style: header)
        for p in placed {
            var title = p.column.title
            let sorted = p.column == state.sort.column || (p.column == .state && state.sort.column == .status)
            if sorted { title += state.sort.ascending ? glyphs.sortAscending : glyphs.sortDescending }
            if p.column == .status, sorted { title = state.sort.ascending ? glyphs.sortAscending : glyphs.sortDescending }
            let text = DisplayWidth.fit(title, p.width, right: p.column.rightAligned)
            c.put(text, row: layout.tableHeaderRow, col: p.x, style: header)
            if sorted, let arrowAt = text.lastIndex(where: { String($0) == (state.sort.ascending ? glyphs.sortAscending : glyphs.sortDescending) }) {
                let col = p.x + DisplayWidth.of(String(text[..<arrowAt]))
                c.put(String(text[arrowAt]), row: layout.tableHeaderRow, col: col, style: theme[.sortIndicator].over(header))
            }
        }
        if state.rows.isEmpty {
            let text: String
            if state.allRows.isEmpty { text = state.isAllowed(.add) ? "no mirrors yet: press a to add one" : "no mirrors yet" }
            else { text = "no mirror matches the filter \"\(clean(state.filter.text))\" (Esc clears it)" }
            c.put(DisplayWidth.truncate(text, to: c.width - 2), row: layout.tableTop + 1, col: 2, style: style(.muted))
            return
        }
        let end = min(state.rows.count, state.top + layout.tableRows)
        guard state.top < end else { return }
        for (offset, index) in (state.top..<end).enumerated() {
            drawRow(&c, state.rows[index], row: layout.tableTop + offset, placed: placed, state: state, selected: index == state.cursor)
        }
    }

    func drawRow(_ c: inout Canvas, _ r: MirrorRow, row y: Int, placed: [PlacedColumn], state: DashboardState, selected: Bool) {
        let base = style(r.rowRole)
        let sel = theme[.selection]
        func s(_ st: TextStyle) -> TextStyle { selected ? st.withBackground(of: sel.over(theme[.base])) : st }
        c.fill(row: y, col: 0, count: c.width, style: s(base))
        let limited = rowRateLimit(r, state)
        for p in placed {
            let text = p.column == .state && limited != nil ? limited! : clean(r.text(p.column, now: state.now, glyphs: glyphs, time: time))
            switch p.column {
            case .status:
                if r.marked { c.put(glyphs.mark, row: y, col: p.x, style: s(theme[.marked].over(base))) }
                c.put(glyphs.status(r.status), row: y, col: p.x + 1, style: s(theme[r.statusRole].over(base)))
            case .name:
                let role: ThemeRole? = r.marked ? .marked : nil
                c.put(DisplayWidth.fit(text, p.width, ellipsis: glyphs.ellipsis), row: y, col: p.x, style: s(role.map { theme[$0].over(base) } ?? base))
            case .state:
                let role: ThemeRole = r.job?.state == .running ? .active : limited != nil ? .queued : r.statusRole
                c.put(DisplayWidth.fit(text, p.width, ellipsis: glyphs.ellipsis), row: y, col: p.x, style: s(theme[role].over(base)))
            case .lag:
                let st = r.stale && r.status != .paused ? theme[.stale].over(base) : (r.summary.state.freshAsOf == nil ? theme[.muted].over(base) : base)
                c.put(DisplayWidth.fit(text, p.width, right: true), row: y, col: p.x, style: s(st))
            case .fails:
                let st = r.summary.state.consecutiveFailures > 0 ? theme[.failed].over(base) : theme[.muted].over(base)
                c.put(DisplayWidth.fit(text, p.width, right: true), row: y, col: p.x, style: s(st))
            case .lfs:
                if let f = r.lfsFraction {
                    let barWidth = max(0, min(6, p.width - DisplayWidth.of(text) - 1))
                    let numbers = DisplayWidth.fit(text, p.width - barWidth - 1, ellipsis: glyphs.ellipsis)
                    var x = c.put(numbers, row: y, col: p.x, style: s(f >= 1 ? base : theme[.stale].over(base)))
                    x += 1
                    let (done, todo) = glyphs.bar(f, width: barWidth)
                    x = c.put(done, row: y, col: x, style: s(theme[.barDone].over(base)))
                    c.put(todo, row: y, col: x, style: s(theme[.barTodo].over(base)))
                } else {
                    c.put(DisplayWidth.fit(text, p.width), row: y, col: p.x, style: s(theme[.muted].over(base)))
                }
            default:
                let muted = text == "—" || text == "-"
                c.put(DisplayWidth.fit(text, p.width, right: p.column.rightAligned, ellipsis: glyphs.ellipsis), row: y, col: p.x,
                      style: s(muted ? theme[.muted].over(base) : base))
            }
        }
    }

    /// A row's "rate-limited until 12:03" while one of its hosts is (running jobs show their progress instead).
    private func rowRateLimit(_ r: MirrorRow, _ state: DashboardState) -> String? {
        guard r.job?.state != .running else { return nil }
        return r.rateLimitText(state.activeHostLimits, time: time)
    }

    // MARK: jobs

    func drawPanelTitle(_ c: inout Canvas, row: Int, _ title: String, right: String = "") {
        let st = style(.panelTitle)
        c.fill(row: row, col: 0, count: c.width, style: style(.base))
        var x = c.put(glyphs.hline + " ", row: row, col: 0, style: style(.muted))
        x = c.put(title, row: row, col: x, style: st)
        x = c.put(" ", row: row, col: x, style: st)
        let rightText = right.isEmpty ? "" : " " + right + " "
        let lineEnd = c.width - DisplayWidth.of(rightText)
        if lineEnd > x {
            c.put(String(repeating: glyphs.hline, count: lineEnd - x), row: row, col: x, style: style(.muted))
            c.put(rightText, row: row, col: lineEnd, style: style(.muted))
        }
    }

    func drawJobs(_ c: inout Canvas, _ state: DashboardState, _ layout: ScreenLayout) {
        guard let titleRow = layout.jobsTitleRow else { return }
        let jobs = state.snapshot.jobs
        let running = jobs.filter { $0.job.state == .running }.count
        let queued = jobs.count - running
        drawPanelTitle(&c, row: titleRow, "Jobs", right: jobs.isEmpty ? "" : "\(running) running \(glyphs.separator) \(queued) queued")
        if jobs.isEmpty {
            let (engine, none) = engineText(state)
            let text = none && !state.isAllowed(.sync) ? "no jobs; no engine runs (this dashboard only watches)" : "no jobs queued or running (\(engine))"
            c.put(DisplayWidth.truncate(text, to: c.width - 2), row: layout.jobsTop, col: 2, style: style(.muted))
            return
        }
        var shown = Array(jobs.prefix(layout.jobsRows))
        var more = 0
        if jobs.count > layout.jobsRows {
            shown = Array(jobs.prefix(layout.jobsRows - 1))
            more = jobs.count - shown.count
        }
        for (i, s) in shown.enumerated() {
            drawJob(&c, s, row: layout.jobsTop + i, now: state.now)
        }
        if more > 0 {
            c.put("\(glyphs.ellipsis) and \(more) more (\(jobs.dropFirst(shown.count).filter { $0.job.state == .queued }.count) queued)",
                  row: layout.jobsTop + shown.count, col: 2, style: style(.muted))
        }
    }

    /// One job line: `#12 sync tools/cli  fetching ███░░ 45%  3.2 MiB/s  ETA 12s`.
    public func jobLine(_ s: JobSummary, width: Int, now: Date) -> [(String, ThemeRole)] {
        let j = s.job
        let id = DisplayWidth.fit("#\(j.id ?? 0)", 7)
        let kind = DisplayWidth.fit(j.kind.rawValue, 7)
        var out: [(String, ThemeRole)] = [(" " + id, .muted), (kind, .base)]
        let nameWidth = min(30, max(10, width / 4))
        out.append((DisplayWidth.fit(clean(s.mirror), nameWidth, ellipsis: glyphs.ellipsis) + " ", .base))
        let used = 1 + 7 + 7 + nameWidth + 1
        let rest = width - used
        if j.state == .queued {
            var text = "queued"
            if j.cancelRequested { text = "cancelling" }
            text += " \(glyphs.separator) \(j.trigger.rawValue) by \(j.actor)"
            if let message = j.message { text += " \(glyphs.separator) \(message)" }
            out.append((DisplayWidth.truncate(clean(text), to: max(0, rest), ellipsis: glyphs.ellipsis), .queued))
            return out
        }
        let phase = j.cancelRequested ? "cancelling" : (j.phase ?? "running")
        let pct = j.fraction.map(Format.percent) ?? ""
        let amount: String
        if j.bytesTotal > 0 { amount = "\(Format.size(j.bytesDone))/\(Format.size(j.bytesTotal))" }
        else if j.bytesDone > 0 { amount = Format.size(j.bytesDone) }
        else if j.unitsTotal > 0 { amount = "\(j.unitsDone)/\(j.unitsTotal)" }
        else { amount = "" }
        let rate = j.rate > 0 ? Format.rate(j.rate) : ""
        let eta = j.eta.map { "ETA " + Format.eta($0) } ?? ""
        let cap = s.limits?.cap.map(\.description) ?? ""
        // phase 12, bar flexible 8…30, pct 5, amount 20, rate 12, eta 10 — the tail drops first on narrow terminals.
        var tail: [(String, ThemeRole)] = []
        var tailWidth = 0
        for (text, w, role) in [(pct, 5, ThemeRole.base), (rate, 12, .muted), (eta, 10, .muted), (amount, 20, .muted),
                                (cap, cap.isEmpty ? 0 : DisplayWidth.of(cap) + 1, .muted)] where w > 0 {
            if rest - 12 - 8 - tailWidth - w < 0 { break }
            tail.append((DisplayWidth.fit(text, w, right: w == 5) + (w == 5 ? " " : ""), role))
            tailWidth += w + (w == 5 ? 1 : 0)
        }
        let phaseWidth = rest >= 20 ? 12 : max(0, rest)
        out.append((DisplayWidth.fit(clean(phase), phaseWidth, ellipsis: glyphs.ellipsis), .active))
        let barWidth = max(0, min(30, rest - phaseWidth - tailWidth - 1))
        if barWidth >= 4 {
            let (done, todo) = glyphs.bar(j.fraction ?? 0, width: barWidth - 1)
            out.append((done, .barDone))
            out.append((todo + " ", .barTodo))
        }
        out += tail
        return out
    }

    func drawJob(_ c: inout Canvas, _ s: JobSummary, row: Int, now: Date) {
        var x = 0
        for (text, role) in jobLine(s, width: c.width, now: now) {
            x = c.put(text, row: row, col: x, style: style(role))
        }
    }

    // MARK: events

    func drawEvents(_ c: inout Canvas, _ state: DashboardState, _ layout: ScreenLayout) {
        guard let titleRow = layout.eventsTitleRow else { return }
        drawPanelTitle(&c, row: titleRow, "Events", right: "newest first")
        let events = state.snapshot.events.prefix(layout.eventsRows)
        if events.isEmpty {
            c.put("no events yet", row: layout.eventsTop, col: 2, style: style(.muted))
        }
        func who(_ e: Event) -> String { clean(e.source == "local" ? e.actor : "\(e.actor)@\(e.source)") }
        // Wide enough for the visible actors with their addresses (bob@192.168.10.20), within reason.
        let whoWidth = min(max(12, events.map { DisplayWidth.of(who($0)) }.max() ?? 0), max(12, c.width / 4))
        for (i, e) in events.enumerated() {
            let y = layout.eventsTop + i
            let isError = e.message.contains("failed") || e.message.hasPrefix("rejected") || e.action == "error"
            var x = c.put(" " + Format.moment(e.at, now: state.now, time: time) + " ", row: y, col: 0, style: style(.eventTime))
            x = c.put(DisplayWidth.fit(who(e), whoWidth, ellipsis: glyphs.ellipsis) + " ", row: y, col: x, style: style(.muted))
            x = c.put(DisplayWidth.fit(e.action, 8) + " ", row: y, col: x, style: style(.base))
            if let m = e.mirror {
                x = c.put(DisplayWidth.truncate(clean(m), to: 24, ellipsis: glyphs.ellipsis) + " ", row: y, col: x, style: style(.base))
            }
            let text = DisplayWidth.truncate(clean(e.message), to: max(0, c.width - x), ellipsis: glyphs.ellipsis)
            c.put(text, row: y, col: x, style: style(isError ? .eventError : .base))
        }
    }

    // MARK: status line and footer

    func drawStatusLine(_ c: inout Canvas, _ state: DashboardState, _ layout: ScreenLayout) {
        let y = layout.messageRow
        c.fill(row: y, col: 0, count: c.width, style: style(.base))
        switch state.mode {
        case let .command(field, _):
            drawInput(&c, prefix: ":", field, row: y, col: 0, width: c.width)
            return
        case let .filter(field, _):
            drawInput(&c, prefix: "/", field, row: y, col: 0, width: c.width)
            let count = " \(Format.count(state.rows.count)) of \(Format.count(state.allRows.count)) "
            if c.width > DisplayWidth.of(field.text) + 30 {
                c.put(count, row: y, col: c.width - DisplayWidth.of(count), style: style(.muted))
            }
            return
        default: break
        }
        var right: [String] = []
        if !state.isAllowed(.sync) { right.append("READ-ONLY") }
        if let m = state.message {
            c.put(DisplayWidth.truncate(" " + clean(m.text), to: c.width - 12, ellipsis: glyphs.ellipsis), row: y, col: 0,
                  style: style(m.isError ? .messageError : .message))
        } else {
            var parts: [String] = []
            parts.append("sort \(state.sort.column.rawValue) \(state.sort.ascending ? glyphs.sortAscending : glyphs.sortDescending)")
            if !state.filter.isEmpty { parts.append("filter \"\(clean(state.filter.text))\"") }
            if !state.marks.isEmpty { parts.append("\(state.marks.count) marked") }
            if case .detail = state.mode {} else if !state.rows.isEmpty {
                let last = min(state.rows.count, state.top + layout.tableRows)
                parts.append("\(Format.count(state.top + 1))-\(Format.count(last)) of \(Format.count(state.rows.count))"
                             + (state.rows.count != state.allRows.count ? " (\(Format.count(state.allRows.count)) in all)" : ""))
            }
            c.put(DisplayWidth.truncate(" " + parts.joined(separator: " \(glyphs.separator) "), to: c.width - 12, ellipsis: glyphs.ellipsis),
                  row: y, col: 0, style: style(.muted))
        }
        if let badge = right.first {
            c.put(badge + " ", row: y, col: c.width - DisplayWidth.of(badge) - 1, style: style(.messageError))
        }
    }

    func drawInput(_ c: inout Canvas, prefix: String, _ field: TextField, row: Int, col: Int, width: Int) {
        let st = style(.input)
        c.fill(row: row, col: col, count: width, style: st)
        let x = c.put(prefix, row: row, col: col, style: st)
        let room = max(1, width - DisplayWidth.of(prefix) - 1)
        let chars = Array(field.text)
        // Scroll the text so the cursor stays visible.
        var start = 0
        while DisplayWidth.of(String(chars[start..<field.cursor])) >= room { start += 1 }
        let visible = DisplayWidth.truncate(clean(String(chars[start...])), to: room, ellipsis: "")
        c.put(visible, row: row, col: x, style: st)
        c.cursor = (row, x + DisplayWidth.of(String(chars[start..<field.cursor])))
    }

    public typealias Hint = (key: String, label: String, kind: ActionKind?)

    /// Key hints for the footer in the current mode.
    public func hints(_ state: DashboardState) -> [Hint] {
        switch state.mode {
        case .main:
            return [("s", "sync", .sync), ("S", "sync stale", .sync), ("v", "verify", .verify), ("p", "pause", .pause),
                    ("c", "cancel", .cancel), ("a", "add", .add), ("e", "edit", .edit), ("d", "delete", .remove), ("space", "mark", nil),
                    ("/", "filter", nil), (":", "cmd", nil), ("<>", "sort", nil), ("enter", "detail", nil), ("?", "help", nil), ("q", "quit", nil)]
        case .detail:
            return [("esc", "back", nil), ("s", "sync", .sync), ("v", "verify", .verify), ("p", "pause", .pause), ("c", "cancel", .cancel),
                    ("e", "edit", .edit), ("d", "delete", .remove), ("↑↓", "scroll", nil), ("?", "help", nil)]
        case .help: return [("any key", "close", nil), ("↑↓", "scroll", nil)]
        case .confirm: return [("y", "yes", nil), ("n", "no", nil)]
        case let .add(form):
            return [("tab", "next field", nil), ("enter", form.isEditing ? "save" : "add", nil), ("space", "LFS choice", nil), ("esc", "cancel", nil)]
        case .delete: return [("enter", "delete", nil), ("tab", "switch", nil), ("space", "tick box", nil), ("esc", "cancel", nil)]
        case .command: return [("enter", "run", nil), ("↑↓", "history", nil), ("esc", "cancel", nil), (":help", "commands", nil)]
        case .filter: return [("enter", "keep", nil), ("esc", "restore", nil), ("!word", "invert", nil)]
        }
    }

    /// Which hints fit `width`, in display order; the first and last (help, quit) go last.
    public func fittingHints(_ all: [Hint], width: Int) -> [Hint] {
        func w(_ h: Hint) -> Int { DisplayWidth.of(h.key) + 1 + DisplayWidth.of(h.label) + 2 }
        var budget = width - 1
        var keep = Set<Int>()
        // Priority: quit and help first, then the rest in order.
        var order = Array(all.indices)
        if let q = all.firstIndex(where: { $0.key == "q" }) { order.removeAll { $0 == q }; order.insert(q, at: 0) }
        if let h = all.firstIndex(where: { $0.key == "?" }) { order.removeAll { $0 == h }; order.insert(h, at: min(1, order.count)) }
        for i in order where w(all[i]) <= budget {
            keep.insert(i)
            budget -= w(all[i])
        }
        return all.indices.filter { keep.contains($0) }.map { all[$0] }
    }

    func drawFooter(_ c: inout Canvas, _ state: DashboardState, _ layout: ScreenLayout) {
        let y = layout.footerRow
        let bar = style(.footer)
        c.fill(row: y, col: 0, count: c.width, style: bar)
        var x = 1
        let keyStyle = theme[.footerKey].over(bar)
        let off = theme[.footerDisabled].over(bar)
        for h in fittingHints(hints(state), width: c.width) {
            let disabled = h.kind.map { !state.isAllowed($0) } ?? false
            x = c.put(h.key, row: y, col: x, style: disabled ? off : keyStyle)
            x = c.put(" " + h.label + "  ", row: y, col: x, style: disabled ? off : bar)
        }
    }

    // MARK: detail

    /// The detail view's lines for the selected mirror (label, value, role of the value).
    public func detailLines(_ state: DashboardState, width: Int) -> [(String, String, ThemeRole)] {
        guard let name = state.detailName, let row = state.allRows.first(where: { $0.name == name }) else { return [] }
        let m = row.summary.mirror
        let s = row.summary.state
        let now = state.now
        let detail = state.snapshot.detail?.mirrorName == name ? state.snapshot.detail : nil
        var out: [(String, String, ThemeRole)] = []
        func iso(_ d: Date?) -> String { d.map { TimeFormat.iso($0) ?? "" } ?? "never" }
        out.append(("status", row.stateText + (row.stale && row.status != .paused ? " (stale: lag above 1.5 × interval)" : ""), row.statusRole))
        out.append(("upstream", UpstreamURL.display(m.upstream), .base))
        out.append(("path", detail?.path ?? state.homePath + "/mirrors/\(name).git", .base))
        out.append(("interval", Interval.format(m.intervalSeconds) + (m.prune ? " · prune" : " · no prune") + (m.insecureTLS ? " · TLS NOT VERIFIED" : ""), .base))
        out.append(("fresh as of", s.freshAsOf.map { "\(iso($0)) (lag \(Format.lag(s.lag(now: now))))" } ?? "never (no successful sync yet)",
                    s.freshAsOf == nil ? .muted : (row.stale ? .stale : .base)))
        out.append(("last check", iso(s.lastCheckAt), .base))
        out.append(("next run", row.status == .paused ? "paused" : s.nextRunAt.map { "\(iso($0)) (\(Format.until($0, now: now)))" } ?? "not scheduled", .base))
        out.append(("refs", "\(s.refCount) refs" + (s.headRef.map { ", HEAD \(glyphs.arrow) \($0)" } ?? "") + ", \(s.behind) behind at the last check", .base))
        out.append(("failures", "\(s.consecutiveFailures) in a row" + (s.lastFailureAt.map { ", last at \(iso($0))" } ?? ""), s.consecutiveFailures > 0 ? .failed : .base))
        out.append(("size", Format.size(s.diskBytes), .base))
        var lfs = "\(m.lfs.rawValue); \(s.lfsObjectsPresent)/\(s.lfsObjectsTotal) objects, \(Format.size(s.lfsBytesPresent)) of \(Format.size(s.lfsBytesTotal))"
        if let scan = detail?.lfsScan {
            if let endpoint = scan.endpoint { lfs += "; endpoint \(UpstreamURL.display(endpoint))" }
            if let scanned = scan.scannedAt { lfs += "; scanned \(iso(scanned))" }
            if let result = scan.fetchResult { lfs += "; last fetch \(result)" }
        }
        out.append(("LFS", lfs, s.lfsObjectsPresent < s.lfsObjectsTotal ? .stale : .base))
        if let a = detail?.lastAudit {
            var text = "\(a.result.rawValue) at \(iso(a.endedAt ?? a.startedAt)): \(a.lfsObjectsChecked) LFS objects and \(a.gitObjectsChecked) git objects checked"
            if a.problems > 0 { text += "; \(a.problems) problem\(a.problems == 1 ? "" : "s"), \(a.quarantined) quarantined, \(a.repaired) repaired" }
            let role: ThemeRole = a.result == .running ? .active : a.problems == 0 ? .ok : .failed
            out.append(("last audit", text, role))
        } else if let verify = detail?.lastVerify {
            out.append(("last audit", "\(verify.state.rawValue) at \(iso(verify.endedAt))" + (verify.error.map { ": \($0)" } ?? ""),
                        verify.state == .succeeded ? .ok : .failed))
        } else {
            out.append(("last audit", "never", .muted))
        }
        if let clone = detail?.cloneCommand { out.append(("clone", clone, .base)) }
        let served = row.summary.servedRequests24h
        out.append(("served 24h", served == 0 ? "nothing" : "\(served) request\(served == 1 ? "" : "s"), \(Format.size(row.summary.servedBytes24h))",
                    served == 0 ? .muted : .base))
        if let recent = detail?.recentAccess, !recent.isEmpty {
            for (i, e) in recent.enumerated() {
                let who = (e.user.map { "\($0)@" } ?? "") + e.client
                out.append((i == 0 ? "last clients" : "", "\(Format.moment(e.at, now: now, time: .system, dash: "-")) \(who) \(e.kind.rawValue) \(e.status) \(Format.size(e.bytes))",
                            e.status >= 400 ? .failed : .base))
            }
        }
        if let limited = row.rateLimitText(state.activeHostLimits, time: time),
           let limit = MirrorHosts.limit(for: m, in: state.activeHostLimits) {
            out.append(("rate limit", "\(limited): \(clean(limit.host)) answered \(limit.status) (\(clean(limit.source))); syncs wait, no failure counted", .queued))
        }
        if let job = row.job {
            let progress = job.fraction.map { " " + Format.percent($0) } ?? ""
            out.append(("job", "#\(job.id ?? 0) \(job.kind.rawValue) \(job.state.rawValue)\(progress)" + (job.phase.map { " (\($0))" } ?? ""), .active))
            if let limits = state.snapshot.jobs.first(where: { $0.job.id == job.id })?.limits, job.state == .running {
                var text = limits.cap.map(\.description) ?? "no bandwidth cap"
                if let stall = limits.stallTimeout { text += " \(glyphs.separator) stall timeout \(stall)s" }
                out.append(("limits", text, .base))
            }
        }
        if let reason = s.pausedReason { out.append(("paused", reason, .paused)) }
        return out
    }

    func drawDetail(_ c: inout Canvas, _ state: DashboardState, _ layout: ScreenLayout) {
        guard case let .detail(scroll) = state.mode, let name = state.detailName else { return }
        var lines: [(TextStyle, [(String, TextStyle)])] = []
        let labelWidth = 13
        let valueWidth = max(10, c.width - labelWidth - 3)
        lines.append((style(.panelTitle), [(" " + clean(name), style(.panelTitle))]))
        for (label, value, role) in detailLines(state, width: c.width) {
            let wrapped = DisplayWidth.wrap(clean(value), width: valueWidth)
            for (i, part) in wrapped.enumerated() {
                lines.append((style(.base), [(" " + DisplayWidth.fit(i == 0 ? label : "", labelWidth) + " ", style(.muted)), (part, style(role))]))
            }
        }
        if let row = state.allRows.first(where: { $0.name == name }), let error = row.summary.state.lastError {
            lines.append((style(.base), []))
            lines.append((style(.panelTitle), [(" Last error", style(.panelTitle))]))
            for part in DisplayWidth.wrap(clean(error), width: max(10, c.width - 4)) {
                lines.append((style(.base), [("   " + part, style(.failed))]))
            }
        }
        lines.append((style(.base), []))
        lines.append((style(.panelTitle), [(" Recent runs", style(.panelTitle))]))
        let runs = state.snapshot.detail?.mirrorName == name ? state.snapshot.detail?.runs ?? [] : []
        if runs.isEmpty {
            lines.append((style(.base), [("   " + (state.snapshot.detail?.mirrorName == name ? "no runs yet" : "loading…"), style(.muted))]))
        } else {
            let head = "   " + DisplayWidth.fit("STARTED", 20) + " " + DisplayWidth.fit("RESULT", 12) + " " + DisplayWidth.fit("TOOK", 8, right: true)
                + " " + DisplayWidth.fit("OBJECTS", 8, right: true) + " " + DisplayWidth.fit("BYTES", 10, right: true) + " " + DisplayWidth.fit("REFS +/-", 9) + " BY / ERROR"
            lines.append((style(.tableHeader), [(head, style(.tableHeader))]))
            for r in runs {
                let role: ThemeRole = r.result == .failed ? .failed : r.result == .running ? .active : r.result == .cancelled ? .muted : r.result == .rateLimited ? .queued : .ok
                let text = "   " + DisplayWidth.fit(TimeFormat.iso(r.startedAt) ?? "", 20) + " " + DisplayWidth.fit(r.result.rawValue, 12) + " "
                    + DisplayWidth.fit(r.durationMs.map { TimeFormat.duration(ms: $0) } ?? "—", 8, right: true) + " "
                    + DisplayWidth.fit(String(r.objectsReceived), 8, right: true) + " "
                    + DisplayWidth.fit(Format.size(r.bytesReceived), 10, right: true) + " "
                    + DisplayWidth.fit("\(r.refsUpdated)/\(r.refsDeleted)", 9) + " " + clean(r.error ?? r.actor)
                lines.append((style(.base), [(text, style(role))]))
            }
        }
        let top = min(scroll, max(0, lines.count - layout.bodyRows))
        for (i, line) in lines.dropFirst(top).prefix(layout.bodyRows).enumerated() {
            let y = layout.bodyTop + i
            c.fill(row: y, col: 0, count: c.width, style: line.0)
            var x = 0
            for (text, st) in line.1 { x = c.put(text, row: y, col: x, style: st) }
        }
    }

    // MARK: overlays

    /// Draws a box with a title; returns the inner rectangle (top, left, width, height).
    @discardableResult
    func drawBox(_ c: inout Canvas, width w: Int, height h: Int, title: String) -> (Int, Int, Int, Int) {
        let width = min(w, c.width - 2)
        let height = min(h, c.height - 2)
        let left = max(0, (c.width - width) / 2)
        let top = max(0, (c.height - height) / 2)
        let body = style(.dialog)
        let border = theme[.muted].over(body)
        let (tl, tr, bl, br, v) = glyphs.box
        for y in top..<(top + height) {
            c.fill(row: y, col: left, count: width, style: body)
            c.put(v, row: y, col: left, style: border)
            c.put(v, row: y, col: left + width - 1, style: border)
        }
        let line = String(repeating: glyphs.hline, count: max(0, width - 2))
        c.put(tl + line + tr, row: top, col: left, style: border)
        c.put(bl + line + br, row: top + height - 1, col: left, style: border)
        let t = " " + DisplayWidth.truncate(title, to: max(0, width - 6)) + " "
        c.put(t, row: top, col: left + 2, style: style(.dialogTitle))
        return (top + 1, left + 2, width - 4, height - 2)
    }

    func drawHelp(_ c: inout Canvas, _ state: DashboardState, scroll: Int) {
        var lines: [(String, String, Bool)] = []
        for (section, entries) in HelpContent.sections {
            if !lines.isEmpty { lines.append(("", "", false)) }
            lines.append((section, "", true))
            for e in entries { lines.append((glyphs.ascii ? asciiKeys(e.keys) : e.keys, e.what, false)) }
        }
        let (top, left, width, height) = drawBox(&c, width: min(100, c.width - 2), height: c.height - 2, title: "Keys — any key closes")
        let keyWidth = min(28, width / 3)
        let start = min(scroll, max(0, lines.count - height))
        var y = top
        for line in lines.dropFirst(start) {
            guard y < top + height else { break }
            if line.2 {
                c.put(line.0, row: y, col: left, style: theme[.panelTitle].over(style(.dialog)), limit: width)
                y += 1
                continue
            }
            let what = DisplayWidth.wrap(line.1, width: max(10, width - keyWidth - 1))
            c.put(DisplayWidth.fit(line.0, keyWidth), row: y, col: left, style: theme[.helpKey].over(style(.dialog)))
            for (i, part) in what.enumerated() where y + i < top + height {
                c.put(part, row: y + i, col: left + keyWidth + 1, style: style(.dialog), limit: width - keyWidth - 1)
            }
            y += max(1, what.count)
        }
    }

    func asciiKeys(_ text: String) -> String {
        text.replacingOccurrences(of: "↑", with: "Up").replacingOccurrences(of: "↓", with: "Down")
            .replacingOccurrences(of: "←", with: "Left").replacingOccurrences(of: "→", with: "Right")
            .replacingOccurrences(of: "…", with: "...")
    }

    func drawConfirm(_ c: inout Canvas, _ confirmation: Confirmation) {
        let width = min(72, c.width - 2)
        var body: [String] = []
        for line in confirmation.lines { body += DisplayWidth.wrap(clean(line), width: width - 4) }
        let (top, left, w, _) = drawBox(&c, width: width, height: body.count + 4, title: confirmation.title)
        for (i, line) in body.enumerated() { c.put(line, row: top + i, col: left, style: style(.dialog), limit: w) }
        var x = c.put("y", row: top + body.count + 1, col: left, style: theme[.helpKey].over(style(.dialog)))
        x = c.put(" yes   ", row: top + body.count + 1, col: x, style: style(.dialog))
        x = c.put("n", row: top + body.count + 1, col: x, style: theme[.helpKey].over(style(.dialog)))
        c.put(" no", row: top + body.count + 1, col: x, style: style(.dialog))
    }

    func drawAddForm(_ c: inout Canvas, _ form: AddForm) {
        let width = min(76, c.width - 2)
        let (top, left, w, _) = drawBox(&c, width: width, height: 15, title: form.original.map { "Edit \(clean($0.name))" } ?? "Add a mirror")
        let labelWidth = 10
        let fieldWidth = max(8, w - labelWidth - 1)
        var y = top
        var cursor: (Int, Int)?
        let fields: [(AddForm.Field, String, String)] = [
            (.name, "Name", "repo or owner/repo"), (.url, "URL", "https://…, git://…, file:///…, user@host:path"),
            (.interval, "Interval", "e.g. 30m, 2h, 1d"), (.lfs, "LFS", ""),
        ]
        for (field, label, placeholder) in fields {
            let focused = form.focus == field
            c.put((focused ? glyphs.cursor : " ") + " " + label, row: y, col: left - 1, style: focused ? theme[.helpKey].over(style(.dialog)) : style(.dialog))
            let x = left + labelWidth
            if field == .name, form.isEditing {
                c.put(clean(form.name.text), row: y, col: x, style: style(.dialog), limit: fieldWidth)
                y += 1
                c.put("the name stays; delete and add to rename", row: y, col: x, style: theme[.muted].over(style(.dialog)), limit: fieldWidth)
            } else if field == .lfs {
                let choices = LFSMode.allCases.map { $0 == form.lfs ? "[\($0.rawValue)]" : " \($0.rawValue) " }.joined(separator: " ")
                c.put(choices, row: y, col: x, style: focused ? style(.input) : style(.dialog))
                y += 1
                c.put("auto fetches LFS objects when pointers are found", row: y, col: x, style: theme[.muted].over(style(.dialog)), limit: fieldWidth)
            } else {
                let value = form.field(field)
                if value.text.isEmpty && !focused {
                    c.fill(row: y, col: x, count: fieldWidth, style: style(.input))
                    c.put(placeholder, row: y, col: x, style: theme[.muted].over(style(.input)), limit: fieldWidth)
                } else if focused {
                    drawInput(&c, prefix: "", value, row: y, col: x, width: fieldWidth)
                    cursor = c.cursor
                } else {
                    c.fill(row: y, col: x, count: fieldWidth, style: style(.input))
                    c.put(clean(value.text), row: y, col: x, style: style(.input), limit: fieldWidth)
                }
                y += 1
                if let error = form.error(field) {
                    c.put((glyphs.ascii ? "! " : "✗ ") + error, row: y, col: x, style: style(.inputError), limit: fieldWidth)
                } else if !value.text.isEmpty {
                    c.put(glyphs.ascii ? "ok" : "✓", row: y, col: x, style: theme[.ok].over(style(.dialog)))
                }
            }
            y += 2
        }
        let valid = form.mirror != nil
        let ready = form.isEditing ? "Enter saves; the next sync uses the new settings." : "Enter adds the mirror; its first sync is due at once."
        c.put(valid ? ready : "Tab moves between fields; Esc cancels.",
              row: top + 12, col: left, style: theme[.muted].over(style(.dialog)), limit: w)
        c.cursor = cursor
    }

    func drawDelete(_ c: inout Canvas, _ d: DeleteDialog) {
        let width = min(76, c.width - 2)
        let (top, left, w, _) = drawBox(&c, width: width, height: 10, title: "Delete mirror \(clean(d.name))")
        c.put("Type the mirror's name to confirm:", row: top, col: left, style: style(.dialog), limit: w)
        drawInput(&c, prefix: "", d.typed, row: top + 1, col: left, width: min(w, 50))
        let fieldCursor = c.cursor
        if !d.typed.text.isEmpty {
            let ok = d.confirmed
            c.put(ok ? (glyphs.ascii ? "ok: Enter deletes" : "✓ Enter deletes") : "does not match yet", row: top + 2, col: left,
                  style: ok ? theme[.ok].over(style(.dialog)) : style(.inputError), limit: w)
        }
        let box = d.deleteData ? "[x]" : "[ ]"
        let st = d.focus == 1 ? theme[.helpKey].over(style(.dialog)) : style(.dialog)
        c.put("\(box) also delete its data on disk", row: top + 4, col: left, style: st, limit: w)
        c.put("    \(clean(d.path))", row: top + 5, col: left, style: theme[.muted].over(style(.dialog)), limit: w)
        c.put(d.deleteData ? "The repository and its LFS objects will be deleted." : "The data stays on disk; adding the name again reuses it.",
              row: top + 6, col: left, style: d.deleteData ? style(.inputError) : theme[.muted].over(style(.dialog)), limit: w)
        c.cursor = d.focus == 0 ? fieldCursor : nil
    }
}

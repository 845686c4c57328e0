import Foundation
import MirrorCore

/// The columns of the mirror table. The raw value is the name `:sort` takes.
public enum MirrorColumn: String, CaseIterable, Sendable {
    case status, name, state, lag, last, next, behind, fails, lfs, size, served, upstream

    /// Title in the table header.
    public var title: String {
        switch self {
        case .status: return ""
        case .name: return "NAME"
        case .state: return "STATUS"
        case .lag: return "LAG"
        case .last: return "LAST"
        case .next: return "NEXT"
        case .behind: return "BEHIND"
        case .fails: return "FAILS"
        case .lfs: return "LFS"
        case .size: return "SIZE"
        case .served: return "SERVED 24H"
        case .upstream: return "UPSTREAM"
        }
    }

    /// Columns go in this order of importance: higher numbers are dropped first on narrow terminals.
    public var priority: Int {
        switch self {
        case .status, .name: return 0
        case .lag: return 1
        case .fails: return 2
        case .behind: return 3
        case .state: return 4
        case .next: return 5
        case .last: return 6
        case .lfs: return 7
        case .size: return 8
        case .served: return 9
        case .upstream: return 10
        }
    }

    /// Fixed width, or the minimum width of a flexible column.
    public var width: Int {
        switch self {
        case .status: return 2
        case .name: return 12
        case .state: return 12
        case .lag: return 5
        case .last: return 6
        case .next: return 7
        case .behind: return 7
        case .fails: return 6
        case .lfs: return 15
        case .size: return 9
        case .served: return 10
        case .upstream: return 20
        }
    }

    public var flexible: Bool { self == .name || self == .upstream }
    public var rightAligned: Bool { [.lag, .behind, .fails, .size].contains(self) }

    /// The column a sort name refers to (`:sort lag`), accepting a few synonyms.
    public static func named(_ text: String) -> MirrorColumn? {
        switch text.lowercased() {
        case "failures", "failed", "fail": return .fails
        case "status", "glyph": return .status
        case "lastsync", "last-sync", "synced": return .last
        case "nextrun", "next-run": return .next
        case "disk": return .size
        case "url": return .upstream
        case "served24h", "served-24h", "downloads": return .served
        default: return MirrorColumn(rawValue: text.lowercased())
        }
    }
}

/// A column placed on screen.
public struct PlacedColumn: Equatable, Sendable {
    public var column: MirrorColumn
    public var x: Int
    public var width: Int
}

/// Which columns fit a width, and where they go: columns drop by priority, the name column grows first
/// (up to `nameMax`), the upstream column takes what is left.
public enum TableLayout {
    public static let nameMax = 40

    /// - Parameter longestName: the widest name shown; the name column grows no wider than it needs.
    /// - Parameter stateWidth: a wider STATUS column (while a host is rate-limited: "rate-limited until 12:03").
    public static func place(width: Int, longestName: Int? = nil, stateWidth: Int? = nil) -> [PlacedColumn] {
        var cols = MirrorColumn.allCases
        // Names as long as the longest one (up to 20 columns) come before the less important columns.
        let nameMin = max(MirrorColumn.name.width, min(20, longestName ?? 0))
        func w(_ c: MirrorColumn) -> Int { c == .name ? nameMin : c == .state ? max(c.width, stateWidth ?? 0) : c.width }
        func need(_ cols: [MirrorColumn], gap: Int) -> Int {
            cols.reduce(0) { $0 + w($1) } + gap * max(0, cols.count - 1)
        }
        while need(cols, gap: 1) > width, let drop = cols.filter({ $0.priority > 0 }).max(by: { $0.priority < $1.priority }) {
            cols.removeAll { $0 == drop }
        }
        let gap = need(cols, gap: 2) <= width ? 2 : 1
        var slack = max(0, width - need(cols, gap: gap))
        var widths = Dictionary(uniqueKeysWithValues: cols.map { ($0, w($0)) })
        let nameCap = max(nameMin, min(nameMax, longestName ?? nameMax))
        let nameExtra = cols.contains(.upstream) ? min(slack, nameCap - nameMin) : slack
        widths[.name, default: 0] += nameExtra
        slack -= nameExtra
        if cols.contains(.upstream) { widths[.upstream, default: 0] += slack }
        var x = 0
        var placed: [PlacedColumn] = []
        for c in cols {
            placed.append(PlacedColumn(column: c, x: x, width: widths[c]!))
            x += widths[c]! + gap
        }
        return placed
    }
}

/// The mirrors of one catalog snapshot, shared by every row built from it: a row points into this array
/// instead of carrying its own copy of the mirror (10,000 rows in two orders would otherwise hold two
/// extra copies of every mirror and of every row's job slot).
final class MirrorStore: Sendable {
    let mirrors: [MirrorSummary]
    init(_ mirrors: [MirrorSummary]) { self.mirrors = mirrors }
}

/// A job held by reference, so that a row without a job costs one word, not a whole `Job`.
final class JobBox: Sendable {
    let job: Job
    init(_ job: Job) { self.job = job }
}

/// One mirror as a table row: every cell's text and how it stands out. Pure: built from catalog values.
public struct MirrorRow: Equatable, Sendable {
    public var name: String
    public var status: MirrorStatus
    public var stale: Bool
    public var failed: Bool
    public var marked: Bool
    private var store: MirrorStore
    private var index: Int
    private var jobBox: JobBox?

    public init(_ summary: MirrorSummary, job: Job?, marked: Bool, now: Date) {
        self.init(store: MirrorStore([summary]), index: 0, job: job, marked: marked, now: now)
    }

    /// The row of `store.mirrors[index]` (no copy of the mirror is made).
    init(store: MirrorStore, index: Int, job: Job?, marked: Bool, now: Date) {
        self.store = store
        self.index = index
        let summary = store.mirrors[index]
        name = summary.mirror.name
        status = summary.state.status
        failed = status == .failed
        stale = status != .paused && summary.state.isStale(intervalSeconds: summary.mirror.intervalSeconds, now: now)
        self.marked = marked
        jobBox = job.map(JobBox.init)
    }

    /// The queued or running job of this mirror, if any.
    public var job: Job? {
        get { jobBox?.job }
        set { jobBox = newValue.map(JobBox.init) }
    }

    /// The mirror and its state, as the snapshot holds them.
    public var summary: MirrorSummary {
        _read { yield store.mirrors[index] }
        set {
            store = MirrorStore([newValue])
            index = 0
        }
    }

    public static func == (a: MirrorRow, b: MirrorRow) -> Bool {
        a.name == b.name && a.status == b.status && a.stale == b.stale && a.failed == b.failed && a.marked == b.marked
            && a.job == b.job && (a.store === b.store && a.index == b.index || a.summary == b.summary)
    }

    /// The role the whole row is drawn in: failed and stale rows stand out.
    public var rowRole: ThemeRole {
        if failed { return .failed }
        if status == .paused { return .paused }
        if stale && status != .idle { return .stale }
        return .base
    }

    /// The role of the status glyph.
    public var statusRole: ThemeRole {
        switch status {
        case .ok: return stale ? .stale : .ok
        case .failed: return .failed
        case .syncing, .fetchingLFS, .verifying: return .active
        case .queued: return .queued
        case .paused: return .paused
        case .idle: return .idle
        }
    }

    /// The status word: the status, `stale` for an ok mirror past 1.5 × its interval, and a running
    /// job's percentage.
    public var stateText: String {
        var word = status.rawValue
        if status == .ok, stale { word = "stale" }
        if let job, job.state == .running, let f = job.fraction {
            word = (job.kind == .sync ? status.rawValue : job.kind == .lfs ? "lfs" : "verify") + " " + Format.percent(f)
        }
        return word
    }

    /// The text of a cell (the LFS cell's bar is drawn by the view; this is its count part).
    public func text(_ column: MirrorColumn, now: Date, glyphs: Glyphs, time: LocalTime = .system) -> String {
        let s = summary.state
        let m = summary.mirror
        switch column {
        case .status: return (marked ? glyphs.mark : " ") + glyphs.status(status)
        case .name: return name
        case .state: return stateText
        case .lag: return Format.lag(s.lag(now: now))
        case .last: return Format.moment(s.lastCheckAt, now: now, time: time, dash: glyphs.ascii ? "-" : "—")
        case .next: return status == .paused ? "paused" : Format.until(s.nextRunAt, now: now, dash: glyphs.ascii ? "-" : "—")
        case .behind: return s.lastCheckAt == nil ? (glyphs.ascii ? "-" : "—") : String(s.behind)
        case .fails: return String(s.consecutiveFailures)
        case .lfs: return s.lfsObjectsTotal == 0 ? (m.lfs == .off ? "off" : (glyphs.ascii ? "-" : "—")) : "\(s.lfsObjectsPresent)/\(s.lfsObjectsTotal)"
        case .size: return s.diskBytes == 0 ? (glyphs.ascii ? "-" : "—") : Format.size(s.diskBytes)
        case .served: return summary.servedRequests24h == 0 ? (glyphs.ascii ? "-" : "—") : Format.size(summary.servedBytes24h)
        case .upstream: return UpstreamURL.display(m.upstream)
        }
    }

    /// Fraction of LFS objects present, when the mirror has any.
    public var lfsFraction: Double? {
        let s = summary.state
        guard s.lfsObjectsTotal > 0 else { return nil }
        return Double(s.lfsObjectsPresent) / Double(s.lfsObjectsTotal)
    }

    /// "rate-limited until 12:03" when one of the mirror's hosts is among `limits` (active ones).
    public func rateLimitText(_ limits: [HostRateLimit], time: LocalTime = .system) -> String? {
        guard !limits.isEmpty, let limit = MirrorHosts.limit(for: summary.mirror, in: limits) else { return nil }
        return "rate-limited until \(Format.clock(limit.until, time: time))"
    }

    /// Words the filter matches exactly: the status, `stale`, `marked`, `lfs`.
    public var tags: [String] {
        var t = [status.rawValue]
        if stale { t.append("stale") }
        if marked { t.append("marked") }
        if summary.state.lfsObjectsTotal > 0 { t.append("lfs") }
        if job != nil { t.append("busy") }
        return t
    }
}

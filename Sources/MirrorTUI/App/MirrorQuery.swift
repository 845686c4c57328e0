import Foundation
import MirrorCore

/// The table's sort: a column and a direction.
public struct SortOrder: Equatable, Sendable {
    public var column: MirrorColumn
    public var ascending: Bool

    public init(_ column: MirrorColumn, ascending: Bool = true) {
        self.column = column
        self.ascending = ascending
    }

    /// Parses `lag`, `lag desc`, `-lag` (descending), `lag asc`.
    public static func parse(_ text: String) -> SortOrder? {
        var words = text.split(separator: " ").map { String($0).lowercased() }
        guard !words.isEmpty else { return nil }
        var ascending = true
        if words[0].hasPrefix("-") {
            ascending = false
            words[0].removeFirst()
        }
        guard let column = MirrorColumn.named(words[0]) else { return nil }
        if words.count > 1 {
            switch words[1] {
            case "desc", "down", "reverse": ascending = false
            case "asc", "up": ascending = true
            default: return nil
            }
        }
        return SortOrder(column, ascending: ascending)
    }
}

/// A `/` filter: words that must all match a row (a substring of its name, or one of its tags
/// such as `failed`, `stale`, `paused`); a leading `!` inverts the whole filter.
public struct MirrorFilter: Equatable, Sendable {
    public var text: String
    public var inverted: Bool
    private var words: [String]

    public init(_ text: String) {
        self.text = text
        var t = text.trimmingCharacters(in: .whitespaces)
        inverted = t.hasPrefix("!")
        if inverted { t.removeFirst() }
        words = t.lowercased().split(separator: " ").map(String.init)
    }

    public var isEmpty: Bool { words.isEmpty }

    public func matches(_ row: MirrorRow) -> Bool {
        guard !words.isEmpty else { return true }
        let name = row.name.lowercased()
        let tags = row.tags
        let all = words.allSatisfy { w in
            name.contains(w) || tags.contains(w) || (w.count >= 3 && tags.contains { $0.hasPrefix(w) })
        }
        return inverted ? !all : all
    }
}

/// Sorting and filtering of mirror rows (pure).
public enum MirrorQuery {
    /// How urgent a status is, for sorting by status: failures first.
    static func severity(_ row: MirrorRow) -> Int {
        switch row.status {
        case .failed: return 0
        case .syncing, .fetchingLFS, .verifying: return 1
        case .queued: return 2
        case .ok: return row.stale ? 3 : 6
        case .paused: return 4
        case .idle: return 5
        }
    }

    /// Rows that pass `filter`, sorted by `order` (ties by name, always ascending).
    public static func apply(_ rows: [MirrorRow], filter: MirrorFilter, order: SortOrder, now: Date) -> [MirrorRow] {
        let kept = filter.isEmpty ? rows : rows.filter(filter.matches)
        return sort(kept, order: order, now: now)
    }

    public static func sort(_ rows: [MirrorRow], order: SortOrder, now: Date) -> [MirrorRow] {
        func cmp<T: Comparable>(_ a: T, _ b: T) -> Int { a < b ? -1 : (a > b ? 1 : 0) }
        let key: (MirrorRow, MirrorRow) -> Int
        switch order.column {
        case .name: key = { _, _ in 0 }
        case .status, .state: key = { cmp(severity($0), severity($1)) }
        case .lag: key = { cmp($0.summary.state.lag(now: now) ?? .infinity, $1.summary.state.lag(now: now) ?? .infinity) }
        case .last: key = { cmp($0.summary.state.lastCheckAt ?? .distantPast, $1.summary.state.lastCheckAt ?? .distantPast) }
        case .next: key = { cmp($0.summary.state.nextRunAt ?? .distantFuture, $1.summary.state.nextRunAt ?? .distantFuture) }
        case .behind: key = { cmp($0.summary.state.behind, $1.summary.state.behind) }
        case .fails: key = { cmp($0.summary.state.consecutiveFailures, $1.summary.state.consecutiveFailures) }
        case .lfs: key = { cmp($0.lfsFraction ?? 2, $1.lfsFraction ?? 2) }
        case .size: key = { cmp($0.summary.state.diskBytes, $1.summary.state.diskBytes) }
        case .served: key = { cmp($0.summary.servedBytes24h, $1.summary.servedBytes24h) }
        case .upstream: key = { cmp($0.summary.mirror.upstream, $1.summary.mirror.upstream) }
        }
        let asc = order.ascending
        return rows.sorted { a, b in
            let k = key(a, b)
            if k != 0 { return asc ? k < 0 : k > 0 }
            if order.column == .name { return asc ? a.name < b.name : a.name > b.name }
            return a.name < b.name
        }
    }
}

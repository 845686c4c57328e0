import Foundation

/// Which LFS objects a mirror keeps in its store (`--lfs-keep`). An object is kept when the tree at the tip
/// of a kept ref points at it (the files a checkout of that ref has); objects only older history points at
/// leave the store for the trash (or the archive) when the policy is anything but `all`.
///
/// Syntax, one word (it travels through the SSH grammar as it is):
/// - `all` — every object any commit of the mirror points at (the default; nothing is ever pruned);
/// - `refs` — the tips of every ref the mirror holds;
/// - `tags:N` — the newest N tags (by tagger date, or committer date for a lightweight tag) and every branch;
/// - ref patterns, comma-separated: `refs/heads/*,refs/tags/v*,!refs/pull/*`, the patterns of a ref filter
///   (`RefFilter`): `*` matches any run of characters (`/` included), a pattern ending in `/` matches
///   everything below it, a leading `!` excludes. A ref is kept when it matches an include and no exclude;
///   with excludes only, every other ref is kept.
public enum LFSKeepPolicy: Sendable, Equatable, CustomStringConvertible {
    case all
    case refs
    case newestTags(Int)
    case patterns(RefFilter)

    public static let maxTags = 100_000
    static let maxLength = 512

    /// Parses a policy; throws `ConfigError.invalidLFSKeep` saying what is wrong and what to write.
    public static func parse(_ text: String) throws -> LFSKeepPolicy {
        func bad(_ reason: String) -> ConfigError { .invalidLFSKeep(text, reason: reason) }
        let word = text.trimmingCharacters(in: .whitespaces)
        guard !word.isEmpty else { throw bad("it is empty") }
        guard word.utf8.count <= maxLength else { throw bad("longer than \(maxLength) characters") }
        switch word.lowercased() {
        case "all": return .all
        case "refs": return .refs
        default: break
        }
        if word.lowercased().hasPrefix("tags:") {
            let count = word.dropFirst(5)
            guard !count.isEmpty, count.allSatisfy(\.isASCII), count.allSatisfy(\.isNumber), let n = Int(count) else {
                throw bad("the tag count must be a whole number, as in tags:5")
            }
            guard (1...maxTags).contains(n) else { throw bad("the tag count must be between 1 and \(maxTags)") }
            return .newestTags(n)
        }
        guard word.hasPrefix("refs/") || word.hasPrefix("!") else {
            throw bad("not a policy and not a ref pattern (patterns start with refs/ or !refs/)")
        }
        do {
            return .patterns(try RefFilter.parse(word))
        } catch let ConfigError.invalidRefFilter(_, reason) {
            throw bad(reason)
        }
    }

    /// The canonical text, as stored in the catalog and shown to the operator; `parse` reads it back.
    public var description: String {
        switch self {
        case .all: return "all"
        case .refs: return "refs"
        case let .newestTags(n): return "tags:\(n)"
        case let .patterns(filter): return filter.patternText
        }
    }

    /// The policy stored in the catalog; an unreadable one (never written by this code) keeps everything.
    public init(stored: String?) {
        self = stored.flatMap { try? Self.parse($0) } ?? .all
    }

    /// What the policy keeps, in words ("the newest 3 tags and every branch").
    public var summary: String {
        switch self {
        case .all: return "every object in the mirror's history"
        case .refs: return "the tips of every ref"
        case let .newestTags(n): return "the newest \(n) tag\(n == 1 ? "" : "s") and every branch"
        case .patterns: return "the tips of the refs matching \(description)"
        }
    }

    /// One ref as the policy sees it: its full name and, for tags, when it was made (seconds since 1970).
    public struct Ref: Sendable, Equatable {
        public var name: String
        public var date: Int64
        public init(name: String, date: Int64) {
            self.name = name
            self.date = date
        }
    }

    /// The names of the refs whose tips the policy keeps (for `all`: every ref, though `all` keeps history too).
    public func keptRefs(_ refs: [Ref]) -> Set<String> {
        switch self {
        case .all, .refs:
            return Set(refs.map(\.name))
        case let .newestTags(n):
            let tags = refs.filter { $0.name.hasPrefix("refs/tags/") }
                .sorted { $0.date != $1.date ? $0.date > $1.date : $0.name > $1.name }
                .prefix(n).map(\.name)
            return Set(tags + refs.filter { $0.name.hasPrefix("refs/heads/") }.map(\.name))
        case let .patterns(filter):
            return Set(refs.map(\.name).filter { filter.includes($0) })
        }
    }
}

import Foundation

/// Which of an upstream's refs a mirror keeps (`--refs`): everything by default, or include and exclude
/// patterns. Refs outside the filter are neither fetched nor served, and "identical to upstream" means
/// identical on the refs inside it.
///
/// A filter is a comma-separated list of patterns, each `refs/...` with `*` matching any run of characters
/// (`/` included, as in git's refspecs) and a trailing `/` matching everything below it; a leading `!`
/// excludes. A ref is kept when it matches an include pattern (or there is none) and no exclude pattern.
/// LFS retention's ref patterns (`--lfs-keep`) are the same patterns. Presets: `all` (everything) and `heads-tags`
/// (`refs/heads/*,refs/tags/*`: GitHub's thousands of `refs/pull/*` left out).
public struct RefFilter: Sendable, Equatable, CustomStringConvertible {
    public let includePatterns: [String]
    public let excludePatterns: [String]

    public static let all = RefFilter(includePatterns: [], excludePatterns: [])
    public static let presets: [String: String] = ["all": "", "heads-tags": "refs/heads/*,refs/tags/*"]

    private init(includePatterns: [String], excludePatterns: [String]) {
        self.includePatterns = includePatterns
        self.excludePatterns = excludePatterns
    }

    public var isAll: Bool { includePatterns.isEmpty && excludePatterns.isEmpty }

    /// The filter as the catalog stores it and `--refs` takes it back (`all` for everything).
    public var description: String {
        if isAll { return "all" }
        return Self.presets.first { $0.value == patternText }?.key ?? patternText
    }

    /// The patterns as written, comma-separated (no preset names).
    public var patternText: String { (includePatterns + excludePatterns.map { "!" + $0 }).joined(separator: ",") }

    /// Parses `--refs` text: a preset or patterns.
    public static func parse(_ text: String) throws -> RefFilter {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let expanded = presets[trimmed] ?? trimmed
        guard !trimmed.isEmpty else { throw ConfigError.invalidRefFilter(text, reason: "it is empty") }
        guard !expanded.isEmpty else { return .all }
        var includes: [String] = []
        var excludes: [String] = []
        for raw in expanded.split(separator: ",", omittingEmptySubsequences: false) {
            let item = raw.trimmingCharacters(in: .whitespaces)
            let negative = item.hasPrefix("!")
            let pattern = negative ? String(item.dropFirst()) : item
            try validate(pattern, in: text)
            if negative { excludes.append(pattern) } else { includes.append(pattern) }
        }
        guard !includes.isEmpty || !excludes.isEmpty else { return .all }
        return RefFilter(includePatterns: includes, excludePatterns: excludes)
    }

    private static func validate(_ pattern: String, in text: String) throws {
        func refuse(_ reason: String) -> ConfigError { .invalidRefFilter(text, reason: reason) }
        guard !pattern.isEmpty else { throw refuse("a pattern is empty (two commas, or a comma at an end)") }
        guard pattern.hasPrefix("refs/"), pattern.count > 5 else { throw refuse("'\(pattern)' must start with refs/ (as in refs/heads/*)") }
        guard pattern.utf8.count <= 255 else { throw refuse("a pattern is longer than 255 bytes") }
        guard pattern.unicodeScalars.allSatisfy({ $0.value > 32 && $0.value < 127 }) else {
            throw refuse("'\(pattern)' has spaces, control or non-ASCII characters")
        }
        for bad in ["..", "//", "@{", "\\", "?", "[", "~", "^", ":", "!"] where pattern.contains(bad) {
            throw refuse("'\(pattern)' contains '\(bad)', which no ref name can hold")
        }
        guard !pattern.hasSuffix(".lock") else { throw refuse("'\(pattern)' is not a ref name") }
    }

    /// Whether the mirror keeps `ref`.
    public func includes(_ ref: String) -> Bool {
        if !includePatterns.isEmpty && !includePatterns.contains(where: { Self.matches($0, ref) }) { return false }
        return !excludePatterns.contains { Self.matches($0, ref) }
    }

    /// The refs of `refs` the mirror keeps.
    public func apply(_ refs: [String: String]) -> [String: String] {
        isAll ? refs : refs.filter { includes($0.key) }
    }

    /// `*` matches any run of bytes, `/` included; a trailing `/` (without `*`) matches everything below it;
    /// everything else matches itself.
    static func matches(_ pattern: String, _ ref: String) -> Bool {
        if pattern.hasSuffix("/") && !pattern.contains("*") { return ref.hasPrefix(pattern) }
        let p = Array(pattern.utf8)
        let s = Array(ref.utf8)
        var pi = 0, si = 0
        var star = -1, mark = 0
        while si < s.count {
            if pi < p.count && p[pi] == UInt8(ascii: "*") {
                star = pi
                pi += 1
                mark = si
            } else if pi < p.count && p[pi] == s[si] {
                pi += 1
                si += 1
            } else if star >= 0 {
                pi = star + 1
                mark += 1
                si = mark
            } else {
                return false
            }
        }
        while pi < p.count && p[pi] == UInt8(ascii: "*") { pi += 1 }
        return pi == p.count
    }
}

/// In the catalog: NULL for every ref, else the filter's text.
extension RefFilter: Codable {
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        self = container.decodeNil() ? .all : try RefFilter.parse(container.decode(String.self))
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        if isAll { try container.encodeNil() } else { try container.encode(description) }
    }
}

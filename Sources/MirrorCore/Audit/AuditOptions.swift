import Foundation

/// How one audit runs: repair or not, how many hashing threads, how fast, and what it may skip.
public struct AuditOptions: Sendable, Equatable {
    /// Re-fetch what is corrupt or missing (LFS through the LFS path, git from upstream), and move stray
    /// files out of `lfs/objects` into quarantine.
    public var repair = false
    /// Hashing threads; nil means the engine's `verify_threads` (all cores by default).
    public var threads: Int?
    /// Bytes per second all threads together may read; nil means unthrottled.
    public var maxRate: Int64?
    /// Skip LFS objects (and packs) verified within this many seconds; nil checks everything.
    public var sinceSeconds: Int?

    public init(repair: Bool = false, threads: Int? = nil, maxRate: Int64? = nil, sinceSeconds: Int? = nil) {
        self.repair = repair
        self.threads = threads
        self.maxRate = maxRate
        self.sinceSeconds = sinceSeconds
    }

    /// The most hashing threads an audit uses.
    public static let maxThreads = 256
    /// The slowest `--max-rate` accepted (below this an audit would never finish).
    public static let minimumRate: Int64 = 64 << 10

    /// Parses a rate such as `200MB/s`, `1.5GiB/s`, `500k` or `1048576`: decimal units (k, M, G, T; also
    /// KB, MB…) are powers of 1000, binary ones (KiB, MiB…) powers of 1024; `/s` and `B` are optional.
    public static func parseRate(_ text: String) throws -> Int64 {
        var s = text.trimmingCharacters(in: .whitespaces)
        let invalid = AuditError.invalidOption(option: "--max-rate", value: text,
                                               hint: "give bytes per second such as 200MB/s, 1.5GiB/s or 500KiB/s (at least 64KiB/s)")
        if s.lowercased().hasSuffix("/s") { s.removeLast(2) }
        let digits = s.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        guard !digits.isEmpty, digits.filter({ $0 == "." }).count <= 1, let number = Double(digits), number.isFinite else {
            throw invalid
        }
        var unit = String(s.dropFirst(digits.count)).trimmingCharacters(in: .whitespaces)
        if unit.hasSuffix("B") || unit.hasSuffix("b") { unit.removeLast() }
        let binary = unit.hasSuffix("i")
        if binary { unit.removeLast() }
        let exponent: Double
        switch unit.lowercased() {
        case "": exponent = 0
        case "k": exponent = 1
        case "m": exponent = 2
        case "g": exponent = 3
        case "t": exponent = 4
        default: throw invalid
        }
        if binary && exponent == 0 { throw invalid }
        let bytes = number * pow(binary ? 1024 : 1000, exponent)
        guard bytes >= Double(minimumRate), bytes < 1e18 else { throw invalid }
        return Int64(bytes)
    }
}

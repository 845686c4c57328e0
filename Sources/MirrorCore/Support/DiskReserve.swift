import Foundation
import TOMLKit

/// Space kept free on a filesystem: a share of its size (`5%`) or a fixed amount (`2GiB`).
public enum DiskReserve: Sendable, Equatable, CustomStringConvertible {
    case percent(Double)
    case bytes(Int64)

    public static let `default` = DiskReserve.percent(5)

    /// Parses `5%`, `0%`, `512MiB`, `2GB`, `1048576`; nil when it is none of those (or over 50 %).
    public init?(_ text: String) {
        let t = text.trimmingCharacters(in: .whitespaces)
        if t.hasSuffix("%") {
            guard let p = Double(t.dropLast().trimmingCharacters(in: .whitespaces)), p.isFinite, p >= 0, p <= 50 else { return nil }
            self = .percent(p)
            return
        }
        let units: [(String, Int64)] = [("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10),
                                        ("TB", 1_000_000_000_000), ("GB", 1_000_000_000), ("MB", 1_000_000), ("KB", 1000), ("B", 1)]
        var number = t
        var unit: Int64 = 1
        for (suffix, size) in units where t.hasSuffix(suffix) {
            number = String(t.dropLast(suffix.count)).trimmingCharacters(in: .whitespaces)
            unit = size
            break
        }
        guard let n = Double(number), n.isFinite, n >= 0, n * Double(unit) < 1e18 else { return nil }
        self = .bytes(Int64(n * Double(unit)))
    }

    /// The bytes kept free on a filesystem of `totalBytes`.
    public func bytes(ofTotal totalBytes: Int64) -> Int64 {
        switch self {
        case let .percent(p): return Int64(Double(totalBytes) * p / 100)
        case let .bytes(n): return n
        }
    }

    /// `5 %` or `2.0 GiB`, as error messages say it.
    public var description: String {
        switch self {
        case let .percent(p): return (p == p.rounded() ? String(Int(p)) : String(p)) + " %"
        case let .bytes(n): return ByteFormat.format(n)
        }
    }

    /// Reads `disk_reserve` from a `[storage]` table (nil table: the default).
    static func load(table: TOMLTable?, file: String) throws -> DiskReserve {
        guard let table else { return .default }
        for key in table.keys where key != "disk_reserve" {
            throw ConfigError.mirrorList(file: file, reason: "unknown key '\(key)' in [storage] (known: disk_reserve)")
        }
        guard let value = table["disk_reserve"] else { return .default }
        guard let text = value.string, let reserve = DiskReserve(text) else {
            throw ConfigError.mirrorList(file: file, reason: "[storage] disk_reserve must be a share such as \"5%\" or a size such as \"2GiB\"")
        }
        return reserve
    }
}

/// The disk budget of a transfer: what it still needs against what the filesystem has free beyond the reserve.
public struct DiskBudget: Sendable, Equatable {
    public var needed: Int64
    public var space: DiskSpace
    public var reserve: DiskReserve

    public init(needed: Int64, space: DiskSpace, reserve: DiskReserve) {
        self.needed = needed
        self.space = space
        self.reserve = reserve
    }

    /// Bytes that may still be written: free minus the reserve (never negative).
    public var available: Int64 { max(0, space.freeBytes - reserve.bytes(ofTotal: space.totalBytes)) }

    public var fits: Bool { needed <= available }

    /// "needs 12.3 GiB, 8.1 GiB free (reserve 5 %)".
    public var shortfall: String {
        "needs \(ByteFormat.format(needed)), \(ByteFormat.format(space.freeBytes)) free (reserve \(reserve))"
    }
}

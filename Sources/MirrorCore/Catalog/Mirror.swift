import Foundation
import GRDB

/// A mirror as configured by the operator.
public struct Mirror: Sendable, Equatable, Identifiable {
    public var id: Int64?
    public var name: String
    public var upstream: String
    public var intervalSeconds: Int
    public var lfs: LFSMode
    public var lfsURL: String?
    public var prune: Bool
    public var insecureTLS: Bool
    /// Served only to authenticated clients (`serve --auth tokens` or SSH), and never named to others.
    public var isPrivate: Bool
    /// Which upstream refs the mirror keeps (`--refs`; everything by default).
    public var refFilter: RefFilter
    /// Bytes a second this mirror's git and LFS transfers may take together (`--max-rate`); nil: no cap of
    /// its own (the host's and the global cap still apply).
    public var maxRate: Int64?
    /// Which LFS objects stay in the mirror's store (`--lfs-keep`); the rest go to the trash or the archive.
    public var lfsKeep: LFSKeepPolicy = .all
    /// Where objects out of the retention policy go instead of the trash (`--lfs-archive`): kept there,
    /// served from there, restorable. nil: the home's `lfs-trash/`, emptied after the grace period.
    public var lfsArchive: String?
    public var createdAt: Date

    public init(name: String, upstream: String, intervalSeconds: Int = Interval.defaultSeconds,
                lfs: LFSMode = .auto, lfsURL: String? = nil, prune: Bool = true,
                insecureTLS: Bool = false, isPrivate: Bool = false, refFilter: RefFilter = .all, createdAt: Date = Date()) {
        self.name = name
        self.upstream = upstream
        self.intervalSeconds = intervalSeconds
        self.lfs = lfs
        self.lfsURL = lfsURL
        self.prune = prune
        self.insecureTLS = insecureTLS
        self.isPrivate = isPrivate
        self.refFilter = refFilter
        self.createdAt = createdAt
    }

    /// Validates every field the way `add` and `import` do.
    public func validated() throws -> Mirror {
        try MirrorName.validate(name)
        _ = try UpstreamURL(upstream)
        if let lfsURL { _ = try UpstreamURL(lfsURL) }
        if let lfsArchive { try Self.validateArchive(lfsArchive) }
        guard intervalSeconds >= Interval.minimumSeconds else {
            throw ConfigError.invalidInterval(Interval.format(intervalSeconds))
        }
        return self
    }

    /// An archive directory must be an absolute, normalized path (whether it lies outside the home is
    /// checked where the home is known: `Home.validateArchive`).
    public static func validateArchive(_ path: String) throws {
        guard path.hasPrefix("/") else { throw ConfigError.invalidArchive(path, reason: "it is not an absolute path") }
        guard !path.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) else {
            throw ConfigError.invalidArchive(path, reason: "it contains a control character")
        }
        guard (path as NSString).standardizingPath == path || (path as NSString).standardizingPath + "/" == path, path != "/" else {
            throw ConfigError.invalidArchive(path, reason: "it is not a normalized path (no '..', '.', '//' or bare '/')")
        }
    }
}

extension LFSKeepPolicy: Codable {
    public init(from decoder: Decoder) throws {
        self.init(stored: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

extension Mirror: CatalogRecord {
    public static let databaseTableName = "mirror"
    enum CodingKeys: String, CodingKey {
        case id, name, upstream, intervalSeconds, lfs, prune, createdAt, lfsKeep, lfsArchive
        case lfsURL = "lfsUrl"
        case insecureTLS = "insecureTls"
        case isPrivate = "private"
        case refFilter = "refs"
        case maxRate
    }
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    /// Decodes a row by column name (the engine reads the mirror of every job it runs; GRDB's Codable path
    /// converted each key from snake case for every row).
    public init(row: Row) throws {
        self.init(name: row["name"], upstream: row["upstream"], intervalSeconds: row["interval_seconds"],
                  lfs: LFSMode(rawValue: row["lfs"] ?? "auto") ?? .auto, lfsURL: row["lfs_url"],
                  prune: row["prune"] ?? true, insecureTLS: row["insecure_tls"] ?? false, isPrivate: row["private"] ?? false,
                  refFilter: (row["refs"] as String?).flatMap { try? RefFilter.parse($0) } ?? .all,
                  createdAt: Catalog.date(row["created_at"]) ?? Date(timeIntervalSince1970: 0))
        id = row["id"]
        maxRate = row["max_rate"]
        lfsKeep = LFSKeepPolicy(stored: row["lfs_keep"])
        lfsArchive = row["lfs_archive"]
    }
}

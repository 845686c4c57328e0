import Foundation
import GRDB

/// Where one LFS object of a mirror stands.
public enum LFSObjectState: String, Codable, Sendable, CaseIterable {
    /// Known from a pointer, not (yet) in the mirror.
    case missing
    /// In the mirror's `lfs/objects`, size and SHA-256 verified when it arrived.
    case present
    /// The LFS server says it does not have it (404, 410) or cannot serve it (422).
    case unavailable
    /// A transfer was tried and failed (see `error`); the next fetch tries again.
    case failed
    /// Out of the mirror's retention policy: moved to `lfs-trash/` (`retired_path`), deleted after the grace.
    case trashed
    /// Out of the retention policy and moved to the mirror's archive directory (`retired_path`): still served.
    case archived
    /// Out of the retention policy with no copy here: deleted after the grace, or never fetched.
    case pruned

    /// States of objects the mirror wants in its store (the rest are out of its retention policy).
    public static let wanted: [LFSObjectState] = [.missing, .present, .unavailable, .failed]
    /// States of objects out of the retention policy.
    public static let retired: [LFSObjectState] = [.trashed, .archived, .pruned]

    public var isRetired: Bool { Self.retired.contains(self) }
}

/// How an object got into a mirror.
public enum LFSObjectSource: String, Codable, Sendable {
    /// Received from an LFS server.
    case downloaded
    /// Hard-linked from another mirror in this home.
    case linked
    /// Copied (and hashed) from a local store or another mirror on another filesystem.
    case copied
    /// Already on disk at its place, and verified.
    case found
    /// Brought back (verified) from the trash or the archive.
    case restored
}

/// One LFS object a mirror's history points at.
public struct LFSObject: Sendable, Equatable {
    public var mirrorId: Int64
    public var oid: String
    public var size: Int64
    public var state: LFSObjectState
    public var verifiedAt: Date?
    /// Why the last attempt failed (one line, no credentials).
    public var error: String?
    public var attempts: Int
    public var fetchedAt: Date?
    public var source: LFSObjectSource?
    /// When the object left the store for the trash or the archive (or was dropped by the policy).
    public var retiredAt: Date?
    /// Where its copy out of the store is (`lfs-trash/…` or the archive), while it has one.
    public var retiredPath: String?
}

extension LFSObject: CatalogRecord {
    public static let databaseTableName = "lfs_object"
}

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
}

extension LFSObject: CatalogRecord {
    public static let databaseTableName = "lfs_object"
}

import Foundation
import GRDB

/// A mirror's LFS bookkeeping: what the last pointer scan and fetch saw, and where objects come from.
public struct LFSScan: Sendable, Equatable {
    public var mirrorId: Int64
    public var scannedAt: Date?
    /// Commits walked by every scan so far.
    public var commitsScanned: Int = 0
    /// Blobs that looked like pointers but broke the spec (never used for a path).
    public var malformedPointers: Int = 0
    public var malformedExample: String?
    /// The endpoint of the last fetch, credentials and query removed.
    public var endpoint: String?
    public var endpointSource: String?
    public var fetchedAt: Date?
    public var fetchResult: String?
    public var lastError: String?

    public init(mirrorId: Int64) { self.mirrorId = mirrorId }
}

extension LFSScan: CatalogRecord {
    public static let databaseTableName = "lfs_scan"
}

/// One ref tip a pointer scan covered (the cursor of the next scan).
struct LFSScanTip: CatalogRecord {
    static let databaseTableName = "lfs_scan_tip"
    var mirrorId: Int64
    var oid: String
}

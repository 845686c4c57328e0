import Foundation
import GRDB

/// What a mirror is doing or last did.
public enum MirrorStatus: String, Codable, Sendable, CaseIterable {
    case idle, queued, syncing
    case fetchingLFS = "fetching-lfs"
    case verifying, ok, failed, paused
}

/// The live state of one mirror: freshness, failures, schedule and sizes.
public struct MirrorState: Sendable, Equatable {
    public var mirrorId: Int64
    public var status: MirrorStatus = .idle
    /// The last moment the mirror was known identical to its upstream.
    public var freshAsOf: Date?
    public var lastCheckAt: Date?
    public var lastSuccessAt: Date?
    public var lastFailureAt: Date?
    /// Upstream refs that differed from the mirror at the last check.
    public var behind: Int = 0
    public var consecutiveFailures: Int = 0
    public var nextRunAt: Date?
    public var lastError: String?
    public var pausedReason: String?
    public var headRef: String?
    public var refCount: Int = 0
    public var diskBytes: Int64 = 0
    public var lfsObjectsPresent: Int = 0
    public var lfsObjectsTotal: Int = 0
    public var lfsBytesPresent: Int64 = 0
    public var lfsBytesTotal: Int64 = 0
    /// When the last checksum audit ended, and how (an `AuditResult`: clean, problems, repaired…).
    public var lastAuditAt: Date?
    public var lastAuditResult: String?

    public init(mirrorId: Int64) { self.mirrorId = mirrorId }

    /// now − fresh-as-of, or nil ("never") before the first success.
    public func lag(now: Date = Date()) -> TimeInterval? {
        freshAsOf.map { max(0, now.timeIntervalSince($0)) }
    }

    /// Stale: lag above 1.5 × the interval (a never-synced mirror is stale).
    public func isStale(intervalSeconds: Int, now: Date = Date()) -> Bool {
        guard let lag = lag(now: now) else { return true }
        return lag > 1.5 * Double(intervalSeconds)
    }
}

extension MirrorState: CatalogRecord {
    public static let databaseTableName = "mirror_state"
}

/// A mirror with its state, as lists and dashboards show it.
public struct MirrorSummary: Sendable, Equatable {
    public var mirror: Mirror
    public var state: MirrorState
}

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
    /// Response bytes `mirrordeck serve` sent for this mirror in the last 24 hours (`summariesFast` only).
    public var servedBytes24h: Int64 = 0
    /// Requests served for this mirror in the last 24 hours (`summariesFast` only).
    public var servedRequests24h: Int = 0
}

extension MirrorState {
    /// The state columns in the order `init(mirrorId:row:from:)` reads them, each with `prefix` (a table alias).
    static func positionalColumns(prefix: String) -> String {
        ["status", "fresh_as_of", "last_check_at", "last_success_at", "last_failure_at", "behind", "consecutive_failures",
         "next_run_at", "last_error", "paused_reason", "head_ref", "ref_count", "disk_bytes", "lfs_objects_present",
         "lfs_objects_total", "lfs_bytes_present", "lfs_bytes_total", "last_audit_at", "last_audit_result"]
            .map { prefix + $0 }.joined(separator: ", ")
    }

    /// Decodes the columns of `positionalColumns` starting at `offset` of `row`: by position, without GRDB's
    /// record decoding, because syncs and the dashboard's reloads of thousands of mirrors run this hot.
    init(mirrorId: Int64, row: Row, from offset: Int) {
        self.init(mirrorId: mirrorId)
        let o = offset
        status = MirrorStatus(rawValue: row[o] ?? "idle") ?? .idle
        freshAsOf = Catalog.date(row[o + 1])
        lastCheckAt = Catalog.date(row[o + 2])
        lastSuccessAt = Catalog.date(row[o + 3])
        lastFailureAt = Catalog.date(row[o + 4])
        behind = row[o + 5] ?? 0
        consecutiveFailures = row[o + 6] ?? 0
        nextRunAt = Catalog.date(row[o + 7])
        lastError = row[o + 8]
        pausedReason = row[o + 9]
        headRef = row[o + 10]
        refCount = row[o + 11] ?? 0
        diskBytes = row[o + 12] ?? 0
        lfsObjectsPresent = row[o + 13] ?? 0
        lfsObjectsTotal = row[o + 14] ?? 0
        lfsBytesPresent = row[o + 15] ?? 0
        lfsBytesTotal = row[o + 16] ?? 0
        lastAuditAt = Catalog.date(row[o + 17])
        lastAuditResult = row[o + 18]
    }
}

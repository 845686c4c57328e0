import Foundation
import GRDB

/// What started a piece of work.
public enum Trigger: String, Codable, Sendable {
    case manual, schedule, webhook, ssh
}

/// How a sync run ended.
public enum SyncResult: String, Codable, Sendable {
    case running
    /// Refs were fetched and updated.
    case updated
    /// The up-to-date check found nothing new; no fetch happened.
    case upToDate = "up-to-date"
    case failed, cancelled
    /// The upstream host answered with a rate limit: the mirror waits for the reset; not a failure.
    case rateLimited = "rate-limited"
}

/// One attempt to bring a mirror in line with its upstream.
public struct SyncRun: Sendable, Equatable, Identifiable {
    public var id: Int64?
    public var mirrorId: Int64
    public var jobId: Int64?
    public var trigger: Trigger
    public var actor: String
    public var startedAt: Date
    public var endedAt: Date?
    public var durationMs: Int?
    public var result: SyncResult = .running
    public var bytesReceived: Int64 = 0
    public var objectsReceived: Int = 0
    public var refsUpdated: Int = 0
    public var refsDeleted: Int = 0
    /// Steps of a stepwise fetch completed in this run (0: fetched in one piece, or nothing fetched).
    public var steps: Int = 0
    /// Steps of the whole stepwise fetch, earlier runs' included (an estimate while it is unfinished).
    public var stepsTotal: Int = 0
    /// Downloads tried: one for a fetch in one piece, one per step try.
    public var attempts: Int = 0
    public var error: String?
}

extension SyncRun: CatalogRecord {
    public static let databaseTableName = "sync_run"
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    /// Decodes a row by column name: `sync` reads the run of every job as it ends, and GRDB's Codable
    /// path converted each key from snake case for every row (a fifth of the client's CPU for 200
    /// up-to-date syncs).
    public init(row: Row) throws {
        let triggerText: String = row["trigger"], resultText: String = row["result"]
        guard let trigger = Trigger(rawValue: triggerText), let result = SyncResult(rawValue: resultText) else {
            throw DatabaseError(resultCode: .SQLITE_MISMATCH,
                                message: "sync run #\(row["id"] as Int64? ?? -1) has an unknown trigger or result (\(triggerText), \(resultText))")
        }
        id = row["id"]
        mirrorId = row["mirror_id"]
        jobId = row["job_id"]
        self.trigger = trigger
        actor = row["actor"]
        startedAt = Catalog.date(row["started_at"]) ?? Date(timeIntervalSince1970: 0)
        endedAt = Catalog.date(row["ended_at"])
        durationMs = row["duration_ms"]
        self.result = result
        bytesReceived = row["bytes_received"] ?? 0
        objectsReceived = row["objects_received"] ?? 0
        refsUpdated = row["refs_updated"] ?? 0
        refsDeleted = row["refs_deleted"] ?? 0
        steps = row["steps"] ?? 0
        stepsTotal = row["steps_total"] ?? 0
        attempts = row["attempts"] ?? 0
        error = row["error"]
    }
}

/// A ref of a mirror as recorded after its last successful check or fetch.
struct RefRecord: CatalogRecord {
    static let databaseTableName = "ref"
    var mirrorId: Int64
    var name: String
    var target: String
}

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
    public var error: String?
}

extension SyncRun: CatalogRecord {
    public static let databaseTableName = "sync_run"
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// A ref of a mirror as recorded after its last successful check or fetch.
struct RefRecord: CatalogRecord {
    static let databaseTableName = "ref"
    var mirrorId: Int64
    var name: String
    var target: String
}

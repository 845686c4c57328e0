import Foundation
import GRDB

/// How a maintenance run ended.
public enum MaintenanceResult: String, Codable, Sendable {
    case running, succeeded, failed, cancelled
}

/// One git maintenance of a mirror: the object store before and after.
public struct MaintenanceRun: Sendable, Equatable, Identifiable {
    public var id: Int64?
    public var mirrorId: Int64
    public var jobId: Int64?
    public var trigger: Trigger
    public var actor: String
    /// Why it ran: "manual", "301 packs (more than 20)", "weekly"…
    public var reason: String
    public var startedAt: Date
    public var endedAt: Date?
    public var durationMs: Int?
    public var result: MaintenanceResult = .running
    public var graceSeconds: Int
    public var packsBefore = 0
    public var packsAfter = 0
    public var looseBefore = 0
    public var looseAfter = 0
    public var bytesBefore: Int64 = 0
    public var bytesAfter: Int64 = 0
    public var error: String?
}

extension MaintenanceRun: CatalogRecord {
    public static let databaseTableName = "maintenance_run"
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// The last look at a mirror's object store, and whether maintenance is due.
public struct MirrorStorage: Sendable, Equatable {
    public var mirrorId: Int64
    public var packs = 0
    public var looseObjects = 0
    public var gitBytes: Int64 = 0
    public var measuredAt: Date?
    public var lastMaintainedAt: Date?
    /// Why maintenance is due (set after a sync), nil when it is not.
    public var maintenanceDue: String?

    public init(mirrorId: Int64) { self.mirrorId = mirrorId }
}

extension MirrorStorage: CatalogRecord {
    public static let databaseTableName = "mirror_storage"
}

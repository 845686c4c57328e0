import Foundation
import GRDB

/// The kinds of work the engine runs.
public enum JobKind: String, Codable, Sendable, CaseIterable {
    case sync, lfs, verify
    /// Git maintenance: one pack with a bitmap, a commit-graph, unreachable objects expired after a grace period.
    case maintain
}

/// queued → running → succeeded | failed | cancelled.
public enum JobState: String, Codable, Sendable {
    case queued, running, succeeded, failed, cancelled

    public var isFinished: Bool { self == .succeeded || self == .failed || self == .cancelled }
}

/// A unit of work in the catalog: any process may enqueue one; the one live engine runs it.
public struct Job: Sendable, Equatable, Identifiable {
    /// Priorities: an operator's request goes before a webhook's, which goes before the schedule's.
    public static let manualPriority = 10
    public static let webhookPriority = 5
    public static let schedulePriority = 0

    public var id: Int64?
    public var mirrorId: Int64
    public var kind: JobKind
    public var state: JobState = .queued
    public var trigger: Trigger
    public var actor: String
    public var priority: Int
    public var attempts: Int = 0
    /// The attempt that last made progress surviving an interruption (a completed fetch step); interrupted
    /// attempts count toward giving up only after it.
    public var progressAttempt: Int = 0
    public var createdAt: Date
    public var startedAt: Date?
    public var endedAt: Date?
    public var heartbeatAt: Date?
    public var engineId: String?
    public var phase: String?
    public var unitsDone: Int64 = 0
    public var unitsTotal: Int64 = 0
    public var bytesDone: Int64 = 0
    public var bytesTotal: Int64 = 0
    public var rate: Double = 0
    public var message: String?
    public var error: String?
    public var cancelRequested: Bool = false

    public init(mirrorId: Int64, kind: JobKind, trigger: Trigger, actor: Actor, priority: Int? = nil, createdAt: Date = Date()) {
        self.mirrorId = mirrorId
        self.kind = kind
        self.trigger = trigger
        self.actor = actor.description
        self.priority = priority ?? (trigger == .schedule ? Self.schedulePriority : trigger == .webhook ? Self.webhookPriority : Self.manualPriority)
        self.createdAt = createdAt
    }

    /// Estimated seconds left from bytes (or units) and the current rate.
    public var eta: TimeInterval? {
        guard rate > 0 else { return nil }
        if bytesTotal > 0 { return Double(max(0, bytesTotal - bytesDone)) / rate }
        return nil
    }

    /// Fraction done, 0…1, when totals are known.
    public var fraction: Double? {
        if bytesTotal > 0 { return min(1, Double(bytesDone) / Double(bytesTotal)) }
        if unitsTotal > 0 { return min(1, Double(unitsDone) / Double(unitsTotal)) }
        return nil
    }
}

extension Job: CatalogRecord {
    public static let databaseTableName = "job"
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    /// Decodes a row by column name. Jobs are read on every claim, every dashboard poll and every CLI follow;
    /// the Codable path converted each of the 22 keys from snake case for every row, which made the engine
    /// spend most of its time decoding jobs while 1,000 were queued.
    public init(row: Row) throws {
        let kindText: String = row["kind"], stateText: String = row["state"], triggerText: String = row["trigger"]
        guard let kind = JobKind(rawValue: kindText), let state = JobState(rawValue: stateText),
              let trigger = Trigger(rawValue: triggerText) else {
            throw DatabaseError(resultCode: .SQLITE_MISMATCH,
                                message: "job #\(row["id"] as Int64? ?? -1) has an unknown kind, state or trigger (\(kindText), \(stateText), \(triggerText))")
        }
        id = row["id"]
        mirrorId = row["mirror_id"]
        self.kind = kind
        self.state = state
        self.trigger = trigger
        actor = row["actor"]
        priority = row["priority"]
        attempts = row["attempts"]
        progressAttempt = row["progress_attempt"] ?? 0
        // Dates through the catalog's own parser: GRDB's goes through Foundation's Calendar (and ICU).
        createdAt = Catalog.date(row["created_at"]) ?? Date(timeIntervalSince1970: 0)
        startedAt = Catalog.date(row["started_at"])
        endedAt = Catalog.date(row["ended_at"])
        heartbeatAt = Catalog.date(row["heartbeat_at"])
        engineId = row["engine_id"]
        phase = row["phase"]
        unitsDone = row["units_done"]
        unitsTotal = row["units_total"]
        bytesDone = row["bytes_done"]
        bytesTotal = row["bytes_total"]
        rate = row["rate"]
        message = row["message"]
        error = row["error"]
        cancelRequested = row["cancel_requested"] ?? false
    }
}

/// A job with its mirror's name, as lists show it.
public struct JobSummary: Sendable, Equatable {
    public var job: Job
    public var mirror: String
    /// The cap and stall timeout it runs under, and until when it waits (`activeJobs` fills it in).
    public var limits: JobTransferLimits?
}

/// Live progress a running job reports (written to its row at most 4 times a second).
public struct JobProgress: Sendable, Equatable {
    public var phase: String
    public var unitsDone: Int64 = 0
    public var unitsTotal: Int64 = 0
    public var bytesDone: Int64 = 0
    public var bytesTotal: Int64 = 0
    public var rate: Double = 0
    public var message: String?

    public init(phase: String, unitsDone: Int64 = 0, unitsTotal: Int64 = 0, bytesDone: Int64 = 0,
                bytesTotal: Int64 = 0, rate: Double = 0, message: String? = nil) {
        self.phase = phase
        self.unitsDone = unitsDone
        self.unitsTotal = unitsTotal
        self.bytesDone = bytesDone
        self.bytesTotal = bytesTotal
        self.rate = rate
        self.message = message
    }
}

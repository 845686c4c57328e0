import Foundation
import GRDB

/// How an audit ended.
public enum AuditResult: String, Codable, Sendable, CaseIterable {
    case running
    /// Everything checked matched; nothing is missing or out of place (orphans are only noted).
    case clean
    /// Something is wrong and was not (or could not be asked to be) repaired; bad bytes are quarantined.
    case problems
    /// Problems were found and `--repair` fixed every one of them.
    case repaired
    /// `--repair` could not fix everything: upstream no longer has some of it.
    case unrecoverable
    /// The audit could not run to the end (see `error`).
    case failed
    case cancelled
    /// The process running it died; a later audit closed it.
    case interrupted

    /// Whether a verify job with this result succeeded.
    public var isSuccess: Bool { self == .clean || self == .repaired }
}

/// One audit of one mirror: who ran it, what it checked, and what it found (counts by verdict).
public struct AuditRun: Sendable, Equatable, Identifiable {
    public var id: Int64?
    public var mirrorId: Int64
    public var jobId: Int64?
    public var trigger: Trigger
    public var actor: String
    public var startedAt: Date
    public var endedAt: Date?
    public var durationMs: Int?
    public var result: AuditResult = .running
    public var repair = false
    public var sinceSeconds: Int?
    public var threads = 1
    public var maxRate: Int64?
    public var lfsObjectsChecked = 0
    public var lfsBytesChecked: Int64 = 0
    /// Objects `--since` skipped because they were verified recently.
    public var lfsObjectsSkipped = 0
    public var gitObjectsChecked = 0
    public var gitBytesChecked: Int64 = 0
    public var gitPacksChecked = 0
    public var gitPacksSkipped = 0
    /// Findings that are problems (every verdict but ok and orphan).
    public var problems = 0
    public var quarantined = 0
    public var repaired = 0
    public var unrecoverable = 0
    /// Counts by verdict as JSON: `{"lfs": {"ok": 12, "corrupt": 1}, "git": {"ok": 3400}}`.
    public var counts = "{}"
    public var error: String?

    public init(mirrorId: Int64, jobId: Int64?, trigger: Trigger, actor: String, startedAt: Date) {
        self.mirrorId = mirrorId
        self.jobId = jobId
        self.trigger = trigger
        self.actor = actor
        self.startedAt = startedAt
    }

    /// `counts` decoded: area → verdict → how many.
    public var verdictCounts: [String: [String: Int]] {
        (try? JSONSerialization.jsonObject(with: Data(counts.utf8)) as? [String: [String: Int]]) ?? [:]
    }
}

extension AuditRun: CatalogRecord {
    public static let databaseTableName = "audit_run"
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

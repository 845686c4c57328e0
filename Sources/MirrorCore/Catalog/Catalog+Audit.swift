import Foundation
import GRDB

/// An LFS object as an audit sees it: what the pointer promises and what the last check said.
struct AuditLFSRow: Sendable, Equatable {
    var oid: String
    var size: Int64
    var state: LFSObjectState
    var verifiedAt: Date?
    var verdict: String?
    /// Why the last fetch (or audit) left it as it is.
    var error: String?
}

/// A new verdict for one LFS object of the mirror being audited.
struct LFSVerdictUpdate: Sendable, Equatable {
    var oid: String
    var verdict: AuditVerdict
    /// `.present` when the file verified, `.missing` when it is gone or was quarantined; nil keeps the state
    /// (a missing object stays `unavailable` or `failed` when a fetch said so).
    var state: LFSObjectState?
    var error: String?
}

extension Catalog {
    /// Most findings an audit stores (its counts stay exact); enough for any operator to act on.
    static let maxStoredFindings = 10_000

    // MARK: - Options of queued verify jobs

    /// Stores the options a verify job runs with (a job without any runs with the defaults).
    public func setAuditRequest(jobId: Int64, _ options: AuditOptions) throws {
        try write { db in
            try db.execute(sql: """
                INSERT INTO audit_request (job_id, repair, threads, max_rate, since_seconds) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(job_id) DO UPDATE SET repair = excluded.repair, threads = excluded.threads,
                    max_rate = excluded.max_rate, since_seconds = excluded.since_seconds
                """, arguments: [jobId, options.repair, options.threads, options.maxRate, options.sinceSeconds])
        }
    }

    /// The options a verify job was queued with, or nil (defaults).
    public func auditRequest(jobId: Int64) throws -> AuditOptions? {
        try read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM audit_request WHERE job_id = ?", arguments: [jobId]) else { return nil }
            return AuditOptions(repair: row["repair"], threads: row["threads"], maxRate: row["max_rate"], sinceSeconds: row["since_seconds"])
        }
    }

    // MARK: - Runs

    /// Starts an audit: closes runs a dead process left open, inserts the run, marks the mirror verifying.
    func beginAudit(mirror: Mirror, jobId: Int64?, trigger: Trigger, actor: Actor, options: AuditOptions, threads: Int,
                    now: Date = Date()) throws -> AuditRun {
        try write { db in
            try db.execute(sql: """
                UPDATE audit_run SET result = 'interrupted', ended_at = ?, error = 'interrupted: the process running it stopped'
                WHERE mirror_id = ? AND result = 'running'
                """, arguments: [now, mirror.id!])
            var run = AuditRun(mirrorId: mirror.id!, jobId: jobId, trigger: trigger, actor: actor.description, startedAt: now)
            run.repair = options.repair
            run.sinceSeconds = options.sinceSeconds
            run.threads = threads
            run.maxRate = options.maxRate
            try run.insert(db)
            try db.execute(sql: "UPDATE mirror_state SET status = 'verifying' WHERE mirror_id = ? AND status != 'paused'",
                           arguments: [mirror.id!])
            return run
        }
    }

    /// Ends an audit in one transaction: the run's counts and result, its findings, the mirror's last audit,
    /// LFS counters and status, and an event.
    @discardableResult
    func finishAudit(_ run: AuditRun, mirror: Mirror, findings: [AuditFinding], actor: Actor,
                     now: Date = Date()) throws -> (AuditRun, MirrorState) {
        let mirrorId = mirror.id!
        return try write { db in
            var run = run
            run.endedAt = now
            run.durationMs = Int(now.timeIntervalSince(run.startedAt) * 1000)
            run.error = run.error.map(Redactor.redact)
            try run.update(db)
            for var finding in findings.prefix(Self.maxStoredFindings) {
                finding.auditId = run.id
                finding.detail = Redactor.redact(finding.detail)
                try finding.insert(db)
            }

            let counts = try Self.lfsCounts(mirrorId: mirrorId, db: db)
            var state = try MirrorState.fetchOne(db, key: mirrorId) ?? MirrorState(mirrorId: mirrorId)
            state.lfsObjectsTotal = counts.objectsTotal
            state.lfsObjectsPresent = counts.objectsPresent
            state.lfsBytesTotal = counts.bytesTotal
            state.lfsBytesPresent = counts.bytesPresent
            if run.result != .cancelled {
                state.lastAuditAt = now
                state.lastAuditResult = run.result.rawValue
            }
            if state.status == .verifying {
                let pending = try Job.filter(Column("mirror_id") == mirrorId && Column("state") == JobState.queued.rawValue).fetchCount(db)
                if pending > 0 {
                    state.status = .queued
                } else if state.pausedReason != nil {
                    state.status = .paused
                } else if state.consecutiveFailures > 0 {
                    state.status = .failed
                } else {
                    state.status = state.lastSuccessAt == nil ? .idle : .ok
                }
            }
            try state.save(db)
            try Event(actor: actor, action: "verify", mirror: mirror.name, message: Self.auditMessage(run), at: now).append(to: db)
            return (run, state)
        }
    }

    /// "audit #4 clean: 12 LFS objects (3.1 MiB) and 4521 git objects verified" and the like.
    static func auditMessage(_ run: AuditRun) -> String {
        var text = "audit #\(run.id ?? 0) \(run.result.rawValue)"
        if let error = run.error, run.result == .failed || run.result == .cancelled { return text + ": " + error }
        text += ": \(run.lfsObjectsChecked) LFS objects (\(ByteFormat.format(run.lfsBytesChecked))) and \(run.gitObjectsChecked) git objects verified"
        if run.lfsObjectsSkipped > 0 { text += ", \(run.lfsObjectsSkipped) skipped (verified recently)" }
        var bad: [String] = []
        for (area, verdicts) in run.verdictCounts.sorted(by: { $0.key < $1.key }) {
            for (verdict, n) in verdicts.sorted(by: { $0.key < $1.key }) where AuditVerdict(rawValue: verdict)?.isProblem == true {
                bad.append("\(n) \(verdict) (\(area))")
            }
        }
        if !bad.isEmpty { text += "; " + bad.joined(separator: ", ") }
        if run.quarantined > 0 { text += "; \(run.quarantined) moved to quarantine" }
        if run.repaired > 0 { text += "; \(run.repaired) repaired" }
        if run.unrecoverable > 0 { text += "; \(run.unrecoverable) unrecoverable" }
        return text
    }

    /// The latest audits of a mirror, newest first.
    public func auditRuns(mirrorId: Int64, limit: Int = 20) throws -> [AuditRun] {
        try read { db in try AuditRun.filter(Column("mirror_id") == mirrorId).order(Column("id").desc).limit(limit).fetchAll(db) }
    }

    /// The last audit a verify job produced.
    public func auditRun(jobId: Int64) throws -> AuditRun? {
        try read { db in try AuditRun.filter(Column("job_id") == jobId).order(Column("id").desc).fetchOne(db) }
    }

    /// What an audit found, in the order it found it.
    public func auditFindings(auditId: Int64, limit: Int = 1000) throws -> [AuditFinding] {
        try read { db in try AuditFinding.filter(Column("audit_id") == auditId).order(Column("id")).limit(limit).fetchAll(db) }
    }

    // MARK: - LFS objects

    /// Every LFS object the mirror references, with its last verdict.
    func auditLFSRows(mirrorId: Int64) throws -> [AuditLFSRow] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT oid, size, state, verified_at, verdict, error FROM lfs_object
                WHERE mirror_id = ? AND state NOT IN ('trashed', 'archived', 'pruned')
                """,
                             arguments: [mirrorId]).map { row in
                AuditLFSRow(oid: row["oid"], size: row["size"], state: LFSObjectState(rawValue: row["state"]) ?? .missing,
                            verifiedAt: row["verified_at"], verdict: row["verdict"], error: row["error"])
            }
        }
    }

    /// Records verdicts in one transaction: `verdict` and `verified_at` always; state and error as given.
    func recordLFSVerdicts(mirrorId: Int64, _ updates: [LFSVerdictUpdate], now: Date = Date()) throws {
        guard !updates.isEmpty else { return }
        try write { db in
            let ok = try db.makeStatement(sql: """
                UPDATE lfs_object SET verdict = ?, verified_at = ?, state = 'present', error = NULL,
                    source = COALESCE(source, 'found') WHERE mirror_id = ? AND oid = ?
                """)
            let gone = try db.makeStatement(sql: "UPDATE lfs_object SET verdict = ?, verified_at = ?, state = 'missing', error = ? WHERE mirror_id = ? AND oid = ?")
            let keep = try db.makeStatement(sql: """
                UPDATE lfs_object SET verdict = ?, verified_at = ?, error = COALESCE(?, error) WHERE mirror_id = ? AND oid = ?
                """)
            for u in updates {
                let error = u.error.map(Redactor.redact)
                switch u.state {
                case .present?: try ok.execute(arguments: [u.verdict.rawValue, now, mirrorId, u.oid])
                case .missing?: try gone.execute(arguments: [u.verdict.rawValue, now, error, mirrorId, u.oid])
                default: try keep.execute(arguments: [u.verdict.rawValue, now, error, mirrorId, u.oid])
                }
            }
        }
    }

    /// Marks another mirror's copy of an object missing (its file was a hard link of a corrupt one).
    func markLFSObjectMissing(mirrorName: String, oid: String, verdict: AuditVerdict, error: String, now: Date = Date()) throws {
        try write { db in
            try db.execute(sql: """
                UPDATE lfs_object SET state = 'missing', verdict = ?, verified_at = ?, error = ?
                WHERE oid = ? AND mirror_id = (SELECT id FROM mirror WHERE name = ?) AND state NOT IN ('trashed', 'archived', 'pruned')
                """, arguments: [verdict.rawValue, now, Redactor.redact(error), oid, mirrorName])
            try db.execute(sql: """
                UPDATE mirror_state SET lfs_objects_present = (SELECT COUNT(*) FROM lfs_object WHERE mirror_id = mirror_state.mirror_id AND state = 'present'),
                    lfs_bytes_present = (SELECT COALESCE(SUM(size), 0) FROM lfs_object WHERE mirror_id = mirror_state.mirror_id AND state = 'present')
                WHERE mirror_id = (SELECT id FROM mirror WHERE name = ?)
                """, arguments: [mirrorName])
        }
    }

    // MARK: - Packs

    /// Packs verified before: name → (size, when).
    func verifiedPacks(mirrorId: Int64) throws -> [String: (size: Int64, at: Date)] {
        try read { db in
            var out: [String: (size: Int64, at: Date)] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT pack, size, verified_at FROM audit_pack WHERE mirror_id = ?", arguments: [mirrorId]) {
                out[row["pack"]] = (row["size"], row["verified_at"])
            }
            return out
        }
    }

    /// Remembers packs that verified clean, and forgets packs no longer in the mirror.
    func recordVerifiedPacks(mirrorId: Int64, verified: [VerifiedPack], present: [String], now: Date = Date()) throws {
        try write { db in
            let upsert = try db.makeStatement(sql: """
                INSERT INTO audit_pack (mirror_id, pack, size, verified_at) VALUES (?, ?, ?, ?)
                ON CONFLICT(mirror_id, pack) DO UPDATE SET size = excluded.size, verified_at = excluded.verified_at
                """)
            for pack in verified { try upsert.execute(arguments: [mirrorId, pack.name, pack.size, now]) }
            let known = try String.fetchAll(db, sql: "SELECT pack FROM audit_pack WHERE mirror_id = ?", arguments: [mirrorId])
            let keep = Set(present)
            for name in known where !keep.contains(name) {
                try db.execute(sql: "DELETE FROM audit_pack WHERE mirror_id = ? AND pack = ?", arguments: [mirrorId, name])
            }
        }
    }
}

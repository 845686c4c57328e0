import Foundation
import GRDB

/// The outcome of the git part of a sync, handed to the catalog in one piece.
public struct SyncOutcome: Sendable {
    public var result: SyncResult
    public var refs: [String: String]
    public var headRef: String?
    public var behind: Int
    public var bytesReceived: Int64 = 0
    public var objectsReceived: Int = 0
    public var refsUpdated: Int = 0
    public var refsDeleted: Int = 0
    public var diskBytes: Int64 = 0
    /// Steps of a stepwise fetch completed in this run, the steps of the whole fetch, and downloads tried.
    public var steps = 0
    public var stepsTotal = 0
    public var attempts = 0
    public var error: String?
    /// With `result == .rateLimited`: the host and its reset, recorded with the run.
    public var rateLimit: HostRateLimit?

    public init(result: SyncResult, refs: [String: String] = [:], headRef: String? = nil, behind: Int = 0) {
        self.result = result
        self.refs = refs
        self.headRef = headRef
        self.behind = behind
    }
}

extension Catalog {

    /// Records that `host`'s link cut a transfer after carrying `bytes` (the average with the last cut, when
    /// that was within a week): fetches from it go in steps sized to it.
    public func recordLinkCut(host: String, bytes: Int64, now: Date = Date()) throws {
        try write { db in
            let previous = try Int64.fetchOne(db, sql: "SELECT cut_bytes FROM host_link WHERE host = ? AND cut_at > ?",
                                              arguments: [host, now.addingTimeInterval(-Self.linkMemory)])
            let value = previous.map { ($0 + max(0, bytes)) / 2 } ?? max(0, bytes)
            try db.execute(sql: "INSERT OR REPLACE INTO host_link (host, cut_bytes, cut_at) VALUES (?, ?, ?)",
                           arguments: [host, value, now])
        }
    }

    /// The bytes `host`'s link carried before its cuts of the last week, or nil when it cut none.
    public func linkCut(host: String, now: Date = Date()) throws -> Int64? {
        try read { db in
            try Int64.fetchOne(db, sql: "SELECT cut_bytes FROM host_link WHERE host = ? AND cut_at > ?",
                               arguments: [host, now.addingTimeInterval(-Self.linkMemory)])
        }
    }

    /// How long a host's cut is remembered.
    static let linkMemory: TimeInterval = 7 * 86400

    /// Starts a run: inserts it and marks the mirror syncing.
    public func beginRun(mirror: Mirror, trigger: Trigger, actor: Actor, jobId: Int64? = nil, startedAt: Date = Date()) throws -> SyncRun {
        try write { db in
            var run = SyncRun(mirrorId: mirror.id!, jobId: jobId, trigger: trigger, actor: actor.description, startedAt: startedAt)
            try db.cachedStatement(sql: """
                INSERT INTO sync_run (mirror_id, job_id, trigger, actor, started_at, result) VALUES (?, ?, ?, ?, ?, ?)
                """).execute(arguments: [run.mirrorId, run.jobId, run.trigger.rawValue, run.actor, run.startedAt, run.result.rawValue])
            run.id = db.lastInsertedRowID
            try db.cachedStatement(sql: "UPDATE mirror_state SET status = 'syncing' WHERE mirror_id = ?").execute(arguments: [mirror.id!])
            return run
        }
    }

    /// Ends a run: records the outcome, updates state, refs and schedule, and logs an event, all at once.
    @discardableResult
    public func finishRun(_ run: SyncRun, mirror: Mirror, outcome: SyncOutcome, actor: Actor,
                          policy: SchedulePolicy = SchedulePolicy(), now: Date = Date()) throws -> (SyncRun, MirrorState) {
        try write { db in
            var run = run
            run.endedAt = now
            run.durationMs = Int(now.timeIntervalSince(run.startedAt) * 1000)
            run.result = outcome.result
            run.bytesReceived = outcome.bytesReceived
            run.objectsReceived = outcome.objectsReceived
            run.refsUpdated = outcome.refsUpdated
            run.refsDeleted = outcome.refsDeleted
            run.steps = outcome.steps
            run.stepsTotal = outcome.stepsTotal
            run.attempts = outcome.attempts
            run.error = outcome.error.map(Redactor.redact)
            if run.id == nil {
                // A run that never wrote to the repository (up to date, or failed before fetching) was not
                // recorded as begun: it is recorded whole, here.
                try db.cachedStatement(sql: """
                    INSERT INTO sync_run (mirror_id, job_id, trigger, actor, started_at, ended_at, duration_ms, result,
                        bytes_received, objects_received, refs_updated, refs_deleted, steps, steps_total, attempts, error)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """).execute(arguments: [run.mirrorId, run.jobId, run.trigger.rawValue, run.actor, run.startedAt, run.endedAt,
                                            run.durationMs, run.result.rawValue, run.bytesReceived, run.objectsReceived,
                                            run.refsUpdated, run.refsDeleted, run.steps, run.stepsTotal, run.attempts, run.error])
                run.id = db.lastInsertedRowID
            } else {
                try db.cachedStatement(sql: """
                    UPDATE sync_run SET ended_at = ?, duration_ms = ?, result = ?, bytes_received = ?, objects_received = ?,
                        refs_updated = ?, refs_deleted = ?, steps = ?, steps_total = ?, attempts = ?, error = ?
                    WHERE id = ?
                    """).execute(arguments: [run.endedAt, run.durationMs, run.result.rawValue, run.bytesReceived, run.objectsReceived,
                                            run.refsUpdated, run.refsDeleted, run.steps, run.stepsTotal, run.attempts, run.error, run.id])
            }

            var state = try Self.syncState(mirrorId: mirror.id!, db: db) ?? MirrorState(mirrorId: mirror.id!)
            state.lastCheckAt = now
            switch outcome.result {
            case .updated, .upToDate:
                state.status = .ok
                state.freshAsOf = run.startedAt
                state.lastSuccessAt = now
                state.behind = 0
                state.consecutiveFailures = 0
                state.lastError = nil
                state.headRef = outcome.headRef
                state.refCount = outcome.refs.count
                state.nextRunAt = now.addingTimeInterval(policy.nextDelay(intervalSeconds: mirror.intervalSeconds))
                if outcome.diskBytes > 0 { state.diskBytes = outcome.diskBytes }
                try Self.storeRefs(outcome.refs, mirrorId: mirror.id!, db: db)
            case .failed:
                state.lastFailureAt = now
                // A run that completed fetch steps made progress (they are kept): the count starts afresh.
                state.consecutiveFailures = outcome.steps > 0 ? 1 : state.consecutiveFailures + 1
                state.lastError = run.error
                if outcome.behind > 0 { state.behind = outcome.behind }
                if state.consecutiveFailures >= policy.pauseAfterFailures {
                    state.status = .paused
                    state.pausedReason = "paused after \(state.consecutiveFailures) consecutive failures; last: \(run.error ?? "unknown error")"
                    state.nextRunAt = nil
                } else {
                    state.status = .failed
                    state.nextRunAt = now.addingTimeInterval(policy.retryDelay(failures: state.consecutiveFailures, intervalSeconds: mirror.intervalSeconds))
                }
            case .rateLimited:
                // A state of the host, not a failure of the mirror: no failure counted, no backoff, no pause;
                // the next check comes after the reset.
                if let limit = outcome.rateLimit {
                    let effective = try Self.recordRateLimit(limit, actor: actor, now: now, db: db)
                    if state.nextRunAt.map({ $0 < effective.until }) ?? (state.pausedReason == nil) { state.nextRunAt = effective.until }
                }
                state.status = state.pausedReason != nil ? .paused
                    : state.lastSuccessAt == nil ? .idle : (state.consecutiveFailures > 0 ? .failed : .ok)
            case .cancelled, .running:
                state.status = state.lastSuccessAt == nil ? .idle : (state.consecutiveFailures > 0 ? .failed : .ok)
            }
            try Self.saveSyncState(state, db: db)

            let message: String
            switch outcome.result {
            case .updated:
                message = "synced: \(outcome.refsUpdated) refs updated, \(outcome.refsDeleted) deleted, \(outcome.objectsReceived) objects, \(ByteFormat.format(outcome.bytesReceived))"
            case .upToDate: message = "up to date (\(outcome.refs.count) refs)"
            case .failed:
                let kept = outcome.steps > 0 ? " (\(outcome.steps) fetch steps completed and kept)" : ""
                message = "sync failed\(kept): \(run.error ?? "unknown error")"
            case .cancelled: message = "sync cancelled"
            case .rateLimited: message = "sync waits: \(run.error ?? "the upstream host is rate-limited")"
            case .running: message = "sync interrupted"
            }
            try Event(actor: actor, action: "sync", mirror: mirror.name, message: message, at: now).append(to: db)
            return (run, state)
        }
    }

    /// A mirror's state row, decoded by column position (this runs on every sync).
    static func syncState(mirrorId: Int64, db: Database) throws -> MirrorState? {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: """
            SELECT \(MirrorState.positionalColumns(prefix: "")) FROM mirror_state WHERE mirror_id = ?
            """), arguments: [mirrorId]) else { return nil }
        return MirrorState(mirrorId: mirrorId, row: row, from: 0)
    }

    /// Writes the columns a sync owns (not the LFS or audit ones); inserts the row when it is missing.
    static func saveSyncState(_ s: MirrorState, db: Database) throws {
        try db.cachedStatement(sql: """
            UPDATE mirror_state SET status = ?, fresh_as_of = ?, last_check_at = ?, last_success_at = ?, last_failure_at = ?,
                behind = ?, consecutive_failures = ?, next_run_at = ?, last_error = ?, paused_reason = ?, head_ref = ?,
                ref_count = ?, disk_bytes = ?
            WHERE mirror_id = ?
            """).execute(arguments: [s.status.rawValue, s.freshAsOf, s.lastCheckAt, s.lastSuccessAt, s.lastFailureAt,
                                    s.behind, s.consecutiveFailures, s.nextRunAt, s.lastError, s.pausedReason, s.headRef,
                                    s.refCount, s.diskBytes, s.mirrorId])
        if db.changesCount == 0 {
            var copy = s
            try copy.insert(db)
        }
    }

    /// Makes the recorded refs of a mirror equal `refs`, touching only the rows that differ: an up-to-date
    /// sync (the usual one) writes none.
    static func storeRefs(_ refs: [String: String], mirrorId: Int64, db: Database) throws {
        var stored: [String: String] = [:]
        let rows = try Row.fetchCursor(db.cachedStatement(sql: "SELECT name, target FROM ref WHERE mirror_id = ?"), arguments: [mirrorId])
        while let row = try rows.next() { stored[row[0]] = row[1] }
        let upsert = try db.cachedStatement(sql: "INSERT OR REPLACE INTO ref (mirror_id, name, target) VALUES (?, ?, ?)")
        for (name, target) in refs where stored[name] != target {
            try upsert.execute(arguments: [mirrorId, name, target])
        }
        let delete = try db.cachedStatement(sql: "DELETE FROM ref WHERE mirror_id = ? AND name = ?")
        for name in stored.keys where refs[name] == nil {
            try delete.execute(arguments: [mirrorId, name])
        }
    }

    /// The refs recorded for a mirror at its last successful sync.
    public func refs(mirrorId: Int64) throws -> [String: String] {
        try read { db in
            let rows = try RefRecord.filter(Column("mirror_id") == mirrorId).fetchAll(db)
            return Dictionary(rows.map { ($0.name, $0.target) }, uniquingKeysWith: { a, _ in a })
        }
    }

    /// The latest runs of a mirror, newest first.
    public func runs(mirrorId: Int64, limit: Int = 20) throws -> [SyncRun] {
        try read { db in
            try SyncRun.filter(Column("mirror_id") == mirrorId).order(Column("id").desc).limit(limit).fetchAll(db)
        }
    }
}

extension Catalog {
    /// The last run a job produced (a job re-queued after a crash may have produced several).
    public func lastRun(jobId: Int64) throws -> SyncRun? {
        try lastRuns(jobIds: [jobId])[jobId]
    }

    /// The last run of each of these jobs (jobs without one are absent).
    public func lastRuns(jobIds: [Int64]) throws -> [Int64: SyncRun] {
        guard !jobIds.isEmpty else { return [:] }
        return try read { db in
            var out: [Int64: SyncRun] = [:]
            for run in try SyncRun.filter(jobIds.contains(Column("job_id"))).order(Column("id")).fetchAll(db) {
                if let job = run.jobId { out[job] = run }
            }
            return out
        }
    }
}

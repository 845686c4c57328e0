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
    public var error: String?

    public init(result: SyncResult, refs: [String: String] = [:], headRef: String? = nil, behind: Int = 0) {
        self.result = result
        self.refs = refs
        self.headRef = headRef
        self.behind = behind
    }
}

extension Catalog {

    /// Starts a run: inserts it and marks the mirror syncing.
    public func beginRun(mirror: Mirror, trigger: Trigger, actor: Actor, jobId: Int64? = nil) throws -> SyncRun {
        try write { db in
            var run = SyncRun(mirrorId: mirror.id!, jobId: jobId, trigger: trigger, actor: actor.description, startedAt: Date())
            try run.insert(db)
            try db.execute(sql: "UPDATE mirror_state SET status = 'syncing' WHERE mirror_id = ?", arguments: [mirror.id!])
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
            run.error = outcome.error.map(Redactor.redact)
            try run.update(db)

            var state = try MirrorState.fetchOne(db, key: mirror.id!) ?? MirrorState(mirrorId: mirror.id!)
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
                try RefRecord.filter(Column("mirror_id") == mirror.id!).deleteAll(db)
                for (name, target) in outcome.refs {
                    try RefRecord(mirrorId: mirror.id!, name: name, target: target).append(to: db)
                }
            case .failed:
                state.lastFailureAt = now
                state.consecutiveFailures += 1
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
            case .cancelled, .running:
                state.status = state.lastSuccessAt == nil ? .idle : (state.consecutiveFailures > 0 ? .failed : .ok)
            }
            try state.save(db)

            let message: String
            switch outcome.result {
            case .updated:
                message = "synced: \(outcome.refsUpdated) refs updated, \(outcome.refsDeleted) deleted, \(outcome.objectsReceived) objects, \(ByteFormat.format(outcome.bytesReceived))"
            case .upToDate: message = "up to date (\(outcome.refs.count) refs)"
            case .failed: message = "sync failed: \(run.error ?? "unknown error")"
            case .cancelled: message = "sync cancelled"
            case .running: message = "sync interrupted"
            }
            try Event(actor: actor, action: "sync", mirror: mirror.name, message: message, at: now).append(to: db)
            return (run, state)
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
        try read { db in try SyncRun.filter(Column("job_id") == jobId).order(Column("id").desc).fetchOne(db) }
    }
}

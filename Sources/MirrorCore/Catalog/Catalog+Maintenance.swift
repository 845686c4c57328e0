import Foundation
import GRDB

extension Catalog {
    /// Records that a maintenance run began.
    func beginMaintenance(_ run: MaintenanceRun) throws -> MaintenanceRun {
        try write { db in
            var run = run
            try run.insert(db)
            return run
        }
    }

    /// Closes a maintenance run: the mirror's storage row, its disk size, its status, and an event.
    func finishMaintenance(_ run: MaintenanceRun, mirror: Mirror, after: GitStorageStats?, diskBytes: Int64?, now: Date = Date()) throws -> MaintenanceRun {
        try write { db in
            var run = run
            run.endedAt = now
            run.durationMs = Int(now.timeIntervalSince(run.startedAt) * 1000)
            run.error = run.error.map(Redactor.redact)
            try run.update(db)
            var storage = try MirrorStorage.fetchOne(db, key: mirror.id!) ?? MirrorStorage(mirrorId: mirror.id!)
            if let after {
                storage.packs = after.packs
                storage.looseObjects = after.looseObjects
                storage.gitBytes = after.objectBytes
                storage.measuredAt = now
            }
            if run.result == .succeeded {
                storage.lastMaintainedAt = now
                storage.maintenanceDue = nil
            }
            try storage.save(db)
            if let diskBytes {
                try db.execute(sql: "UPDATE mirror_state SET disk_bytes = ? WHERE mirror_id = ?", arguments: [diskBytes, mirror.id!])
            }
            // The enqueue marked the mirror queued; with nothing else queued (this job is still running) it
            // returns to what it was.
            try Self.settleQueuedStatus(mirrorId: mirror.id!, db: db, waitingOn: [.queued])
            let actor = Actor(description: run.actor)
            try Event(actor: actor, action: "maintain", mirror: mirror.name, message: Self.maintenanceMessage(run), at: now).append(to: db)
            return run
        }
    }

    /// "maintenance #3 succeeded: 301 packs (12.1 MiB) and 0 loose objects → 1 pack (3.2 MiB) with a bitmap…"
    static func maintenanceMessage(_ run: MaintenanceRun) -> String {
        let head = "maintenance #\(run.id ?? 0) \(run.result.rawValue) (\(run.reason))"
        switch run.result {
        case .succeeded:
            return head + ": \(run.packsBefore) pack(s) (\(ByteFormat.format(run.bytesBefore))) and \(run.looseBefore) loose object(s) → "
                + "\(run.packsAfter) pack(s) (\(ByteFormat.format(run.bytesAfter))) and \(run.looseAfter) loose; unreachable objects older than \(Interval.format(run.graceSeconds)) expired"
        default:
            return head + (run.error.map { ": \($0)" } ?? "")
        }
    }

    /// The maintenance run of a job.
    public func maintenanceRun(jobId: Int64) throws -> MaintenanceRun? {
        try read { db in try MaintenanceRun.filter(Column("job_id") == jobId).order(Column("id").desc).fetchOne(db) }
    }

    /// A mirror's latest maintenance runs, newest first.
    public func maintenanceRuns(mirrorId: Int64, limit: Int = 10) throws -> [MaintenanceRun] {
        try read { db in try MaintenanceRun.filter(Column("mirror_id") == mirrorId).order(Column("id").desc).limit(limit).fetchAll(db) }
    }

    /// The storage row of a mirror (nil before anything looked).
    public func storage(mirrorId: Int64) throws -> MirrorStorage? {
        try read { db in try MirrorStorage.fetchOne(db, key: mirrorId) }
    }

    /// Stores the options (grace period) a maintain job runs with.
    public func setMaintenanceRequest(jobId: Int64, graceSeconds: Int) throws {
        try write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO maintenance_request (job_id, grace_seconds) VALUES (?, ?)", arguments: [jobId, graceSeconds])
        }
    }

    /// The grace period a maintain job was queued with, if any.
    public func maintenanceRequest(jobId: Int64) throws -> Int? {
        try read { db in try Int.fetchOne(db, sql: "SELECT grace_seconds FROM maintenance_request WHERE job_id = ?", arguments: [jobId]) }
    }

    /// Records what the after-sync look at a mirror's store found, and why maintenance is due (or nil).
    /// Writes only when something changed.
    func noteStorage(mirrorId: Int64, stats: GitStorageStats, due: String?, now: Date = Date()) throws {
        let current = try storage(mirrorId: mirrorId)
        if let current, current.packs == stats.packs, current.looseObjects == stats.looseObjects, current.maintenanceDue == due { return }
        try write { db in
            var storage = try MirrorStorage.fetchOne(db, key: mirrorId) ?? MirrorStorage(mirrorId: mirrorId)
            storage.packs = stats.packs
            storage.looseObjects = stats.looseObjects
            storage.measuredAt = now
            storage.maintenanceDue = due
            try storage.save(db)
        }
    }

    /// Mirrors whose maintenance is due now: marked due after a sync, or not maintained for `interval`
    /// (counted from their creation when never). Synced once, not paused, nothing queued or running.
    func mirrorsDueForMaintenance(intervalSeconds: Int, now: Date = Date(), limit: Int = 100) throws -> [(Mirror, String)] {
        try read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT mirror.*, mirror_storage.maintenance_due AS due FROM mirror
                JOIN mirror_state ON mirror_state.mirror_id = mirror.id
                LEFT JOIN mirror_storage ON mirror_storage.mirror_id = mirror.id
                WHERE mirror_state.last_success_at IS NOT NULL AND mirror_state.status != 'paused'
                  AND (mirror_storage.maintenance_due IS NOT NULL
                       OR COALESCE(mirror_storage.last_maintained_at, mirror.created_at) < ?)
                  AND NOT EXISTS (SELECT 1 FROM job WHERE job.mirror_id = mirror.id AND job.state IN ('queued', 'running'))
                ORDER BY mirror.id LIMIT ?
                """, arguments: [now.addingTimeInterval(-Double(intervalSeconds)), limit])
            return try rows.map { row in (try Mirror(row: row), (row["due"] as String?) ?? "not maintained for \(Interval.format(intervalSeconds))") }
        }
    }
}

extension Catalog {
    /// Every mirror's storage row, by mirror id.
    public func storageRows() throws -> [Int64: MirrorStorage] {
        try read { db in
            Dictionary(uniqueKeysWithValues: try MirrorStorage.fetchAll(db).map { ($0.mirrorId, $0) })
        }
    }
}

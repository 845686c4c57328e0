import Foundation
import GRDB

extension Catalog {
    /// Queues a job of `kind` for each mirror. A mirror that already has a queued or running job of that
    /// kind gets no second one: its existing job is returned (raised to the new priority when higher).
    @discardableResult
    public func enqueue(_ mirrors: [Mirror], kind: JobKind, trigger: Trigger, actor: Actor, now: Date = Date()) throws -> [Job] {
        try write { db in try mirrors.map { try Self.enqueue($0, kind: kind, trigger: trigger, actor: actor, now: now, db: db) } }
    }

    static func enqueue(_ mirror: Mirror, kind: JobKind, trigger: Trigger, actor: Actor, now: Date, db: Database) throws -> Job {
        var job = Job(mirrorId: mirror.id!, kind: kind, trigger: trigger, actor: actor, createdAt: now)
        // Cached statements: `sync --all` enqueues hundreds of jobs in one transaction.
        let pending = try db.cachedStatement(sql: "SELECT * FROM job WHERE mirror_id = ? AND kind = ? AND state IN ('queued', 'running') LIMIT 1")
        if var existing = try Job.fetchOne(pending, arguments: [mirror.id!, kind.rawValue]) {
            if existing.priority < job.priority && existing.state == .queued {
                existing.priority = job.priority
                try existing.update(db)
            }
            return existing
        }
        try job.insert(db)
        try holdIfRateLimited(jobId: job.id!, mirror: mirror, now: now, db: db)
        try db.cachedStatement(sql: "UPDATE mirror_state SET status = 'queued' WHERE mirror_id = ? AND status NOT IN ('syncing', 'fetching-lfs', 'verifying')")
            .execute(arguments: [mirror.id!])
        if trigger != .schedule {
            try Event(actor: actor, action: "enqueue", mirror: mirror.name, message: "queued \(kind.rawValue) job #\(job.id!) (\(trigger.rawValue))", at: now).append(to: db)
        }
        return job
    }

    /// Claims queued jobs for an engine, honouring the free slots per kind and one running job per mirror.
    /// Highest priority first, then oldest.
    /// `only` restricts the claim to those job ids (an engine embedded in a CLI runs just what it follows).
    public func claim(engineId: String, freeSlots: [JobKind: Int], only: Set<Int64>? = nil, now: Date = Date()) throws -> [Job] {
        let kinds = freeSlots.filter { $0.value > 0 }.keys.map(\.rawValue)
        guard !kinds.isEmpty else { return [] }
        // The engine asks ten times a second; with nothing queued, a read answers without a write transaction.
        let anyQueued = try read { db in
            try Bool.fetchOne(db, sql: """
                SELECT EXISTS (SELECT 1 FROM job WHERE state = 'queued' AND (wait_until IS NULL OR wait_until <= ?)
                  AND kind IN (\(kinds.map { "'\($0)'" }.joined(separator: ","))))
                """, arguments: [now]) ?? false
        }
        guard anyQueued else { return [] }
        return try write { db in
            var slots = freeSlots
            var busyMirrors = Set(try Int64.fetchAll(db, sql: "SELECT mirror_id FROM job WHERE state = 'running'"))
            // An engine claims on every job's end, with up to thousands queued: per kind with a free slot, read
            // only the few columns that decide, and only as many rows as could be claimed; then decode just the
            // claimed jobs.
            var candidates: [(id: Int64, mirrorId: Int64, kind: JobKind, priority: Int)] = []
            let query = try db.cachedStatement(sql: """
                SELECT id, mirror_id, priority FROM job
                WHERE state = 'queued' AND kind = ? AND mirror_id NOT IN (SELECT mirror_id FROM job WHERE state = 'running')
                  AND (wait_until IS NULL OR wait_until <= ?)
                ORDER BY priority DESC, id LIMIT ?
                """)
            for (kind, free) in slots where free > 0 {
                // Jobs waiting for a rate-limited host's reset (`wait_until`) are skipped until then.
                let rows = try Row.fetchCursor(query, arguments: [kind.rawValue, now, only == nil ? free + 16 : 5000])
                var taken = 0
                while taken < free + 16, let row = try rows.next() {
                    let id: Int64 = row[0]
                    if let only, !only.contains(id) { continue }
                    candidates.append((id, row[1], kind, row[2]))
                    taken += 1
                }
            }
            candidates.sort { $0.priority != $1.priority ? $0.priority > $1.priority : $0.id < $1.id }
            var chosen: [Int64] = []
            for c in candidates {
                guard let free = slots[c.kind], free > 0, !busyMirrors.contains(c.mirrorId) else { continue }
                slots[c.kind] = free - 1
                busyMirrors.insert(c.mirrorId)
                chosen.append(c.id)
            }
            guard !chosen.isEmpty else { return [] }
            let update = try db.cachedStatement(sql: """
                UPDATE job SET state = 'running', engine_id = ?, started_at = ?, heartbeat_at = ?, attempts = attempts + 1,
                    phase = 'starting'
                WHERE id = ?
                """)
            for id in chosen { try update.execute(arguments: [engineId, now, now, id]) }
            let order = Dictionary(uniqueKeysWithValues: chosen.enumerated().map { ($1, $0) })
            return try Job.fetchAll(db, keys: chosen).sorted { order[$0.id!]! < order[$1.id!]! }
        }
    }

    /// Writes a running job's progress (callers throttle to ≤ 4 writes a second).
    /// `limits`, when given, records the cap and stall timeout the job runs under in the same write.
    public func reportProgress(jobId: Int64, _ p: JobProgress, limits: JobTransferLimits? = nil) throws {
        try write { db in
            try db.execute(sql: """
                UPDATE job SET phase = ?, units_done = ?, units_total = ?, bytes_done = ?, bytes_total = ?, rate = ?, message = ?
                WHERE id = ? AND state = 'running'
                """, arguments: [p.phase, p.unitsDone, p.unitsTotal, p.bytesDone, p.bytesTotal, p.rate, p.message, jobId])
            if let limits {
                try db.execute(sql: "UPDATE job SET rate_cap = ?, rate_cap_source = ?, stall_timeout = ? WHERE id = ?",
                               arguments: [limits.cap?.rate, limits.cap?.source.rawValue, limits.stallTimeout, jobId])
            }
        }
    }

    /// Ends a job, with the last progress its throttle held back (if any). `requeue` puts it back in the
    /// queue instead (engine shutdown).
    public func finishJob(jobId: Int64, state: JobState, error: String?, message: String? = nil, progress: JobProgress? = nil,
                          requeue: Bool = false, now: Date = Date()) throws {
        try write { db in
            if requeue {
                try db.execute(sql: """
                    UPDATE job SET state = 'queued', engine_id = NULL, started_at = NULL, heartbeat_at = NULL,
                        phase = NULL, message = 'interrupted by engine shutdown; will resume', cancel_requested = 0
                    WHERE id = ?
                    """, arguments: [jobId])
                return
            }
            if let p = progress {
                try db.cachedStatement(sql: """
                    UPDATE job SET units_done = ?, units_total = ?, bytes_done = ?, bytes_total = ?, message = ? WHERE id = ?
                    """).execute(arguments: [p.unitsDone, p.unitsTotal, p.bytesDone, p.bytesTotal, p.message, jobId])
            }
            try db.cachedStatement(sql: """
                UPDATE job SET state = ?, ended_at = ?, error = ?, message = COALESCE(?, message), phase = 'done', rate = 0
                WHERE id = ?
                """).execute(arguments: [state.rawValue, now, error.map(Redactor.redact), message, jobId])
        }
    }

    /// Asks for a job to stop: a queued one is cancelled at once, a running one by its engine within moments.
    public func requestCancel(jobId: Int64, actor: Actor, now: Date = Date()) throws -> JobState {
        try write { db in
            guard let job = try Job.fetchOne(db, key: jobId) else {
                throw CatalogError.unknownJob(jobId)
            }
            let mirror = try Mirror.fetchOne(db, key: job.mirrorId)
            switch job.state {
            case .queued:
                try db.execute(sql: "UPDATE job SET state = 'cancelled', ended_at = ?, error = 'cancelled before it started' WHERE id = ?", arguments: [now, jobId])
                try Self.settleQueuedStatus(mirrorId: job.mirrorId, db: db)
            case .running:
                try db.execute(sql: "UPDATE job SET cancel_requested = 1 WHERE id = ?", arguments: [jobId])
            default:
                return job.state
            }
            try Event(actor: actor, action: "cancel", mirror: mirror?.name, message: "cancel requested for \(job.kind.rawValue) job #\(jobId)", at: now).append(to: db)
            return job.state
        }
    }

    /// Running jobs of this engine whose cancellation was requested.
    public func cancelRequests(engineId: String) throws -> [Int64] {
        try read { db in
            try Int64.fetchAll(db, sql: "SELECT id FROM job WHERE state = 'running' AND engine_id = ? AND cancel_requested = 1", arguments: [engineId])
        }
    }

    /// Puts back in the queue the running jobs of engines that are gone, raising nothing else: the next claim
    /// counts the attempt. Jobs interrupted `maxAttempts` times fail instead. Their open runs are closed.
    @discardableResult
    public func recoverOrphans(engineId: String, maxAttempts: Int = 5, now: Date = Date()) throws -> Int {
        try write { db in
            let orphans = try Job.filter(Column("state") == JobState.running.rawValue && Column("engine_id") != engineId).fetchAll(db)
            try Self.requeue(orphans, maxAttempts: maxAttempts, now: now, db: db)
            // Runs left open by a crash outside any job (direct syncs).
            try db.execute(sql: """
                UPDATE sync_run SET result = 'failed', ended_at = ?, error = 'interrupted: the process running it stopped'
                WHERE result = 'running' AND (job_id IS NULL OR job_id NOT IN (SELECT id FROM job WHERE state = 'running'))
                AND started_at < ?
                """, arguments: [now, now.addingTimeInterval(-1)])
            return orphans.count
        }
    }

    /// Puts back in the queue the running jobs of one engine known to be gone (a dashboard's engine child
    /// that had to be killed), so they need not wait for the next engine's start.
    @discardableResult
    public func recoverJobs(ofDeadEngine engineId: String, maxAttempts: Int = 5, now: Date = Date()) throws -> Int {
        try write { db in
            let orphans = try Job.filter(Column("state") == JobState.running.rawValue && Column("engine_id") == engineId).fetchAll(db)
            try Self.requeue(orphans, maxAttempts: maxAttempts, now: now, db: db)
            return orphans.count
        }
    }

    /// Records that the job's current attempt made progress that survives an interruption (a completed
    /// fetch step): earlier interrupted attempts no longer count toward giving up.
    public func jobMadeProgress(_ jobId: Int64) throws {
        try write { db in
            try db.execute(sql: "UPDATE job SET progress_attempt = attempts WHERE id = ? AND progress_attempt < attempts", arguments: [jobId])
        }
    }

    /// Ids of the jobs running under one engine.
    public func runningJobIds(engineId: String) throws -> Set<Int64> {
        try read { db in
            Set(try Int64.fetchAll(db, sql: "SELECT id FROM job WHERE state = 'running' AND engine_id = ?", arguments: [engineId]))
        }
    }

    /// Re-queues interrupted jobs (failing those interrupted `maxAttempts` times) and closes their open runs.
    private static func requeue(_ orphans: [Job], maxAttempts: Int, now: Date, db: Database) throws {
        for job in orphans {
            if job.attempts - job.progressAttempt >= maxAttempts {
                try db.execute(sql: "UPDATE job SET state = 'failed', ended_at = ?, error = ? WHERE id = ?",
                               arguments: [now, "gave up after \(job.attempts - job.progressAttempt) interrupted attempts", job.id!])
            } else {
                try db.execute(sql: """
                    UPDATE job SET state = 'queued', engine_id = NULL, heartbeat_at = NULL, phase = NULL,
                        message = 'resumed after its engine stopped (attempt \(job.attempts) interrupted)'
                    WHERE id = ?
                    """, arguments: [job.id!])
            }
            try db.execute(sql: """
                UPDATE sync_run SET result = 'failed', ended_at = ?, error = 'interrupted: the engine running it stopped'
                WHERE job_id = ? AND result = 'running'
                """, arguments: [now, job.id!])
            try db.execute(sql: "UPDATE mirror_state SET status = 'queued' WHERE mirror_id = ? AND status IN ('syncing', 'fetching-lfs', 'verifying')",
                           arguments: [job.mirrorId])
        }
    }

    /// Refreshes the heartbeat of an engine's running jobs.
    public func heartbeatJobs(engineId: String, now: Date = Date()) throws {
        try write { db in
            try db.execute(sql: "UPDATE job SET heartbeat_at = ? WHERE state = 'running' AND engine_id = ?", arguments: [now, engineId])
        }
    }

    /// Jobs with their mirror names: queued and running ones (and, with `all`, the latest finished ones).
    public func jobs(all: Bool = false, limit: Int = 200) throws -> [JobSummary] {
        try read { db in
            let names = Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT id, name FROM mirror").map { (($0["id"] as Int64), ($0["name"] as String)) })
            var request = Job.order(Column("id").desc).limit(limit)
            if !all { request = request.filter([JobState.queued.rawValue, JobState.running.rawValue].contains(Column("state"))) }
            return try request.fetchAll(db).map { JobSummary(job: $0, mirror: names[$0.mirrorId] ?? "?") }
        }
    }

    /// One job by id.
    public func job(id: Int64) throws -> Job? {
        try read { db in try Job.fetchOne(db, key: id) }
    }

    /// Jobs by id, in any state.
    public func jobs(ids: [Int64]) throws -> [Job] {
        try read { db in try Job.filter(ids.contains(Column("id"))).fetchAll(db) }
    }

    /// Queued jobs by kind (queue depth).
    public func queueDepth() throws -> [JobKind: Int] {
        try read { db in
            var out: [JobKind: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT kind, COUNT(*) AS n FROM job WHERE state = 'queued' GROUP BY kind") {
                if let kind = JobKind(rawValue: row["kind"]) { out[kind] = row["n"] }
            }
            return out
        }
    }

    /// When a mirror's last queued job goes away without running, its status returns to what it was.
    static func settleQueuedStatus(mirrorId: Int64, db: Database, waitingOn states: [JobState] = [.queued, .running]) throws {
        let pending = try Job.filter(Column("mirror_id") == mirrorId)
            .filter(states.map(\.rawValue).contains(Column("state"))).fetchCount(db)
        guard pending == 0 else { return }
        try db.execute(sql: """
            UPDATE mirror_state SET status = CASE
                WHEN paused_reason IS NOT NULL THEN 'paused'
                WHEN consecutive_failures > 0 THEN 'failed'
                WHEN last_success_at IS NOT NULL THEN 'ok'
                ELSE 'idle' END
            WHERE mirror_id = ? AND status = 'queued'
            """, arguments: [mirrorId])
    }
}

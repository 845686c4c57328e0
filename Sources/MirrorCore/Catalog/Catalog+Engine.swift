import Foundation
import GRDB

extension Catalog {
    /// Takes the engine lease when it is free, expired, or held by a dead process; returns whether we hold it.
    public func acquireLease(owner: String, kind: EngineLease.Kind, timeout: TimeInterval, now: Date = Date()) throws -> Bool {
        try write { db in
            if let lease = try EngineLease.fetchOne(db, key: 1), lease.owner != owner, lease.isLive(now: now, timeout: timeout) {
                return false
            }
            var lease = EngineLease(owner: owner, pid: getpid(), host: EngineLease.hostName, kind: kind, acquiredAt: now, heartbeatAt: now)
            try lease.save(db)
            return true
        }
    }

    /// Refreshes our lease; returns false when another engine has taken it.
    public func heartbeatLease(owner: String, now: Date = Date()) throws -> Bool {
        try write { db in
            try db.execute(sql: "UPDATE engine_lease SET heartbeat_at = ? WHERE id = 1 AND owner = ?", arguments: [now, owner])
            return db.changesCount == 1
        }
    }

    /// Gives the lease up so the next engine need not wait for it to expire.
    public func releaseLease(owner: String) throws {
        try write { db in try db.execute(sql: "DELETE FROM engine_lease WHERE id = 1 AND owner = ?", arguments: [owner]) }
    }

    /// The engine that is alive for this catalog, if any.
    public func liveEngine(timeout: TimeInterval = EngineConfig.defaultLeaseTimeout, now: Date = Date()) throws -> EngineLease? {
        let lease = try read { db in try EngineLease.fetchOne(db, key: 1) }
        guard let lease, lease.isLive(now: now, timeout: timeout) else { return nil }
        return lease
    }

    /// Queues scheduled syncs for mirrors whose next run has come and that have nothing queued or running.
    ///
    /// The engine asks four times a second: a read finds out whether anything is due, so the usual answer
    /// (nothing) costs no write transaction and never waits for, or holds up, another writer.
    ///
    /// Mirrors of a host with a request budget (`budgets`, by lowercased host) start only while the host's
    /// bucket holds a check's cost; the others get their next run moved forward, one refill interval apart,
    /// so they start spread out instead of in a burst (see `RequestBudget`).
    @discardableResult
    public func enqueueDue(now: Date = Date(), budgets: [String: RequestBudget] = [:]) throws -> [Job] {
        guard try read({ db in try Self.dueMirrors(now: now, limit: 1, db: db) }).isEmpty == false else { return [] }
        return try write { db in
            var buckets: [String: Double] = [:]
            var deferred: [String: Int] = [:]
            var jobs: [Job] = []
            let cost = Double(HostBudget.scheduledCheckCost)
            for mirror in try Self.dueMirrors(now: now, limit: 1000, db: db) {
                let host = budgets.isEmpty ? "" : MirrorHosts.upstream(mirror)
                if let budget = budgets[host] {
                    let level = try buckets[host] ?? Self.budgetLevel(host: host, budget: budget, now: now, db: db)
                    guard level >= cost else {
                        // Not now: after the refill this check needs, and after the checks deferred before it.
                        let k = deferred[host, default: 0]
                        deferred[host] = k + 1
                        let wait = (cost - level) / budget.refillPerSecond + Double(k) * cost / budget.refillPerSecond
                        try db.cachedStatement(sql: "UPDATE mirror_state SET next_run_at = ? WHERE mirror_id = ?")
                            .execute(arguments: [now.addingTimeInterval(wait), mirror.id!])
                        buckets[host] = level
                        continue
                    }
                    buckets[host] = level - cost
                }
                jobs.append(try Self.enqueue(mirror, kind: .sync, trigger: .schedule, actor: .scheduler, now: now, db: db))
            }
            for (host, level) in buckets { try Self.saveBudget(host: host, tokens: level, now: now, db: db) }
            return jobs
        }
    }

    /// Takes `requests` a job made from the host's budget bucket (it may go below zero: manual syncs are
    /// never held back, but the scheduled checks after them wait longer).
    public func chargeHost(_ host: String, requests: Int, budget: RequestBudget, now: Date = Date()) throws {
        try write { db in
            let level = try Self.budgetLevel(host: host, budget: budget, now: now, db: db)
            try Self.saveBudget(host: host, tokens: level - Double(requests), now: now, db: db)
        }
    }

    /// Requests the host's budget allows now (a full bucket for a host never charged).
    public func budgetLevel(host: String, budget: RequestBudget, now: Date = Date()) throws -> Double {
        try read { db in try Self.budgetLevel(host: host, budget: budget, now: now, db: db) }
    }

    static func budgetLevel(host: String, budget: RequestBudget, now: Date, db: Database) throws -> Double {
        let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT budget_tokens, budget_at FROM host_state WHERE host = ?"), arguments: [host])
        return HostBudget.level(tokens: row?[0], at: row.flatMap { Catalog.date($0[1]) }, budget: budget, now: now)
    }

    static func saveBudget(host: String, tokens: Double, now: Date, db: Database) throws {
        try db.cachedStatement(sql: """
            INSERT INTO host_state (host, budget_tokens, budget_at) VALUES (?, ?, ?)
            ON CONFLICT(host) DO UPDATE SET budget_tokens = excluded.budget_tokens, budget_at = excluded.budget_at
            """).execute(arguments: [host, tokens, now])
    }

    private static func dueMirrors(now: Date, limit: Int, db: Database) throws -> [Mirror] {
        try Mirror.fetchAll(db, sql: """
            SELECT mirror.* FROM mirror JOIN mirror_state ON mirror_state.mirror_id = mirror.id
            WHERE mirror_state.next_run_at IS NOT NULL AND mirror_state.next_run_at <= ?
              AND mirror_state.status != 'paused'
              AND NOT EXISTS (SELECT 1 FROM job WHERE job.mirror_id = mirror.id AND job.state IN ('queued', 'running'))
            ORDER BY mirror_state.next_run_at LIMIT ?
            """, arguments: [now, limit])
    }

    /// Pauses a mirror: no scheduled syncs until it is resumed; queued scheduled jobs are dropped.
    public func pause(name: String, reason: String?, actor: Actor, now: Date = Date()) throws {
        try write { db in
            guard let mirror = try Mirror.filter(Column("name") == name).fetchOne(db) else { throw CatalogError.unknownMirror(name) }
            let why = "paused by \(actor)" + (reason.map { ": \($0)" } ?? "")
            try db.execute(sql: "UPDATE mirror_state SET status = CASE WHEN status IN ('syncing','fetching-lfs','verifying') THEN status ELSE 'paused' END, paused_reason = ?, next_run_at = NULL WHERE mirror_id = ?",
                           arguments: [why, mirror.id!])
            try db.execute(sql: "UPDATE job SET state = 'cancelled', ended_at = ?, error = 'mirror paused' WHERE mirror_id = ? AND state = 'queued' AND trigger = 'schedule'",
                           arguments: [now, mirror.id!])
            try Event(actor: actor, action: "pause", mirror: name, message: why, at: now).append(to: db)
        }
    }

    /// Resumes a paused mirror: failures are forgiven and a sync is due now.
    public func resume(name: String, actor: Actor, now: Date = Date()) throws {
        try write { db in
            guard let mirror = try Mirror.filter(Column("name") == name).fetchOne(db) else { throw CatalogError.unknownMirror(name) }
            try db.execute(sql: """
                UPDATE mirror_state SET paused_reason = NULL, consecutive_failures = 0, next_run_at = ?,
                    status = CASE WHEN status = 'paused' THEN (CASE WHEN last_success_at IS NULL THEN 'idle' ELSE 'ok' END) ELSE status END
                WHERE mirror_id = ?
                """, arguments: [now, mirror.id!])
            try Event(actor: actor, action: "resume", mirror: name, message: "resumed; sync due now", at: now).append(to: db)
        }
    }

    /// Remembers a webhook delivery id; returns false when it was seen before (a replay).
    public func recordDelivery(_ id: String, now: Date = Date()) throws -> Bool {
        try write { db in
            try db.execute(sql: "DELETE FROM webhook_delivery WHERE received_at < ?", arguments: [now.addingTimeInterval(-7 * 86400)])
            try db.execute(sql: "INSERT OR IGNORE INTO webhook_delivery (delivery, received_at) VALUES (?, ?)", arguments: [id, now])
            return db.changesCount == 1
        }
    }

    /// Events newer than `afterId`, oldest first (for following the log).
    public func events(after afterId: Int64, since: Date? = nil, mirror: String? = nil, limit: Int = 1000) throws -> [Event] {
        try read { db in
            var request = Event.filter(Column("id") > afterId).order(Column("id")).limit(limit)
            if let since { request = request.filter(Column("at") >= since) }
            if let mirror { request = request.filter(Column("mirror") == mirror) }
            return try request.fetchAll(db)
        }
    }
}

import Foundation
import GRDB

extension Catalog {
    /// The hosts rate-limited now, soonest reset first.
    public func hostLimits(now: Date = Date()) throws -> [HostRateLimit] {
        try read { db in try Self.activeLimits(now: now, db: db) }
    }

    static func activeLimits(now: Date, db: Database) throws -> [HostRateLimit] {
        try Row.fetchAll(db.cachedStatement(sql: """
            SELECT host, limited_until, limit_status, limit_source FROM host_state WHERE limited_until > ? ORDER BY limited_until
            """), arguments: [now]).compactMap { row in
            guard let until = Catalog.date(row[1]) else { return nil }
            return HostRateLimit(host: row[0], until: until, status: row[2] ?? 429, source: row[3] ?? "")
        }
    }

    /// Records a rate-limited host (a later reset already known wins) and makes its mirrors wait: their queued
    /// jobs do not start and their scheduled checks are not due before the reset. One event per newly limited
    /// (or extended) host, however many jobs met the limit.
    @discardableResult
    public func recordRateLimit(_ limit: HostRateLimit, actor: Actor = .scheduler, now: Date = Date()) throws -> HostRateLimit {
        try write { db in try Self.recordRateLimit(limit, actor: actor, now: now, db: db) }
    }

    static func recordRateLimit(_ limit: HostRateLimit, actor: Actor, now: Date, db: Database) throws -> HostRateLimit {
        let known = try activeLimits(now: now, db: db).first { $0.host == limit.host }
        if let known, known.until >= limit.until { return known }
        // Several jobs meet one limit at about the same time: the host is recorded (and logged) once; a
        // later reset only moves the end.
        let newlyLimited = known == nil
        try db.execute(sql: """
            INSERT INTO host_state (host, limited_until, limited_at, limit_status, limit_source) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT(host) DO UPDATE SET limited_until = excluded.limited_until, limited_at = excluded.limited_at,
                limit_status = excluded.limit_status, limit_source = excluded.limit_source
            """, arguments: [limit.host, limit.until, now, limit.status, limit.source])
        let affected = try mirrorIds(on: limit.host, db: db)
        if !affected.isEmpty {
            let ids = affected.map(String.init).joined(separator: ",")
            try db.execute(sql: """
                UPDATE job SET wait_until = ?, message = ? WHERE state = 'queued' AND mirror_id IN (\(ids))
                  AND (wait_until IS NULL OR wait_until < ?)
                """, arguments: [limit.until, waitMessage(limit), limit.until])
            // Scheduled checks come after the reset, spread over a few seconds so they do not all start at once.
            let spread = min(60, max(1, limit.until.timeIntervalSince(now) / 10))
            let due = try Row.fetchAll(db, sql: """
                SELECT mirror_id FROM mirror_state WHERE mirror_id IN (\(ids)) AND next_run_at IS NOT NULL AND next_run_at < ?
                ORDER BY next_run_at
                """, arguments: [limit.until])
            let update = try db.cachedStatement(sql: "UPDATE mirror_state SET next_run_at = ? WHERE mirror_id = ?")
            for (i, row) in due.enumerated() {
                let offset = due.count > 1 ? spread * Double(i) / Double(due.count - 1) : 0
                try update.execute(arguments: [limit.until.addingTimeInterval(offset), row[0] as Int64])
            }
        }
        if newlyLimited {
            try Event(actor: actor, action: "limit", mirror: nil,
                      message: "\(limit.description): \(affected.count) mirror(s) wait for the reset", at: now).append(to: db)
        }
        return limit
    }

    /// "waiting: github.com rate-limited until 12:03".
    static func waitMessage(_ limit: HostRateLimit) -> String {
        "waiting: \(limit.host) rate-limited until \(TimeFormat.clock(limit.until))"
    }

    /// Mirrors whose transfers go to `host` (upstream or LFS endpoint).
    static func mirrorIds(on host: String, db: Database) throws -> [Int64] {
        try Row.fetchAll(db, sql: "SELECT id, upstream, lfs_url FROM mirror").compactMap { row in
            var mirror = Mirror(name: "", upstream: row[1], lfsURL: row[2])
            mirror.id = row[0]
            return MirrorHosts.all(mirror).contains(host) ? mirror.id : nil
        }
    }

    /// A job that met a rate limit goes back to the queue and waits for the reset, the limit recorded in the
    /// same transaction; the attempt does not count (it is not an interruption).
    public func requeueRateLimited(jobId: Int64, mirrorId: Int64, limit: HostRateLimit, actor: Actor = .scheduler, now: Date = Date()) throws {
        try write { db in
            let effective = try Self.recordRateLimit(limit, actor: actor, now: now, db: db)
            try db.execute(sql: """
                UPDATE job SET state = 'queued', engine_id = NULL, started_at = NULL, heartbeat_at = NULL, phase = NULL,
                    attempts = MAX(0, attempts - 1), cancel_requested = 0, rate = 0, wait_until = ?, message = ?
                WHERE id = ?
                """, arguments: [effective.until, Self.waitMessage(effective), jobId])
            try db.execute(sql: """
                UPDATE mirror_state SET status = 'queued' WHERE mirror_id = ? AND status NOT IN ('paused', 'syncing', 'fetching-lfs', 'verifying')
                """, arguments: [mirrorId])
        }
    }

    /// A queued job of a mirror on a rate-limited host waits for the reset (called as it is queued).
    static func holdIfRateLimited(jobId: Int64, mirror: Mirror, now: Date, db: Database) throws {
        let limits = try activeLimits(now: now, db: db)
        guard let limit = MirrorHosts.limit(for: mirror, in: limits) else { return }
        try db.cachedStatement(sql: "UPDATE job SET wait_until = ?, message = ? WHERE id = ?")
            .execute(arguments: [limit.until, waitMessage(limit), jobId])
    }

    /// The cap and stall timeout of jobs, by id (those without any are absent).
    public func transferLimits(jobIds: [Int64]) throws -> [Int64: JobTransferLimits] {
        guard !jobIds.isEmpty else { return [:] }
        return try read { db in
            var out: [Int64: JobTransferLimits] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT id, rate_cap, rate_cap_source, stall_timeout, wait_until FROM job WHERE id IN (\(jobIds.map(String.init).joined(separator: ",")))
                """) {
                let rate: Int64? = row[1]
                let cap = rate.map { TransferCap(rate: $0, source: TransferCap.Source(rawValue: row[2] ?? "") ?? .engine) }
                let stall: Int? = row[3]
                let wait = Catalog.date(row[4])
                if cap != nil || stall != nil || wait != nil {
                    out[row[0]] = JobTransferLimits(cap: cap, stallTimeout: stall, waitUntil: wait)
                }
            }
            return out
        }
    }
}

/// The cap and timeout a job's transfers run under, and until when a queued job waits.
public struct JobTransferLimits: Sendable, Equatable {
    public var cap: TransferCap?
    public var stallTimeout: Int?
    public var waitUntil: Date?

    public init(cap: TransferCap? = nil, stallTimeout: Int? = nil, waitUntil: Date? = nil) {
        self.cap = cap
        self.stallTimeout = stallTimeout
        self.waitUntil = waitUntil
    }
}

import Foundation
import GRDB

extension Catalog {
    // MARK: - HTTP access tokens

    /// Mints a token for `user` (shown once: only its hash is kept) and records the event.
    public func mintToken(user: String, expires: Date?, actor: Actor, now: Date = Date()) throws -> (token: String, id: Int64) {
        try Grant.validateUser(user)
        let token = ServeToken.mint()
        let id = try write { db -> Int64 in
            try db.execute(sql: """
                INSERT INTO access_token (user, token_hash, created_at, created_by, expires_at) VALUES (?, ?, ?, ?, ?)
                """, arguments: [user, ServeToken.hash(token), now, actor.description, expires])
            let id = db.lastInsertedRowID
            let until = expires.map { " until " + (TimeFormat.iso($0) ?? "?") } ?? ", no expiry"
            try Event(actor: actor, action: "access", mirror: nil, message: "minted HTTP token #\(id) for \(user)\(until)", at: now).append(to: db)
            return id
        }
        return (token, id)
    }

    /// Every token ever minted, newest first (hashes are never returned).
    public func accessTokens() throws -> [AccessToken] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT id, user, created_at, created_by, expires_at, revoked_at, last_used_at FROM access_token ORDER BY id DESC
                """).map { row in
                AccessToken(id: row[0], user: row[1], createdAt: Self.date(row[2]) ?? Date(timeIntervalSince1970: 0), createdBy: row[3],
                            expiresAt: Self.date(row[4]), revokedAt: Self.date(row[5]), lastUsedAt: Self.date(row[6]))
            }
        }
    }

    /// Revokes one token by id (`#12` or `12`) or every live token of a user; returns how many.
    @discardableResult
    public func revokeTokens(_ target: String, actor: Actor, now: Date = Date()) throws -> Int {
        try write { db in
            let digits = target.hasPrefix("#") ? String(target.dropFirst()) : target
            if let id = Int64(digits) {
                try db.execute(sql: "UPDATE access_token SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", arguments: [now, id])
            } else {
                try Grant.validateUser(target)
                try db.execute(sql: "UPDATE access_token SET revoked_at = ? WHERE user = ? AND revoked_at IS NULL", arguments: [now, target])
            }
            let count = db.changesCount
            guard count > 0 else { throw AccessError.refused("no live HTTP token matches \(Redactor.quote(target)): see 'mirrordeck access tokens'") }
            try Event(actor: actor, action: "access", mirror: nil, message: "revoked \(count) HTTP token(s) of \(target)", at: now).append(to: db)
            return count
        }
    }

    /// The user of a live access token, or nil. Reads only: a hash lookup in a unique index.
    public func tokenUser(_ token: String, now: Date = Date()) throws -> String? {
        guard ServeToken.looksLikeAccessToken(token) else { return nil }
        return try read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT user, expires_at, revoked_at FROM access_token WHERE token_hash = ?",
                                             arguments: [ServeToken.hash(token)]) else { return nil }
            guard Self.date(row[2]) == nil else { return nil }
            if let expires = Self.date(row[1]), expires <= now { return nil }
            return row[0]
        }
    }

    // MARK: - The access log

    /// Appends served requests in one transaction: a detail row each, kept `keepDetail` (7 days), and
    /// their counts and bytes added to the hour's totals in `access_hourly`, kept for good. The log stays
    /// bounded, the totals stay right, and "served in the last 24 h" reads at most 24 rows a mirror.
    public func appendAccessLog(_ entries: [AccessLogEntry], keepDetail: TimeInterval = 7 * 86400, now: Date = Date()) throws {
        guard !entries.isEmpty else { return }
        try write { db in
            let insert = try db.cachedStatement(sql: """
                INSERT INTO access_log (at, client, user, mirror, kind, status, bytes, duration_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """)
            let hourly = try db.cachedStatement(sql: """
                INSERT INTO access_hourly (hour, mirror, kind, status, requests, bytes) VALUES (strftime('%Y-%m-%d %H:00:00.000', ?), ?, ?, ?, 1, ?)
                ON CONFLICT (hour, mirror, kind, status) DO UPDATE SET requests = requests + 1, bytes = bytes + excluded.bytes
                """)
            for e in entries {
                try insert.execute(arguments: [e.at, e.client, e.user, e.mirror, e.kind.rawValue, e.status, e.bytes, e.durationMs])
                try hourly.execute(arguments: [e.at, e.mirror ?? "", e.kind.rawValue, e.status, e.bytes])
            }
            try db.execute(sql: "DELETE FROM access_log WHERE at < ?", arguments: [now.addingTimeInterval(-keepDetail)])
        }
    }

    /// Requests and response bytes served for `mirror` in the last 24 hours (from the hourly totals).
    public func served24h(mirror: String) throws -> (requests: Int, bytes: Int64) {
        try read { db in
            let row = try Row.fetchOne(db, sql: """
                SELECT COALESCE(SUM(requests), 0), COALESCE(SUM(bytes), 0) FROM access_hourly
                WHERE mirror = ? AND hour >= strftime('%Y-%m-%d %H:00:00.000', 'now', '-23 hours')
                """, arguments: [mirror])
            return (row?[0] ?? 0, row?[1] ?? 0)
        }
    }

    /// The latest requests for one mirror, newest first.
    public func recentAccess(mirror: String? = nil, limit: Int = 10) throws -> [AccessLogEntry] {
        try read { db in
            let filter = mirror == nil ? "" : "WHERE mirror = ?"
            let args: StatementArguments = mirror.map { [$0, limit] } ?? [limit]
            return try Row.fetchAll(db, sql: """
                SELECT at, client, user, mirror, kind, status, bytes, duration_ms FROM access_log \(filter) ORDER BY id DESC LIMIT ?
                """, arguments: args).map { row in
                AccessLogEntry(at: Self.date(row[0]) ?? Date(timeIntervalSince1970: 0), client: row[1], user: row[2], mirror: row[3],
                               kind: AccessLogEntry.Kind(rawValue: row[4]) ?? .other, status: row[5], bytes: row[6], durationMs: row[7])
            }
        }
    }

    // MARK: - Settings shared between processes

    /// A small value another process published (e.g. `serve.url`, the address clients clone from).
    public func setting(_ key: String) throws -> String? {
        try read { db in try String.fetchOne(db, sql: "SELECT value FROM setting WHERE key = ?", arguments: [key]) }
    }

    public func setSetting(_ key: String, _ value: String?) throws {
        try write { db in
            if let value {
                try db.execute(sql: "INSERT INTO setting (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                               arguments: [key, value])
            } else {
                try db.execute(sql: "DELETE FROM setting WHERE key = ?", arguments: [key])
            }
        }
    }

    /// The LFS object row of `oid` in `mirror`, if the mirror's LFS set references it.
    public func lfsObject(mirrorId: Int64, oid: LFSOID) throws -> LFSObject? {
        try read { db in try LFSObject.filter(Column("mirror_id") == mirrorId && Column("oid") == oid.hex).fetchOne(db) }
    }
}

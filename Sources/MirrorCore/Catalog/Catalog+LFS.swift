import Foundation
import GRDB

/// A change to one object's row after a transfer.
struct LFSObjectUpdate: Sendable {
    var oid: String
    var state: LFSObjectState
    var error: String?
    var source: LFSObjectSource?
    /// Whether a transfer was attempted (counts in `attempts`).
    var attempted = true
}

/// Objects and bytes of a mirror by state.
public struct LFSCounts: Sendable, Equatable {
    public var objects: [LFSObjectState: Int] = [:]
    public var bytes: [LFSObjectState: Int64] = [:]

    /// Objects the mirror wants (out-of-policy ones not counted: a pruned object is not a missing one).
    public var objectsTotal: Int { LFSObjectState.wanted.reduce(0) { $0 + (objects[$1] ?? 0) } }
    public var bytesTotal: Int64 { LFSObjectState.wanted.reduce(0) { $0 + (bytes[$1] ?? 0) } }
    /// Objects out of the retention policy: in the trash, in the archive, or gone.
    public var objectsRetired: Int { LFSObjectState.retired.reduce(0) { $0 + (objects[$1] ?? 0) } }
    public var bytesRetired: Int64 { LFSObjectState.retired.reduce(0) { $0 + (bytes[$1] ?? 0) } }
    public var objectsPresent: Int { objects[.present] ?? 0 }
    public var bytesPresent: Int64 { bytes[.present] ?? 0 }
}

extension Catalog {
    /// Marks LFS failures in `mirror_state.last_error`, so a later success knows the failure was LFS's to clear.
    public static let lfsErrorPrefix = "LFS: "

    /// A mirror's LFS bookkeeping, or nil before its first scan.
    public func lfsScan(mirrorId: Int64) throws -> LFSScan? {
        try read { db in try LFSScan.fetchOne(db, key: mirrorId) }
    }

    /// The ref tips the last scan covered (empty before the first scan).
    func lfsScanTips(mirrorId: Int64) throws -> Set<String> {
        try read { db in
            Set(try String.fetchAll(db, sql: "SELECT oid FROM lfs_scan_tip WHERE mirror_id = ?", arguments: [mirrorId]))
        }
    }

    /// Records a scan in one transaction: new objects (as missing), the new cursor, and — for a full
    /// rescan — drops rows of objects no longer reachable (their files are left alone).
    /// Returns how many objects were new and how many were dropped.
    func recordLFSScan(mirror: Mirror, scan: PointerScan, full: Bool, actor: Actor, now: Date = Date()) throws -> (new: Int, removed: Int) {
        let mirrorId = mirror.id!
        return try write { db in
            var added = 0
            let insert = try db.makeStatement(sql: "INSERT OR IGNORE INTO lfs_object (mirror_id, oid, size, state) VALUES (?, ?, ?, 'missing')")
            for (oid, size) in scan.pointers {
                try insert.execute(arguments: [mirrorId, oid.hex, size])
                added += db.changesCount
            }
            var removed = 0
            if full {
                try db.execute(sql: "CREATE TEMP TABLE IF NOT EXISTS lfs_seen (oid TEXT PRIMARY KEY)")
                try db.execute(sql: "DELETE FROM lfs_seen")
                let seen = try db.makeStatement(sql: "INSERT OR IGNORE INTO lfs_seen (oid) VALUES (?)")
                for oid in scan.pointers.keys { try seen.execute(arguments: [oid.hex]) }
                try db.execute(sql: "DELETE FROM lfs_object WHERE mirror_id = ? AND oid NOT IN (SELECT oid FROM lfs_seen)", arguments: [mirrorId])
                removed = db.changesCount
                try db.execute(sql: "DELETE FROM lfs_seen")
            }
            if !scan.upToDate || full {
                try db.execute(sql: "DELETE FROM lfs_scan_tip WHERE mirror_id = ?", arguments: [mirrorId])
                let tip = try db.makeStatement(sql: "INSERT OR IGNORE INTO lfs_scan_tip (mirror_id, oid) VALUES (?, ?)")
                for oid in scan.tips { try tip.execute(arguments: [mirrorId, oid]) }
            }
            var record = try LFSScan.fetchOne(db, key: mirrorId) ?? LFSScan(mirrorId: mirrorId)
            record.scannedAt = now
            record.commitsScanned += scan.commitsScanned
            if scan.malformedCount > 0 {
                record.malformedPointers += scan.malformedCount
                if let first = scan.malformed.first { record.malformedExample = "blob \(first.blob): \(first.reason)" }
                try Event(actor: actor, action: "lfs", mirror: mirror.name,
                          message: "skipped \(scan.malformedCount) malformed LFS pointer(s); first: blob \(scan.malformed.first?.blob ?? "?"): \(scan.malformed.first?.reason ?? "")",
                          at: now).append(to: db)
            }
            try record.save(db)
            return (added, removed)
        }
    }

    /// A mirror's LFS objects (optionally only some states), largest first.
    public func lfsObjects(mirrorId: Int64, states: [LFSObjectState]? = nil, limit: Int? = nil) throws -> [LFSObject] {
        try read { db in
            var request = LFSObject.filter(Column("mirror_id") == mirrorId)
            if let states { request = request.filter(states.map(\.rawValue).contains(Column("state"))) }
            request = request.order(Column("size").desc, Column("oid"))
            if let limit { request = request.limit(limit) }
            return try request.fetchAll(db)
        }
    }

    /// Whether any of a mirror's LFS objects is missing, failed or unavailable: what makes an LFS job worth
    /// queueing after a sync. One indexed probe (asked after every sync of an LFS mirror).
    public func hasLFSObjectsToFetch(mirrorId: Int64) throws -> Bool {
        try read { db in
            let statement = try db.cachedStatement(sql: """
                SELECT EXISTS (SELECT 1 FROM lfs_object WHERE mirror_id = ? AND state IN ('missing', 'failed', 'unavailable'))
                    OR (EXISTS (SELECT 1 FROM lfs_object WHERE mirror_id = ? AND state IN ('trashed', 'archived', 'pruned'))
                        AND (SELECT lfs_keep FROM mirror WHERE id = ?) = 'all')
                """)
            return try Bool.fetchOne(statement, arguments: [mirrorId, mirrorId, mirrorId]) ?? false
        }
    }

    /// Objects and bytes of a mirror by state.
    public func lfsCounts(mirrorId: Int64) throws -> LFSCounts {
        try read { db in try Self.lfsCounts(mirrorId: mirrorId, db: db) }
    }

    static func lfsCounts(mirrorId: Int64, db: Database) throws -> LFSCounts {
        var counts = LFSCounts()
        let rows = try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS n, COALESCE(SUM(size), 0) AS bytes FROM lfs_object WHERE mirror_id = ? GROUP BY state",
                                    arguments: [mirrorId])
        for row in rows {
            guard let state = LFSObjectState(rawValue: row["state"]) else { continue }
            counts.objects[state] = row["n"]
            counts.bytes[state] = row["bytes"]
        }
        return counts
    }

    /// Applies transfer outcomes in one transaction.
    func updateLFSObjects(mirrorId: Int64, _ updates: [LFSObjectUpdate], now: Date = Date()) throws {
        guard !updates.isEmpty else { return }
        try write { db in
            let present = try db.makeStatement(sql: """
                UPDATE lfs_object SET state = 'present', error = NULL, source = ?, fetched_at = ?, verified_at = ?,
                    attempts = attempts + ?, retired_at = NULL, retired_path = NULL WHERE mirror_id = ? AND oid = ?
                """)
            let other = try db.makeStatement(sql: "UPDATE lfs_object SET state = ?, error = ?, attempts = attempts + ? WHERE mirror_id = ? AND oid = ?")
            for u in updates {
                let attempt = u.attempted ? 1 : 0
                if u.state == .present {
                    try present.execute(arguments: [u.source?.rawValue, now, now, attempt, mirrorId, u.oid])
                } else {
                    try other.execute(arguments: [u.state.rawValue, u.error.map(Redactor.redact), attempt, mirrorId, u.oid])
                }
            }
        }
    }

    /// For each object `mirrorId` lacks, the other mirrors that hold it verified (to hard-link from).
    func lfsHolders(forMissingIn mirrorId: Int64) throws -> [String: [String]] {
        try read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT o.oid AS oid, m.name AS name FROM lfs_object o JOIN mirror m ON m.id = o.mirror_id
                WHERE o.state = 'present' AND o.mirror_id != ?
                  AND o.oid IN (SELECT oid FROM lfs_object WHERE mirror_id = ? AND state != 'present')
                """, arguments: [mirrorId, mirrorId])
            var out: [String: [String]] = [:]
            for row in rows { out[row["oid"], default: []].append(row["name"]) }
            return out
        }
    }

    /// The other mirrors that point at `oid`, whatever its state there: a worker that waited for another
    /// process to fetch the object looks for the file in each (files appear only complete and verified,
    /// before the catalog row says so).
    func lfsHolders(oid: String, excluding mirrorId: Int64) throws -> [String] {
        try read { db in
            try String.fetchAll(db, sql: """
                SELECT m.name FROM lfs_object o JOIN mirror m ON m.id = o.mirror_id
                WHERE o.oid = ? AND o.mirror_id != ? ORDER BY o.state = 'present' DESC
                """, arguments: [oid, mirrorId])
        }
    }

    /// Marks the mirror as fetching LFS objects; returns its status before, for `finishLFS`.
    func beginLFS(mirrorId: Int64) throws -> MirrorStatus {
        try write { db in
            let state = try MirrorState.fetchOne(db, key: mirrorId) ?? MirrorState(mirrorId: mirrorId)
            if state.status != .paused && state.status != .syncing {
                try db.execute(sql: "UPDATE mirror_state SET status = 'fetching-lfs' WHERE mirror_id = ?", arguments: [mirrorId])
            }
            return state.status
        }
    }

    /// Ends an LFS run in one transaction: the mirror's LFS counters, its status (failed, with the count
    /// missing, when objects are missing; an earlier LFS failure cleared on success), the scan row, and an event.
    func finishLFS(mirror: Mirror, report: LFSFetchReport, previous: MirrorStatus, actor: Actor, now: Date = Date()) throws -> MirrorState {
        let mirrorId = mirror.id!
        return try write { db in
            let counts = try Self.lfsCounts(mirrorId: mirrorId, db: db)
            var state = try MirrorState.fetchOne(db, key: mirrorId) ?? MirrorState(mirrorId: mirrorId)
            state.lfsObjectsTotal = counts.objectsTotal
            state.lfsObjectsPresent = counts.objectsPresent
            state.lfsBytesTotal = counts.bytesTotal
            state.lfsBytesPresent = counts.bytesPresent
            let wasOurs = state.lastError?.hasPrefix(Self.lfsErrorPrefix) == true
            switch report.result {
            case .ok, .skipped:
                if wasOurs {
                    state.lastError = nil
                    state.consecutiveFailures = 0
                    if state.status == .failed || state.status == .fetchingLFS { state.status = state.lastSuccessAt == nil ? .idle : .ok }
                }
                if state.status == .fetchingLFS {
                    state.status = previous == .failed && !wasOurs ? .failed : (state.lastSuccessAt == nil ? .idle : .ok)
                }
            case .failed:
                let message = Self.lfsErrorPrefix + (report.error ?? "\(report.missing) objects missing")
                state.lastError = Redactor.redact(message)
                state.lastFailureAt = now
                state.consecutiveFailures += 1
                if state.status != .paused { state.status = .failed }
            case .cancelled, .rateLimited:
                if state.status == .fetchingLFS { state.status = previous == .fetchingLFS ? .idle : previous }
            }
            try state.save(db)

            var scan = try LFSScan.fetchOne(db, key: mirrorId) ?? LFSScan(mirrorId: mirrorId)
            scan.fetchedAt = now
            scan.fetchResult = report.result.rawValue
            scan.lastError = report.error.map(Redactor.redact)
            if let endpoint = report.endpoint {
                scan.endpoint = endpoint
                scan.endpointSource = report.endpointSource
            }
            try scan.save(db)

            var message: String
            switch report.result {
            case .ok:
                message = "LFS fetch: \(counts.objectsPresent)/\(counts.objectsTotal) objects present (\(ByteFormat.format(counts.bytesPresent)))"
            case .failed:
                message = "LFS fetch failed: \(report.error ?? "objects missing")"
            case .cancelled:
                message = "LFS fetch cancelled: \(counts.objectsPresent)/\(counts.objectsTotal) objects present"
            case .skipped:
                message = "LFS fetch skipped (lfs off)"
            case .rateLimited:
                message = "LFS fetch waits: \(report.error ?? "the LFS host is rate-limited")"
            }
            if report.result != .skipped {
                var parts: [String] = []
                if report.downloaded > 0 { parts.append("\(report.downloaded) downloaded (\(ByteFormat.format(report.bytesTransferred)))") }
                if report.linked > 0 { parts.append("\(report.linked) linked") }
                if report.copied > 0 { parts.append("\(report.copied) copied") }
                if report.found > 0 { parts.append("\(report.found) found on disk") }
                if report.restored > 0 { parts.append("\(report.restored) restored from the trash or archive") }
                if !parts.isEmpty { message += "; " + parts.joined(separator: ", ") }
            }
            try Event(actor: actor, action: "lfs", mirror: mirror.name, message: message, at: now).append(to: db)
            return state
        }
    }
}

import Foundation
import GRDB

/// Tells cheaply whether any process has committed to the catalog: `PRAGMA data_version` on one
/// dedicated read-only connection (the number changes whenever another connection commits).
///
/// A dashboard asks ten times a second, and a read transaction each time is most of what an idle
/// dashboard costs. So the pragma runs only when the WAL-index header at the start of the `-shm` file
/// has changed (every commit changes it: its change counter, frame count and checksums; see SQLite's
/// "WAL-mode file format"), and at least every two seconds whatever the header says. Meant for one
/// thread (the dashboard's loader).
public final class CatalogWatch: @unchecked Sendable {
    private let queue: DatabaseQueue
    private let shmPath: String
    private var shmFD: Int32 = -1
    private var header = [UInt8](repeating: 0, count: 96)
    private var scratch = [UInt8](repeating: 0, count: 96)
    private var version: Int64?
    private var lastPragma = Date.distantPast
    /// The pragma runs at least this often, whatever the header says.
    static let pragmaInterval: TimeInterval = 2

    /// Opens a connection of its own to the catalog at `path` (which must exist).
    public init(path: String) throws {
        var config = Configuration()
        config.readonly = true
        config.busyMode = .timeout(Catalog.busyTimeout)
        config.label = "catalog-watch"
        shmPath = path + "-shm"
        do {
            queue = try DatabaseQueue(path: path, configuration: config)
        } catch let error as DatabaseError {
            throw CatalogError.database(path: path, message: error.message ?? "\(error)")
        }
    }

    deinit {
        if shmFD >= 0 { close(shmFD) }
    }

    /// The connection's current `data_version`.
    public func dataVersion() throws -> Int64 {
        let headerMoved = readHeader()
        if let version, !headerMoved, Date().timeIntervalSince(lastPragma) < Self.pragmaInterval {
            return version
        }
        do {
            // One prepared statement for the life of the watch: GRDB resets it when the fetch's cursor
            // ends, so no read transaction, and no old data_version, outlives the call.
            let v = try queue.inDatabase { db in try Int64.fetchOne(db.cachedStatement(sql: "PRAGMA data_version")) ?? 0 }
            version = v
            lastPragma = Date()
            return v
        } catch let error as DatabaseError {
            throw CatalogError.database(path: queue.path, message: error.message ?? "\(error)")
        }
    }

    /// Reads both copies of the WAL-index header; true when they differ from the last read, or cannot be
    /// read (then every call runs the pragma). The header read happens before the pragma, so a commit in
    /// between shows as a change next time.
    private func readHeader() -> Bool {
        if shmFD < 0 {
            shmFD = open(shmPath, O_RDONLY | O_CLOEXEC)
            if shmFD < 0 { return true }
        }
        let n = scratch.withUnsafeMutableBytes { pread(shmFD, $0.baseAddress, $0.count, 0) }
        guard n == scratch.count else {
            close(shmFD)
            shmFD = -1
            return true
        }
        if scratch == header { return false }
        swap(&scratch, &header)
        return true
    }
}

/// A small summary of the catalog that changes whenever anything a dashboard shows changes, except the
/// progress of running jobs (which `activeJobs` carries) — so a heartbeat alone costs no full reload.
public struct CatalogStamp: Sendable, Equatable {
    public var mirrorCount = 0
    public var maxMirrorId: Int64 = 0
    public var maxEventId: Int64 = 0
    public var maxJobId: Int64 = 0
    /// Ids and states of queued and running jobs (not their progress); a `!` marks a requested cancel.
    public var jobStates: [Int64: String] = [:]
    public var leaseOwner: String?

    public init() {}
}

extension Catalog {
    /// The stamp of the catalog now (four small indexed queries).
    public func stamp() throws -> CatalogStamp {
        try read { db in
            var s = CatalogStamp()
            if let row = try Row.fetchOne(db, sql: "SELECT COUNT(*), COALESCE(MAX(id), 0) FROM mirror") {
                s.mirrorCount = row[0]
                s.maxMirrorId = row[1]
            }
            s.maxEventId = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(id), 0) FROM event") ?? 0
            s.maxJobId = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(id), 0) FROM job") ?? 0
            for row in try Row.fetchAll(db, sql: "SELECT id, state, cancel_requested FROM job WHERE state IN ('queued', 'running')") {
                let cancel: Bool = row[2]
                s.jobStates[row[0]] = (row[1] as String) + (cancel ? "!" : "")
            }
            s.leaseOwner = try String.fetchOne(db, sql: "SELECT owner FROM engine_lease WHERE id = 1")
            return s
        }
    }

    /// Every mirror with its state, sorted by name — decoded by column position, fast enough to reload
    /// 10,000 mirrors several times a second. With `ids`, only those mirrors.
    public func summariesFast(ids: [Int64]? = nil) throws -> [MirrorSummary] {
        var out: [MirrorSummary] = []
        try summariesFast(ids: ids, reserve: { out.reserveCapacity($0) }) { out.append($0) }
        return out
    }

    /// The same rows one at a time, in name order, without holding them all: a caller that already has
    /// the list can compare as it goes and keep only what changed. `reserve` gets the row count first.
    public func summariesFast(ids: [Int64]? = nil, reserve: (Int) -> Void = { _ in },
                              _ visit: (MirrorSummary) throws -> Void) throws {
        if let ids, ids.isEmpty { return }
        let only = ids.map { "WHERE m.id IN (" + $0.map(String.init).joined(separator: ",") + ")" } ?? ""
        try read { db in
            if ids == nil { reserve(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM mirror") ?? 0) }
            let cursor = try Row.fetchCursor(db, sql: """
                SELECT m.id, m.name, m.upstream, m.interval_seconds, m.lfs, m.lfs_url, m.prune, m.insecure_tls, m.created_at, m.private,
                       \(MirrorState.positionalColumns(prefix: "s.")), sv.bytes, sv.requests, m.lfs_keep, m.lfs_archive
                FROM mirror m LEFT JOIN mirror_state s ON s.mirror_id = m.id
                LEFT JOIN (SELECT mirror, SUM(bytes) AS bytes, SUM(requests) AS requests FROM access_hourly
                           WHERE hour >= strftime('%Y-%m-%d %H:00:00.000', 'now', '-23 hours') GROUP BY mirror) sv ON sv.mirror = m.name
                \(only)
                ORDER BY m.name
                """)
            while let row = try cursor.next() {
                let id: Int64 = row[0]
                var m = Mirror(name: row[1], upstream: row[2], intervalSeconds: row[3],
                               lfs: LFSMode(rawValue: row[4] ?? "auto") ?? .auto, lfsURL: row[5],
                               prune: row[6] ?? true, insecureTLS: row[7] ?? false, isPrivate: row[9] ?? false,
                               createdAt: Self.date(row[8]) ?? Date(timeIntervalSince1970: 0))
                m.id = id
                m.lfsKeep = LFSKeepPolicy(stored: row[31])
                m.lfsArchive = row[32]
                // A mirror without a state row (a moment after it was added) reads as a new, idle one.
                let s = MirrorState(mirrorId: id, row: row, from: 10)
                try visit(MirrorSummary(mirror: m, state: s, servedBytes24h: row[29] ?? 0, servedRequests24h: row[30] ?? 0))
            }
        }
    }

    /// Queued and running jobs with their mirror names, running first, then by priority and age.
    public func activeJobs(limit: Int = 200) throws -> [JobSummary] {
        try read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT job.*, mirror.name AS mirror_name FROM job JOIN mirror ON mirror.id = job.mirror_id
                WHERE job.state IN ('queued', 'running')
                ORDER BY CASE job.state WHEN 'running' THEN 0 ELSE 1 END, job.priority DESC, job.id
                LIMIT ?
                """, arguments: [limit])
            return try rows.map { row in
                var summary = JobSummary(job: try Job(row: row), mirror: row["mirror_name"])
                let cap: Int64? = row["rate_cap"], stall: Int? = row["stall_timeout"]
                let wait = Catalog.date(row["wait_until"])
                if cap != nil || stall != nil || wait != nil {
                    summary.limits = JobTransferLimits(cap: cap.map { TransferCap(rate: $0, source: TransferCap.Source(rawValue: row["rate_cap_source"] ?? "") ?? .engine) },
                                                       stallTimeout: stall, waitUntil: wait)
                }
                return summary
            }
        }
    }

    /// The latest job of `kind` for a mirror that has finished, if any (e.g. its last audit).
    public func lastFinishedJob(mirrorId: Int64, kind: JobKind) throws -> Job? {
        try read { db in
            try Job.filter(Column("mirror_id") == mirrorId && Column("kind") == kind.rawValue)
                .filter([JobState.succeeded.rawValue, JobState.failed.rawValue, JobState.cancelled.rawValue].contains(Column("state")))
                .order(Column("id").desc).fetchOne(db)
        }
    }

    /// GRDB's text dates ("YYYY-MM-DD HH:MM:SS.SSS", UTC) parsed without a formatter.
    static func date(_ value: DatabaseValue) -> Date? {
        switch value.storage {
        case .null: return nil
        case let .string(text): return parseDate(text)
        case let .int64(n): return Date(timeIntervalSince1970: TimeInterval(n))
        case let .double(d): return Date(timeIntervalSince1970: d)
        case .blob: return nil
        }
    }

    static func parseDate(_ text: String) -> Date? {
        var u = Array(text.utf8)
        guard u.count >= 19 else { return Date.fromDatabaseValue(text.databaseValue) }
        func num(_ from: Int, _ len: Int) -> Int? {
            var n = 0
            for i in from..<(from + len) {
                let c = u[i]
                guard c >= 48, c <= 57 else { return nil }
                n = n * 10 + Int(c - 48)
            }
            return n
        }
        guard let y = num(0, 4), let mo = num(5, 2), let d = num(8, 2), let h = num(11, 2), let mi = num(14, 2), let s = num(17, 2) else {
            return Date.fromDatabaseValue(text.databaseValue)
        }
        var frac = 0.0
        if u.count > 20, u[19] == 46 {
            var scale = 0.1
            for c in u[20...] where c >= 48 && c <= 57 {
                frac += Double(c - 48) * scale
                scale /= 10
            }
        }
        u.removeAll()
        // Days from civil (Howard Hinnant's algorithm), UTC.
        let yy = mo <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let mp = (mo + 9) % 12
        let doy = (153 * mp + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146097 + doe - 719468
        return Date(timeIntervalSince1970: TimeInterval(days * 86400 + h * 3600 + mi * 60 + s) + frac)
    }
}

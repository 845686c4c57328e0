import Foundation
import GRDB

/// The single source of truth: one SQLite database (WAL) shared by every MirrorDeck process.
public final class Catalog: Sendable {
    /// Seconds a writer waits for another process's transaction before giving up.
    public static let busyTimeout: TimeInterval = 30

    public let path: String
    let pool: DatabasePool
    private let writeStats = WriteStats()

    /// Opens (creating and migrating when needed) the catalog at `path`.
    public init(path: String) throws {
        self.path = path
        var config = Configuration()
        config.busyMode = .timeout(Self.busyTimeout)
        config.foreignKeysEnabled = true
        config.label = "catalog"
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        do {
            pool = try DatabasePool(path: path, configuration: config)
            try Self.migrator.migrate(pool)
        } catch let error as DatabaseError {
            throw CatalogError.database(path: path, message: error.message ?? "\(error)")
        }
        SpaceReserve(directory: (path as NSString).deletingLastPathComponent).ensure()
    }

    /// Opens the catalog of a home.
    public convenience init(home: Home) throws {
        try self.init(path: home.catalogPath)
    }

    /// Lets SQLite drop the page caches of this catalog's connections (idle readers close; they reopen on
    /// the next read). For long-lived watchers after a large read that a cache would not serve again: any
    /// commit by another process invalidates a WAL reader's cache anyway.
    public func releaseMemory() {
        pool.releaseMemoryEventually()
    }

    /// Runs `body` in one write transaction, turning SQLite errors into `CatalogError`.
    func write<T>(_ body: (Database) throws -> T) throws -> T {
        var retried = false
        while true {
            do {
                return try pool.write { db in
                    let result = try body(db)
                    writeStats.count(totalChanges: db.totalChangesCount)
                    return result
                }
            } catch let error as DatabaseError {
                // The home's filesystem is full: give back the space kept for this moment and try once more,
                // so the failure that filled the disk is still recorded (and no status is left half-way).
                if error.resultCode == .SQLITE_FULL, !retried, SpaceReserve(directory: (path as NSString).deletingLastPathComponent).release() {
                    retried = true
                    continue
                }
                throw CatalogError.database(path: path, message: error.message ?? "\(error)")
            }
        }
    }

    /// Write transactions this process has committed to the catalog, and the rows they inserted, updated
    /// or deleted (SQLite's `total_changes()` of the writer connection), since the catalog was opened.
    public var writeTotals: (transactions: Int, rows: Int) { writeStats.totals }

    /// Runs `body` on a read snapshot, turning SQLite errors into `CatalogError`.
    func read<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try pool.read(body)
        } catch let error as DatabaseError {
            throw CatalogError.database(path: path, message: error.message ?? "\(error)")
        }
    }
}

/// Counts this process's catalog writes, for /metrics and benchmarks.
private final class WriteStats: @unchecked Sendable {
    private let lock = NSLock()
    private var transactions = 0
    private var rows = 0

    func count(totalChanges: Int) {
        lock.lock()
        transactions += 1
        rows = totalChanges
        lock.unlock()
    }

    var totals: (transactions: Int, rows: Int) {
        lock.lock()
        defer { lock.unlock() }
        return (transactions, rows)
    }
}

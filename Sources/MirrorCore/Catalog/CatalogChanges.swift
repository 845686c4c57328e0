import GRDB

/// Tells whether anything in the catalog changed: SQLite's `data_version` on one connection of its own,
/// which moves whenever any other connection — of this process or another — commits. A cache of catalog
/// rows stays exact by dropping everything when the version moves.
public final class CatalogChanges: Sendable {
    private let queue: DatabaseQueue

    /// Opens its own read-only connection to the catalog at `path`.
    public init(path: String) throws {
        var config = Configuration()
        config.readonly = true
        config.busyMode = .timeout(Catalog.busyTimeout)
        config.label = "catalog-changes"
        do {
            queue = try DatabaseQueue(path: path, configuration: config)
        } catch let error as DatabaseError {
            throw CatalogError.database(path: path, message: error.message ?? "\(error)")
        }
    }

    /// A number that differs from the last one read whenever a commit happened in between.
    public func version() throws -> Int64 {
        do {
            return try queue.inDatabase { db in try Int64.fetchOne(db, sql: "PRAGMA data_version") ?? 0 }
        } catch let error as DatabaseError {
            throw CatalogError.database(path: queue.path, message: error.message ?? "\(error)")
        }
    }
}

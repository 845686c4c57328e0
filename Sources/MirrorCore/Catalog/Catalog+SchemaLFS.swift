import GRDB

extension Catalog {
    /// Migrations for Git LFS tracking (append new ones at the end).
    static func registerLFSMigrations(_ migrator: inout DatabaseMigrator) {
        // The pointer-scan cursor (ref tips scanned last, per mirror), what the last scan and fetch saw,
        // and per-object bookkeeping for `lfs status`.
        migrator.registerMigration("v2-lfs-scan") { db in
            try db.alter(table: "lfs_object") { t in
                t.add(column: "attempts", .integer).notNull().defaults(to: 0)
                t.add(column: "fetched_at", .datetime)
                t.add(column: "source", .text)
            }
            try db.create(index: "lfs_object_by_state", on: "lfs_object", columns: ["mirror_id", "state"])
            try db.create(table: "lfs_scan") { t in
                t.primaryKey("mirror_id", .integer).references("mirror", onDelete: .cascade)
                t.column("scanned_at", .datetime)
                t.column("commits_scanned", .integer).notNull().defaults(to: 0)
                t.column("malformed_pointers", .integer).notNull().defaults(to: 0)
                t.column("malformed_example", .text)
                t.column("endpoint", .text)
                t.column("endpoint_source", .text)
                t.column("fetched_at", .datetime)
                t.column("fetch_result", .text)
                t.column("last_error", .text)
            }
            try db.create(table: "lfs_scan_tip") { t in
                t.column("mirror_id", .integer).notNull().references("mirror", onDelete: .cascade)
                t.column("oid", .text).notNull()
                t.primaryKey(["mirror_id", "oid"])
            }
        }
    }
}

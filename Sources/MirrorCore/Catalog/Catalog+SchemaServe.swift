import GRDB

extension Catalog {
    /// Migrations for serving the mirrors to clients: private mirrors, HTTP tokens, the access log and its
    /// hourly roll-up, and small settings shared between processes (append new ones at the end).
    static func registerServeMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v6-serve") { db in
            try db.alter(table: "mirror") { t in
                t.add(column: "private", .boolean).notNull().defaults(to: false)
            }
            try db.create(table: "access_token") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("user", .text).notNull().indexed()
                t.column("token_hash", .text).notNull().unique()
                t.column("created_at", .datetime).notNull()
                t.column("created_by", .text).notNull()
                t.column("expires_at", .datetime)
                t.column("revoked_at", .datetime)
                t.column("last_used_at", .datetime)
            }
            try db.create(table: "access_log") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("at", .datetime).notNull()
                t.column("client", .text).notNull()
                t.column("user", .text)
                t.column("mirror", .text)
                t.column("kind", .text).notNull()
                t.column("status", .integer).notNull()
                t.column("bytes", .integer).notNull()
                t.column("duration_ms", .integer).notNull()
            }
            try db.create(index: "access_log_by_time", on: "access_log", columns: ["at"])
            try db.create(index: "access_log_by_mirror", on: "access_log", columns: ["mirror", "at"])
            try db.create(table: "access_hourly") { t in
                t.column("hour", .datetime).notNull()
                t.column("mirror", .text).notNull()
                t.column("kind", .text).notNull()
                t.column("status", .integer).notNull()
                t.column("requests", .integer).notNull()
                t.column("bytes", .integer).notNull()
                t.primaryKey(["hour", "mirror", "kind", "status"])
            }
            try db.create(table: "setting") { t in
                t.primaryKey("key", .text)
                t.column("value", .text).notNull()
            }
        }
    }
}

import GRDB

extension Catalog {
    /// Migrations for jobs, the engine lease and scheduling (append new ones at the end).
    static func registerEngineMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v2-engine") { db in
            try db.alter(table: "job") { t in
                t.add(column: "cancel_requested", .boolean).notNull().defaults(to: false)
            }
            try db.create(table: "webhook_delivery") { t in
                t.primaryKey("delivery", .text)
                t.column("received_at", .datetime).notNull()
            }
        }
    }
}

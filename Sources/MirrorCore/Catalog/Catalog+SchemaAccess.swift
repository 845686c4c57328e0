import GRDB

extension Catalog {
    /// Migrations for SSH access grants (append new ones at the end).
    static func registerAccessMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v3-access") { db in
            try db.create(table: "access_grant") { t in
                t.primaryKey("fingerprint", .text)
                t.column("user", .text).notNull().indexed()
                t.column("role", .text).notNull()
                t.column("key_type", .text).notNull()
                t.column("key_base64", .text).notNull()
                t.column("comment", .text).notNull().defaults(to: "")
                t.column("created_at", .datetime).notNull()
                t.column("created_by", .text).notNull()
            }
        }
    }
}

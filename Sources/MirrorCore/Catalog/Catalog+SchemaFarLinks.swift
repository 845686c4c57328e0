import GRDB

extension Catalog {
    /// Migrations for far upstreams: which refs a mirror keeps, its bandwidth cap (append new ones at the end).
    static func registerFarLinkMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v7-ref-filter") { db in
            try db.alter(table: "mirror") { t in
                // NULL: every ref (the default); otherwise RefFilter's text, e.g. "heads-tags".
                t.add(column: "refs", .text)
            }
        }
        migrator.registerMigration("v7-mirror-max-rate") { db in
            try db.alter(table: "mirror") { t in
                // Bytes a second this mirror's transfers may take (NULL: no cap of its own).
                t.add(column: "max_rate", .integer)
            }
        }
    }
}

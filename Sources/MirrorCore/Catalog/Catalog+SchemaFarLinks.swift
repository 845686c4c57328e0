import GRDB

extension Catalog {
    /// Migrations for far upstreams: which refs a mirror keeps (append new ones at the end).
    static func registerFarLinkMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v7-ref-filter") { db in
            try db.alter(table: "mirror") { t in
                // NULL: every ref (the default); otherwise RefFilter's text, e.g. "heads-tags".
                t.add(column: "refs", .text)
            }
        }
    }
}

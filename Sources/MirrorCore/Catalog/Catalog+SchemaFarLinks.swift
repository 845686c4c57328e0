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
        migrator.registerMigration("v8-sync-steps") { db in
            try db.alter(table: "sync_run") { t in
                t.add(column: "steps", .integer).notNull().defaults(to: 0)
                t.add(column: "steps_total", .integer).notNull().defaults(to: 0)
                t.add(column: "attempts", .integer).notNull().defaults(to: 0)
            }
            // The attempt of a job that last completed a fetch step (interrupted attempts before it do not
            // count toward giving up).
            try db.alter(table: "job") { t in
                t.add(column: "progress_attempt", .integer).notNull().defaults(to: 0)
            }
            // What each upstream host's link did lately: the bytes it carried before cutting a transfer.
            try db.create(table: "host_link") { t in
                t.primaryKey("host", .text)
                t.column("cut_bytes", .integer).notNull()
                t.column("cut_at", .datetime).notNull()
            }
        }
    }
}

import GRDB

extension Catalog {
    /// Migrations for storage over time: git maintenance runs, what triggers them, per-mirror sizes
    /// (append new ones at the end).
    static func registerStorageMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v6-storage-maintenance") { db in
            // One row per maintenance of a mirror: what it found before, what it left, how long it took.
            try db.create(table: "maintenance_run") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("mirror_id", .integer).notNull().references("mirror", onDelete: .cascade)
                t.column("job_id", .integer).references("job", onDelete: .setNull)
                t.column("trigger", .text).notNull()
                t.column("actor", .text).notNull()
                t.column("reason", .text).notNull()
                t.column("started_at", .datetime).notNull()
                t.column("ended_at", .datetime)
                t.column("duration_ms", .integer)
                t.column("result", .text).notNull().defaults(to: "running")
                t.column("grace_seconds", .integer).notNull()
                t.column("packs_before", .integer).notNull().defaults(to: 0)
                t.column("packs_after", .integer).notNull().defaults(to: 0)
                t.column("loose_before", .integer).notNull().defaults(to: 0)
                t.column("loose_after", .integer).notNull().defaults(to: 0)
                t.column("bytes_before", .integer).notNull().defaults(to: 0)
                t.column("bytes_after", .integer).notNull().defaults(to: 0)
                t.column("error", .text)
            }
            try db.create(index: "maintenance_run_by_mirror", on: "maintenance_run", columns: ["mirror_id", "started_at"])
            try db.create(index: "maintenance_run_by_job", on: "maintenance_run", columns: ["job_id"])
            // The options a maintain job was queued with (the grace period), like audit_request for verify.
            try db.create(table: "maintenance_request") { t in
                t.primaryKey("job_id", .integer).references("job", onDelete: .cascade)
                t.column("grace_seconds", .integer).notNull()
            }
            // What the last look at a mirror's object store found, and whether maintenance is due (and why).
            try db.create(table: "mirror_storage") { t in
                t.primaryKey("mirror_id", .integer).references("mirror", onDelete: .cascade)
                t.column("packs", .integer).notNull().defaults(to: 0)
                t.column("loose_objects", .integer).notNull().defaults(to: 0)
                t.column("git_bytes", .integer).notNull().defaults(to: 0)
                t.column("measured_at", .datetime)
                t.column("last_maintained_at", .datetime)
                t.column("maintenance_due", .text)
            }
        }
        // LFS retention: each mirror's policy and archive directory, and where an object out of the policy
        // went (the trash or the archive, and when) so it can be restored, served, or deleted after the grace.
        migrator.registerMigration("v7-lfs-retention") { db in
            try db.alter(table: "mirror") { t in
                t.add(column: "lfs_keep", .text).notNull().defaults(to: "all")
                t.add(column: "lfs_archive", .text)
            }
            try db.alter(table: "lfs_object") { t in
                t.add(column: "retired_at", .datetime)
                t.add(column: "retired_path", .text)
            }
        }
    }
}

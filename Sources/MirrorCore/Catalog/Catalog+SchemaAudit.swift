import GRDB

extension Catalog {
    /// Migrations for checksum audits (append new ones at the end).
    static func registerAuditMigrations(_ migrator: inout DatabaseMigrator) {
        // One row per audit of a mirror, what it found, the options a verify job was queued with, the packs
        // verified (packs never change, so `--since` can skip them), and the last verdict per LFS object.
        migrator.registerMigration("v2-audit") { db in
            try db.create(table: "audit_run") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("mirror_id", .integer).notNull().references("mirror", onDelete: .cascade)
                t.column("job_id", .integer).references("job", onDelete: .setNull)
                t.column("trigger", .text).notNull()
                t.column("actor", .text).notNull()
                t.column("started_at", .datetime).notNull()
                t.column("ended_at", .datetime)
                t.column("duration_ms", .integer)
                t.column("result", .text).notNull().defaults(to: "running")
                t.column("repair", .boolean).notNull().defaults(to: false)
                t.column("since_seconds", .integer)
                t.column("threads", .integer).notNull().defaults(to: 1)
                t.column("max_rate", .integer)
                t.column("lfs_objects_checked", .integer).notNull().defaults(to: 0)
                t.column("lfs_bytes_checked", .integer).notNull().defaults(to: 0)
                t.column("lfs_objects_skipped", .integer).notNull().defaults(to: 0)
                t.column("git_objects_checked", .integer).notNull().defaults(to: 0)
                t.column("git_bytes_checked", .integer).notNull().defaults(to: 0)
                t.column("git_packs_checked", .integer).notNull().defaults(to: 0)
                t.column("git_packs_skipped", .integer).notNull().defaults(to: 0)
                t.column("problems", .integer).notNull().defaults(to: 0)
                t.column("quarantined", .integer).notNull().defaults(to: 0)
                t.column("repaired", .integer).notNull().defaults(to: 0)
                t.column("unrecoverable", .integer).notNull().defaults(to: 0)
                t.column("counts", .text).notNull().defaults(to: "{}")
                t.column("error", .text)
            }
            try db.create(index: "audit_run_by_mirror", on: "audit_run", columns: ["mirror_id", "started_at"])
            try db.create(index: "audit_run_by_job", on: "audit_run", columns: ["job_id"])
            try db.create(table: "audit_finding") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("audit_id", .integer).notNull().references("audit_run", onDelete: .cascade)
                t.column("area", .text).notNull()
                t.column("verdict", .text).notNull()
                t.column("subject", .text).notNull()
                t.column("size", .integer)
                t.column("detail", .text).notNull()
                t.column("action", .text).notNull()
                t.column("quarantine_path", .text)
            }
            try db.create(index: "audit_finding_by_audit", on: "audit_finding", columns: ["audit_id"])
            try db.create(table: "audit_request") { t in
                t.primaryKey("job_id", .integer).references("job", onDelete: .cascade)
                t.column("repair", .boolean).notNull().defaults(to: false)
                t.column("threads", .integer)
                t.column("max_rate", .integer)
                t.column("since_seconds", .integer)
            }
            try db.create(table: "audit_pack") { t in
                t.column("mirror_id", .integer).notNull().references("mirror", onDelete: .cascade)
                t.column("pack", .text).notNull()
                t.column("size", .integer).notNull()
                t.column("verified_at", .datetime).notNull()
                t.primaryKey(["mirror_id", "pack"])
            }
            try db.alter(table: "lfs_object") { t in
                t.add(column: "verdict", .text)
            }
            try db.alter(table: "mirror_state") { t in
                t.add(column: "last_audit_at", .datetime)
                t.add(column: "last_audit_result", .text)
            }
        }
    }
}

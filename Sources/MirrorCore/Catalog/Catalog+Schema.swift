import GRDB

extension Catalog {
    /// Named, append-only migrations: never edit one that has shipped, add a new one.
    /// Each area registers its own in a `Catalog+Schema<Area>.swift` file; the order here is the order they run.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        registerCoreMigrations(&migrator)
        registerLFSMigrations(&migrator)
        registerEngineMigrations(&migrator)
        registerAccessMigrations(&migrator)
        registerAuditMigrations(&migrator)
        registerServeMigrations(&migrator)
        registerStorageMigrations(&migrator)
        registerFarLinkMigrations(&migrator)
        registerHostStateMigrations(&migrator)
        return migrator
    }

    static func registerCoreMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v1-core") { db in
            try db.create(table: "mirror") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("name", .text).notNull().unique()
                t.column("upstream", .text).notNull()
                t.column("interval_seconds", .integer).notNull()
                t.column("lfs", .text).notNull().defaults(to: "auto")
                t.column("lfs_url", .text)
                t.column("prune", .boolean).notNull().defaults(to: true)
                t.column("insecure_tls", .boolean).notNull().defaults(to: false)
                t.column("created_at", .datetime).notNull()
            }
            try db.create(table: "mirror_state") { t in
                t.primaryKey("mirror_id", .integer).references("mirror", onDelete: .cascade)
                t.column("status", .text).notNull().defaults(to: "idle")
                t.column("fresh_as_of", .datetime)
                t.column("last_check_at", .datetime)
                t.column("last_success_at", .datetime)
                t.column("last_failure_at", .datetime)
                t.column("behind", .integer).notNull().defaults(to: 0)
                t.column("consecutive_failures", .integer).notNull().defaults(to: 0)
                t.column("next_run_at", .datetime)
                t.column("last_error", .text)
                t.column("paused_reason", .text)
                t.column("head_ref", .text)
                t.column("ref_count", .integer).notNull().defaults(to: 0)
                t.column("disk_bytes", .integer).notNull().defaults(to: 0)
                t.column("lfs_objects_present", .integer).notNull().defaults(to: 0)
                t.column("lfs_objects_total", .integer).notNull().defaults(to: 0)
                t.column("lfs_bytes_present", .integer).notNull().defaults(to: 0)
                t.column("lfs_bytes_total", .integer).notNull().defaults(to: 0)
            }
            try db.create(table: "job") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("mirror_id", .integer).notNull().references("mirror", onDelete: .cascade)
                t.column("kind", .text).notNull()
                t.column("state", .text).notNull().defaults(to: "queued")
                t.column("trigger", .text).notNull()
                t.column("actor", .text).notNull()
                t.column("priority", .integer).notNull().defaults(to: 0)
                t.column("attempts", .integer).notNull().defaults(to: 0)
                t.column("created_at", .datetime).notNull()
                t.column("started_at", .datetime)
                t.column("ended_at", .datetime)
                t.column("heartbeat_at", .datetime)
                t.column("engine_id", .text)
                t.column("phase", .text)
                t.column("units_done", .integer).notNull().defaults(to: 0)
                t.column("units_total", .integer).notNull().defaults(to: 0)
                t.column("bytes_done", .integer).notNull().defaults(to: 0)
                t.column("bytes_total", .integer).notNull().defaults(to: 0)
                t.column("rate", .double).notNull().defaults(to: 0)
                t.column("message", .text)
                t.column("error", .text)
            }
            try db.create(index: "job_by_state", on: "job", columns: ["state", "priority", "created_at"])
            try db.create(index: "job_by_mirror", on: "job", columns: ["mirror_id", "state"])
            try db.create(table: "sync_run") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("mirror_id", .integer).notNull().references("mirror", onDelete: .cascade)
                t.column("job_id", .integer).references("job", onDelete: .setNull)
                t.column("trigger", .text).notNull()
                t.column("actor", .text).notNull()
                t.column("started_at", .datetime).notNull()
                t.column("ended_at", .datetime)
                t.column("duration_ms", .integer)
                t.column("result", .text).notNull().defaults(to: "running")
                t.column("bytes_received", .integer).notNull().defaults(to: 0)
                t.column("objects_received", .integer).notNull().defaults(to: 0)
                t.column("refs_updated", .integer).notNull().defaults(to: 0)
                t.column("refs_deleted", .integer).notNull().defaults(to: 0)
                t.column("error", .text)
            }
            try db.create(index: "sync_run_by_mirror", on: "sync_run", columns: ["mirror_id", "started_at"])
            try db.create(table: "ref") { t in
                t.column("mirror_id", .integer).notNull().references("mirror", onDelete: .cascade)
                t.column("name", .text).notNull()
                t.column("target", .text).notNull()
                t.primaryKey(["mirror_id", "name"])
            }
            try db.create(table: "lfs_object") { t in
                t.column("mirror_id", .integer).notNull().references("mirror", onDelete: .cascade)
                t.column("oid", .text).notNull()
                t.column("size", .integer).notNull()
                t.column("state", .text).notNull().defaults(to: "missing")
                t.column("verified_at", .datetime)
                t.column("error", .text)
                t.primaryKey(["mirror_id", "oid"])
            }
            try db.create(index: "lfs_object_by_oid", on: "lfs_object", columns: ["oid"])
            try db.create(table: "event") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("at", .datetime).notNull()
                t.column("actor", .text).notNull()
                t.column("source", .text).notNull()
                t.column("action", .text).notNull()
                t.column("mirror", .text)
                t.column("message", .text).notNull()
            }
            try db.create(index: "event_by_time", on: "event", columns: ["at"])
            try db.create(table: "engine_lease") { t in
                t.primaryKey("id", .integer)
                t.column("owner", .text).notNull()
                t.column("pid", .integer).notNull()
                t.column("host", .text).notNull()
                t.column("kind", .text).notNull()
                t.column("acquired_at", .datetime).notNull()
                t.column("heartbeat_at", .datetime).notNull()
            }
        }
    }
}

import GRDB

extension Catalog {
    /// Migrations for upstream hosts as a state of their own: rate limits and request budgets (append new
    /// ones at the end).
    static func registerHostStateMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v8-host-state") { db in
            // One row per upstream host that was rate-limited or has a request budget.
            try db.create(table: "host_state") { t in
                t.primaryKey("host", .text)
                // Until when every job to the host waits (NULL or past: not limited).
                t.column("limited_until", .datetime)
                t.column("limited_at", .datetime)
                t.column("limit_status", .integer)
                t.column("limit_source", .text)
                // The request budget's token bucket: requests left, as of `budget_at` (see HostBudget).
                t.column("budget_tokens", .double)
                t.column("budget_at", .datetime)
            }
            try db.alter(table: "job") { t in
                // A queued job does not start before this (its host is rate-limited until then).
                t.add(column: "wait_until", .datetime)
                // The bandwidth cap and stall timeout a running job was started under (for `jobs` and the dashboard).
                t.add(column: "rate_cap", .integer)
                t.add(column: "rate_cap_source", .text)
                t.add(column: "stall_timeout", .integer)
            }
        }
    }
}

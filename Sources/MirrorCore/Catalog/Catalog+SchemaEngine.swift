import GRDB

extension Catalog {
    /// Migrations for jobs, the engine lease and scheduling (append new ones at the end).
    static func registerEngineMigrations(_ migrator: inout DatabaseMigrator) {}
}

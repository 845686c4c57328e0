import GRDB

extension Catalog {
    /// Migrations for Git LFS tracking (append new ones at the end).
    static func registerLFSMigrations(_ migrator: inout DatabaseMigrator) {}
}

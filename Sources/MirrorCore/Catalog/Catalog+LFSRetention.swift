import Foundation
import GRDB

/// A row change a retention run makes: the object's new state and where its copy out of the store is.
struct LFSRetireUpdate: Sendable {
    var oid: String
    var state: LFSObjectState
    /// The copy in the trash or the archive (nil: none).
    var path: String?
}

extension Catalog {
    /// Records where objects went (or are about to go) in one transaction. Written *before* a file moves,
    /// so a crash mid-move leaves a row that names the destination: the next run finishes the move, and
    /// the trash sweep never mistakes a file on its way in for an orphan.
    func retireLFSObjects(mirrorId: Int64, _ updates: [LFSRetireUpdate], now: Date = Date()) throws {
        guard !updates.isEmpty else { return }
        try write { db in
            let retire = try db.makeStatement(sql: """
                UPDATE lfs_object SET state = ?, retired_path = ?, retired_at = COALESCE(CASE WHEN state IN ('trashed', 'archived', 'pruned') THEN retired_at END, ?)
                WHERE mirror_id = ? AND oid = ?
                """)
            let back = try db.makeStatement(sql: """
                UPDATE lfs_object SET state = ?, retired_path = ?, retired_at = NULL, error = NULL WHERE mirror_id = ? AND oid = ?
                """)
            for u in updates {
                if u.state.isRetired {
                    try retire.execute(arguments: [u.state.rawValue, u.path, now, mirrorId, u.oid])
                } else {
                    // Back in the policy: present again, or missing (to be restored or fetched); a missing
                    // object keeps the path of its copy so the next fetch restores it instead of downloading.
                    try back.execute(arguments: [u.state.rawValue, u.state == .present ? nil : u.path, mirrorId, u.oid])
                }
            }
        }
    }

    /// Every `retired_path` of a trashed object, in every mirror: what the trash sweep must leave alone.
    func trashedPaths() throws -> Set<String> {
        try read { db in
            Set(try String.fetchAll(db, sql: "SELECT retired_path FROM lfs_object WHERE state = 'trashed' AND retired_path IS NOT NULL"))
        }
    }

    /// Ends a retention run in one transaction: the mirror's LFS counters and an event with its actor.
    func finishLFSRetention(mirror: Mirror, action: String, message: String, actor: Actor, now: Date = Date()) throws {
        let mirrorId = mirror.id!
        try write { db in
            let counts = try Self.lfsCounts(mirrorId: mirrorId, db: db)
            try db.execute(sql: """
                UPDATE mirror_state SET lfs_objects_total = ?, lfs_objects_present = ?, lfs_bytes_total = ?, lfs_bytes_present = ?
                WHERE mirror_id = ?
                """, arguments: [counts.objectsTotal, counts.objectsPresent, counts.bytesTotal, counts.bytesPresent, mirrorId])
            try Event(actor: actor, action: action, mirror: mirror.name, message: message, at: now).append(to: db)
        }
    }
}

import Foundation
import GRDB

extension Catalog {
    /// Grants `key` to `user` with `role` (a user's role applies to all their keys). A key already granted
    /// to another user is refused.
    @discardableResult
    public func grant(user: String, role: Role, key: PublicKey, actor: Actor, now: Date = Date()) throws -> Grant {
        try Grant.validateUser(user)
        return try write { db in
            if let existing = try Grant.fetchOne(db, key: key.fingerprint), existing.user != user {
                throw AccessError.keyTaken(fingerprint: key.fingerprint, user: existing.user)
            }
            try db.execute(sql: "UPDATE access_grant SET role = ? WHERE user = ?", arguments: [role.rawValue, user])
            var grant = Grant(fingerprint: key.fingerprint, user: user, role: role, keyType: key.type, keyBase64: key.base64,
                              comment: key.comment, createdAt: now, createdBy: actor.description)
            try grant.save(db)
            try Event(actor: actor, action: "access", mirror: nil, message: "granted \(role.rawValue) to \(user) (key \(key.fingerprint))", at: now).append(to: db)
            return grant
        }
    }

    /// Revokes a user (all their keys) or one key by fingerprint; returns the grants removed.
    @discardableResult
    public func revoke(_ target: String, actor: Actor, now: Date = Date()) throws -> [Grant] {
        try write { db in
            let removed: [Grant]
            if target.hasPrefix("SHA256:") {
                removed = try Grant.filter(Column("fingerprint") == target).fetchAll(db)
            } else {
                removed = try Grant.filter(Column("user") == target).fetchAll(db)
            }
            guard !removed.isEmpty else { throw AccessError.unknownUser(target) }
            for grant in removed { _ = try grant.delete(db) }
            try Event(actor: actor, action: "access", mirror: nil, message: "revoked \(target) (\(removed.count) key(s))", at: now).append(to: db)
            return removed
        }
    }

    /// Every grant, by user then fingerprint.
    public func grants() throws -> [Grant] {
        try read { db in try Grant.order(Column("user"), Column("fingerprint")).fetchAll(db) }
    }

    /// The role of `user` now, or nil when the user has no grant.
    public func role(of user: String) throws -> Role? {
        try read { db in try String.fetchOne(db, sql: "SELECT role FROM access_grant WHERE user = ? LIMIT 1", arguments: [user]) }
            .flatMap(Role.init(rawValue:))
    }
}

import Foundation
import GRDB

/// Who did something: a local user or an SSH user with their source address.
public struct Actor: Sendable, Equatable, CustomStringConvertible {
    public var user: String
    public var source: String

    public init(user: String, source: String) {
        self.user = user
        self.source = source
    }

    /// The user running this process, from the local machine.
    public static var local: Actor {
        let env = ProcessInfo.processInfo.environment
        var name = env["USER"] ?? env["LOGNAME"] ?? ""
        if name.isEmpty, let pw = getpwuid(getuid()), let n = pw.pointee.pw_name { name = String(cString: n) }
        return Actor(user: name.isEmpty ? "uid\(getuid())" : name, source: "local")
    }

    /// The engine acting on its own (schedules, retries).
    public static let scheduler = Actor(user: "scheduler", source: "local")

    public var description: String { source == "local" ? user : "\(user)@\(source)" }
}

/// One line of the audit log: who did what, when, from where.
public struct Event: Sendable, Equatable, Identifiable {
    public var id: Int64?
    public var at: Date
    public var actor: String
    public var source: String
    public var action: String
    public var mirror: String?
    public var message: String

    public init(actor: Actor, action: String, mirror: String?, message: String, at: Date = Date()) {
        self.at = at
        self.actor = actor.user
        self.source = actor.source
        self.action = action
        self.mirror = mirror
        self.message = Redactor.redact(message)
    }
}

extension Event: CatalogRecord {
    public static let databaseTableName = "event"
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    /// Appends the event with one prepared statement (every sync and job records one).
    func append(to db: Database) throws {
        try db.cachedStatement(sql: "INSERT INTO event (at, actor, source, action, mirror, message) VALUES (?, ?, ?, ?, ?, ?)")
            .execute(arguments: [at, actor, source, action, mirror, message])
    }
}

import Foundation
import GRDB

/// The row that says which engine is alive for this catalog.
public struct EngineLease: Sendable, Equatable {
    public enum Kind: String, Codable, Sendable { case daemon, embedded }

    public var id: Int64 = 1
    public var owner: String
    public var pid: Int32
    public var host: String
    public var kind: Kind
    public var acquiredAt: Date
    public var heartbeatAt: Date

    /// Whether the lease's holder looks alive: a fresh heartbeat, and, on this host, a live process.
    public func isLive(now: Date = Date(), timeout: TimeInterval) -> Bool {
        guard now.timeIntervalSince(heartbeatAt) < timeout else { return false }
        if host == EngineLease.hostName, kill(pid, 0) != 0, errno == ESRCH { return false }
        return true
    }

    public static let hostName: String = ProcessInfo.processInfo.hostName
}

extension EngineLease: CatalogRecord {
    public static let databaseTableName = "engine_lease"
}

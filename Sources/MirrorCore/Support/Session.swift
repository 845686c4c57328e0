import Foundation

/// Who this process acts for. A CLI run acts for the local user; `mirrordeck ssh-session` adopts the SSH
/// user, source address and role once, before it runs anything, and every event and job it records
/// carries that identity.
public enum Session {
    public struct Identity: Sendable, Equatable {
        public var actor: Actor
        public var trigger: Trigger
        public var role: Role?

        public init(actor: Actor, trigger: Trigger, role: Role?) {
            self.actor = actor
            self.trigger = trigger
            self.role = role
        }
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var identity: Identity?

    /// Sets the identity for the rest of the process.
    public static func adopt(_ new: Identity) {
        lock.lock()
        identity = new
        lock.unlock()
    }

    /// The adopted identity, if any.
    public static var current: Identity? {
        lock.lock()
        defer { lock.unlock() }
        return identity
    }
}

extension Actor {
    /// Whoever this process acts for: the SSH session's user, or the local user.
    public static var acting: Actor { Session.current?.actor ?? .local }
}

extension Trigger {
    /// `ssh` inside an SSH session, `manual` otherwise.
    public static var acting: Trigger { Session.current?.trigger ?? .manual }
}

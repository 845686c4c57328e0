import MirrorCore

/// The long-running engine host (HTTP, scheduler); the engine issue fills it in.
public enum Daemon {
    /// The address the daemon binds to when none is given.
    public static let defaultListen = "127.0.0.1:9477"
}

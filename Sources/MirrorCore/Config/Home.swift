import Foundation

/// The MirrorDeck home: the catalog, the mirrors and their LFS objects live under one directory.
public struct Home: Sendable {
    public let root: String

    /// Resolves the home: `--home` > `MIRRORDECK_HOME` > `$XDG_DATA_HOME/mirrordeck` > `~/.local/share/mirrordeck`.
    public static func resolve(flag: String?, environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let flag, !flag.isEmpty { return absolute(flag) }
        if let env = environment["MIRRORDECK_HOME"], !env.isEmpty { return absolute(env) }
        if let xdg = environment["XDG_DATA_HOME"], xdg.hasPrefix("/") { return xdg + "/mirrordeck" }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return home + "/.local/share/mirrordeck"
    }

    /// Opens (creating when missing) the home at `path`; throws `ConfigError.homeUnusable`.
    public init(path: String) throws {
        root = Self.absolute(path)
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: root, isDirectory: &isDir) {
            guard isDir.boolValue else { throw ConfigError.homeUnusable(root, reason: "it is not a directory") }
        } else {
            do {
                try fm.createDirectory(atPath: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw ConfigError.homeUnusable(root, reason: "it cannot be created (\(Self.reason(error)))")
            }
        }
        guard access(root, R_OK | W_OK | X_OK) == 0 else {
            throw ConfigError.homeUnusable(root, reason: "it is not readable and writable by this user")
        }
        for dir in [mirrorsDirectory, locksDirectory] where !fm.fileExists(atPath: dir) {
            do {
                try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
            } catch {
                throw ConfigError.homeUnusable(root, reason: "\(dir) cannot be created (\(Self.reason(error)))")
            }
        }
    }

    public var catalogPath: String { root + "/catalog.sqlite" }
    public var mirrorsDirectory: String { root + "/mirrors" }
    public var locksDirectory: String { root + "/locks" }
    public var lfsIncompleteDirectory: String { root + "/lfs-incomplete" }
    public var quarantineDirectory: String { root + "/quarantine" }

    /// The bare repository of a mirror. The name must have passed `MirrorName.validate`.
    public func mirrorPath(_ name: String) -> String {
        precondition(MirrorName.isValid(name), "mirror name must be validated before use")
        return mirrorsDirectory + "/" + name + ".git"
    }

    /// The lock file that serializes work on one mirror across processes.
    public func lockPath(_ name: String) -> String {
        precondition(MirrorName.isValid(name), "mirror name must be validated before use")
        return locksDirectory + "/" + name.replacingOccurrences(of: "/", with: "%2F") + ".lock"
    }

    static func absolute(_ path: String) -> String {
        let expanded = (path as NSString).expandingTildeInPath
        if expanded.hasPrefix("/") { return (expanded as NSString).standardizingPath }
        return ((FileManager.default.currentDirectoryPath + "/" + expanded) as NSString).standardizingPath
    }

    private static func reason(_ error: Error) -> String {
        (error as NSError).localizedFailureReason ?? (error as NSError).localizedDescription
    }
}

import Foundation

extension Home {
    /// Where LFS objects that left a mirror's store are kept for the grace period: `lfs-trash/<date>/…`.
    public var lfsTrashDirectory: String { root + "/lfs-trash" }

    /// Checks an archive directory for this home: absolute and normalized (`Mirror.validateArchive`), and
    /// neither inside the home nor holding it (objects must leave the home's tree to free anything, and the
    /// home's own files must never be mistaken for archived objects).
    public func validateArchive(_ path: String) throws {
        try Mirror.validateArchive(path)
        let archive = Self.absolute(path)
        let resolvedRoot = (root as NSString).resolvingSymlinksInPath
        let resolvedArchive = (archive as NSString).resolvingSymlinksInPath
        for (a, h) in [(archive, root), (resolvedArchive, resolvedRoot)] {
            if a == h || a.hasPrefix(h + "/") { throw ConfigError.invalidArchive(path, reason: "it lies inside the home \(root)") }
            if h.hasPrefix(a + "/") { throw ConfigError.invalidArchive(path, reason: "it holds the home \(root)") }
        }
    }

    /// An archived LFS object of a mirror: `<archive>/<name>/lfs/objects/ab/cd/<oid>` (git-lfs layout per
    /// mirror, so an archive directory can be served or copied back as it is).
    public static func lfsArchivePath(archive: String, mirror name: String, _ oid: LFSOID) -> String {
        precondition(MirrorName.isValid(name), "mirror name must be validated before use")
        return absolute(archive) + "/" + name + "/lfs/objects/" + oid.shardedPath
    }

    /// The path of a servable copy of one LFS object of a mirror, or nil: the mirror's own store first,
    /// then the archive directory (`--lfs-archive`) when one is given. Both the name and the oid are
    /// validated first (nil when either is bad), only a regular file whose size is known counts (no
    /// symlinks, no directories), and the real path must lie inside the home or the archive.
    public func lfsObjectLocation(mirror name: String, oid text: String, archive: String? = nil) -> String? {
        guard MirrorName.isValid(name), let oid = LFSOID(text) else { return nil }
        var candidates = [(lfsObjectPath(name, oid), root)]
        if let archive, !archive.isEmpty {
            candidates.append((Self.lfsArchivePath(archive: archive, mirror: name, oid), Self.absolute(archive)))
        }
        for (path, base) in candidates {
            var st = stat()
            guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
            guard let real = realpath(path, nil) else { continue }
            defer { free(real) }
            guard let realBase = realpath(base, nil) else { continue }
            defer { free(realBase) }
            let resolved = String(cString: real), inside = String(cString: realBase)
            if resolved.hasPrefix(inside.hasSuffix("/") ? inside : inside + "/") { return path }
        }
        return nil
    }
}

import Foundation

extension Home {
    /// A mirror's LFS object store, in git-lfs layout so the mirror can be served as-is.
    public func lfsObjectsDirectory(_ name: String) -> String {
        mirrorPath(name) + "/lfs/objects"
    }

    /// Where a mirror keeps one LFS object: `mirrors/<name>.git/lfs/objects/ab/cd/<oid>`.
    public func lfsObjectPath(_ name: String, _ oid: LFSOID) -> String {
        lfsObjectsDirectory(name) + "/" + oid.shardedPath
    }

    /// The resumable partial download of an object, shared by every mirror of the home.
    public func lfsPartPath(_ oid: LFSOID) -> String {
        lfsIncompleteDirectory + "/" + oid.hex + ".part"
    }

    /// The lock that lets one worker at a time (in any process) write an object's partial download.
    func lfsObjectLockPath(_ oid: LFSOID) -> String {
        lfsIncompleteDirectory + "/" + oid.hex + ".lock"
    }

    /// The lock that serializes LFS fetching of one mirror across processes (separate from the sync lock,
    /// so a git sync can run while a long LFS download goes on).
    func lfsLockPath(_ name: String) -> String {
        precondition(MirrorName.isValid(name), "mirror name must be validated before use")
        return locksDirectory + "/lfs/" + name.replacingOccurrences(of: "/", with: "%2F") + ".lock"
    }
}

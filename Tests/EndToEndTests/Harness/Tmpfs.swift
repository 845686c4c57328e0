import Foundation

extension TestEnv {
    /// Mounts a size-limited tmpfs at `path` (created if missing) and unmounts it when the env goes away.
    /// Needs root: callers check `getuid() == 0` first and record why they skip.
    func mountTmpfs(at path: String, size: String) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let mount = try Shell.run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(size)", "tmpfs", path])
        guard mount.status == 0 else { throw TestFailure.message("cannot mount a tmpfs at \(path): \(mount)") }
        // The cleanup captures the path, not the env: the env runs it when it goes away, which a capture would prevent.
        atExit { _ = try? Shell.run("/bin/umount", ["-l", path]) }
    }
}

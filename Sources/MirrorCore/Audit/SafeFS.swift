import Foundation

/// File-system steps an audit takes on trees it does not trust: never following symbolic links, never
/// opening anything but regular files, and moving things without ever replacing what is already there.
enum SafeFS {
    /// What is at a path, without following a final symbolic link.
    enum Kind: Equatable, Sendable {
        case regular, directory, symlink
        /// A FIFO, socket, or block or character device.
        case special(String)
    }

    static func kind(_ st: stat) -> Kind {
        switch st.st_mode & S_IFMT {
        case S_IFREG: return .regular
        case S_IFDIR: return .directory
        case S_IFLNK: return .symlink
        case S_IFIFO: return .special("FIFO")
        case S_IFSOCK: return .special("socket")
        case S_IFBLK: return .special("block device")
        case S_IFCHR: return .special("character device")
        default: return .special("unknown file type")
        }
    }

    /// `fstatat` without following a final symlink; nil (with errno set) when it fails.
    static func lstatAt(_ dirfd: Int32, _ name: String) -> stat? {
        var st = stat()
        guard fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { return nil }
        return st
    }

    /// Opens a directory below `dirfd` (or an absolute path with `AT_FDCWD`) without following a final symlink.
    static func openDirectory(_ dirfd: Int32, _ name: String) -> Int32 {
        openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
    }

    /// Opens a regular file for reading: refuses (returns -1, errno ELOOP or EINVAL) a symlink or anything
    /// that is not a regular file, without ever opening a FIFO or device (which could block or act).
    static func openRegularFile(_ dirfd: Int32, _ name: String) -> Int32 {
        guard let st = lstatAt(dirfd, name) else { return -1 }
        guard kind(st) == .regular else {
            errno = kind(st) == .symlink ? ELOOP : EINVAL
            return -1
        }
        let fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else { return -1 }
        var now = stat()
        // Swapped between the lstat and the open: refuse rather than read something else.
        guard fstat(fd, &now) == 0, kind(now) == .regular, now.st_ino == st.st_ino, now.st_dev == st.st_dev else {
            close(fd)
            errno = EAGAIN
            return -1
        }
        return fd
    }

    /// The target text of a symlink (for reports), never followed.
    static func linkTarget(_ dirfd: Int32, _ name: String) -> String? {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlinkat(dirfd, name, &buf, buf.count - 1)
        guard n >= 0 else { return nil }
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static var errorText: String { String(cString: strerror(errno)) }

    // MARK: - Moves

    private typealias Renameat2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32
    /// glibc's `renameat2` (2.28+), looked up at run time because Swift's Glibc module does not declare it.
    private static let renameat2Function: Renameat2? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "renameat2") else { return nil }
        return unsafeBitCast(symbol, to: Renameat2.self)
    }()
    private static let renameNoReplace: UInt32 = 1
    private static let renameExchange: UInt32 = 2

    /// Renames `from` to `to` (same file system) unless `to` exists; returns false with errno EEXIST then.
    /// Atomic with `renameat2(RENAME_NOREPLACE)`; where the file system lacks it, a non-directory is
    /// hard-linked then unlinked (a crash in between leaves both names on the same bytes, nothing lost).
    static func moveNoReplace(_ from: String, _ to: String) -> Bool {
        moveNoReplace(AT_FDCWD, from, to)
    }

    /// The same, for `name` inside the open directory `dirfd` (so no symlink on the way can redirect it).
    static func moveNoReplace(_ dirfd: Int32, _ name: String, _ to: String) -> Bool {
        if let rename2 = renameat2Function {
            if rename2(dirfd, name, AT_FDCWD, to, renameNoReplace) == 0 { return true }
            if errno != EINVAL && errno != ENOSYS { return false }
        }
        guard let st = lstatAt(dirfd, name) else { return false }
        if kind(st) == .directory {
            var existing = stat()
            if lstat(to, &existing) == 0 {
                errno = EEXIST
                return false
            }
            return renameat(dirfd, name, AT_FDCWD, to) == 0
        }
        guard linkat(dirfd, name, AT_FDCWD, to, 0) == 0 else { return false }
        return unlinkat(dirfd, name, 0) == 0 || errno == ENOENT
    }

    /// Opens the directory holding `relative` below `root`, every step with `O_NOFOLLOW`; returns it
    /// with the last component's name, or nil (errno set) when a step is not a real directory.
    static func openParent(root: String, relative: String) -> (fd: Int32, name: String)? {
        var parts = relative.split(separator: "/").map(String.init)
        guard let name = parts.popLast(), !parts.contains(".."), name != "..", name != "." else {
            errno = EINVAL
            return nil
        }
        var fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        for part in parts {
            let next = openDirectory(fd, part)
            close(fd)
            guard next >= 0 else { return nil }
            fd = next
        }
        return (fd, name)
    }

    /// Swaps two paths atomically (`renameat2(RENAME_EXCHANGE)`); nil when the file system cannot.
    static func exchange(_ a: String, _ b: String) -> Bool? {
        guard let rename2 = renameat2Function else { return nil }
        if rename2(AT_FDCWD, a, AT_FDCWD, b, renameExchange) == 0 { return true }
        if errno == EINVAL || errno == ENOSYS || errno == ENOTSUP { return nil }
        return false
    }

    /// Flushes a directory's entries (after renames into or out of it) to disk.
    static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }

    /// Writes `text` to `path` durably and atomically (temp file, fsync, rename).
    static func writeDurably(_ text: String, to path: String) throws {
        let tmp = path + ".tmp-\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else { throw AuditError.io(path: tmp, message: errorText) }
        let bytes = Array(text.utf8)
        let failed = bytes.withUnsafeBytes { LFSStore.writeAll(fd, $0) }
        if let failed {
            close(fd)
            unlink(tmp)
            throw AuditError.io(path: path, message: String(cString: strerror(failed)))
        }
        fsync(fd)
        close(fd)
        guard rename(tmp, path) == 0 else {
            let message = errorText
            unlink(tmp)
            throw AuditError.io(path: path, message: message)
        }
        syncDirectory((path as NSString).deletingLastPathComponent)
    }

    /// Creates a directory and its parents (not following symlinks at the end of the path).
    static func makeDirectories(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw AuditError.io(path: path, message: "cannot create the directory (\((error as NSError).localizedDescription))")
        }
    }
}

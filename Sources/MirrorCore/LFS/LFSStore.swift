import Crypto
import Foundation

/// File work on the LFS object store: hashing, atomic placement, free space. Paths come from `Home` and
/// are built from validated `LFSOID`s only.
enum LFSStore {
    static let chunkSize = 1 << 20

    /// The lowercase hex of a finished SHA-256.
    static func hex(_ digest: SHA256.Digest) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for byte in digest {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Feeds the first `count` bytes of `fd` (from offset 0) to `hasher`; false when the file is shorter.
    static func hashPrefix(fd: Int32, count: Int64, into hasher: inout SHA256) -> Bool {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        var done: Int64 = 0
        while done < count {
            let want = Int(min(Int64(chunkSize), count - done))
            let n = pread(fd, buffer.baseAddress, want, off_t(done))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            done += Int64(n)
        }
        return true
    }

    /// Whether the file at `path` is a regular file of the pointer's size whose SHA-256 is its oid.
    static func verify(path: String, pointer: LFSPointer) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, Int64(st.st_size) == pointer.size else { return false }
        var hasher = SHA256()
        guard hashPrefix(fd: fd, count: pointer.size, into: &hasher) else { return false }
        return hex(hasher.finalize()) == pointer.oid.hex
    }

    /// Size of a regular file, or nil.
    static func regularFileSize(_ path: String) -> Int64? {
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int64(st.st_size)
    }

    /// Moves a verified partial file into place atomically (same filesystem: both live in the home).
    static func place(part: String, at final: String) throws {
        try makeParents(of: final)
        guard rename(part, final) == 0 else {
            throw LFSObjectError.local("cannot move the verified object into \(final): \(String(cString: strerror(errno)))")
        }
    }

    /// Hard-links an object another mirror holds; false when the filesystem cannot (then copy instead).
    static func link(from source: String, to final: String) throws -> Bool {
        try makeParents(of: final)
        if Foundation.link(source, final) == 0 { return true }
        let err = errno
        if err == EEXIST { return true }
        if err == EXDEV || err == EMLINK || err == EPERM || err == ENOTSUP { return false }
        throw LFSObjectError.local("cannot link \(source) to \(final): \(String(cString: strerror(err)))")
    }

    static func makeParents(of path: String) throws {
        let dir = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        } catch {
            throw LFSObjectError.local("cannot create \(dir): \((error as NSError).localizedDescription)")
        }
    }

    /// Bytes free for this user on the filesystem holding `path`.
    static func freeBytes(atPath path: String) -> Int64 {
        var st = statvfs()
        guard statvfs(path, &st) == 0 else { return Int64.max }
        return Int64(st.f_bavail) * Int64(st.f_frsize)
    }

    /// Writes all of `buffer` to `fd`; returns errno on failure.
    static func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) -> Int32? {
        var offset = 0
        while offset < buffer.count {
            let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                return errno
            }
            offset += n
        }
        return nil
    }
}

/// An exclusive lock on one object's partial download, held by one worker in any process.
///
/// The lock file is separate from the `.part` (which gets renamed away); it is unlinked on release, and a
/// waiter that wins the lock on an unlinked file tries again, so two holders never overlap.
final class LFSObjectLock {
    private let fd: Int32
    private let path: String
    /// Whether another worker held the lock first (it may have brought the object in meanwhile).
    let waited: Bool

    private init(fd: Int32, path: String, waited: Bool) {
        self.fd = fd
        self.path = path
        self.waited = waited
    }

    /// Waits for the lock (polling, so cancellation is noticed); nil when cancelled.
    static func acquire(path: String, isCancelled: () -> Bool) throws -> LFSObjectLock? {
        var waited = false
        while true {
            let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            guard fd >= 0 else {
                throw LFSObjectError.local("cannot open lock \(path): \(String(cString: strerror(errno)))")
            }
            if flock(fd, LOCK_EX | LOCK_NB) == 0 {
                var held = stat()
                var current = stat()
                if fstat(fd, &held) == 0, stat(path, &current) == 0, held.st_ino == current.st_ino, held.st_dev == current.st_dev {
                    return LFSObjectLock(fd: fd, path: path, waited: waited)
                }
                close(fd) // the previous holder unlinked it after we opened it: start over
                continue
            }
            close(fd)
            waited = true
            guard cancellableSleep(0.05, isCancelled: isCancelled) else { return nil }
        }
    }

    func release() {
        unlink(path)
        close(fd)
    }
}

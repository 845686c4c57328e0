import Foundation

/// An exclusive advisory lock on a file (flock), released when the holder closes it or dies.
public final class FileLock {
    private let fd: Int32
    public let path: String

    private init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit { close(fd) }

    /// Takes the lock without waiting; returns nil when another process holds it.
    public static func tryAcquire(path: String) throws -> FileLock? {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw ConfigError.homeUnusable(path, reason: "cannot open lock file (\(String(cString: strerror(errno))))")
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            close(fd)
            return nil
        }
        return FileLock(fd: fd, path: path)
    }

    /// Whether a holder marked the lock (see `mark`) and did not clear the mark: it died, or failed, in
    /// the middle of what it marked.
    public var isMarked: Bool {
        var info = stat()
        return fstat(fd, &info) == 0 && info.st_size > 0
    }

    /// What the mark says (nil when unmarked).
    public var markText: String? {
        guard isMarked else { return nil }
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return nil }
        return String(decoding: buffer[..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Records in the lock file what the holder is about to do; kept through a crash or `kill -9`.
    public func mark(_ what: String) {
        let bytes = Array((what + "\n").utf8)
        _ = ftruncate(fd, 0)
        _ = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    /// Clears the mark once the marked work finished cleanly.
    public func clearMark() {
        if isMarked { _ = ftruncate(fd, 0) }
    }
}

import Foundation

/// A few megabytes the home keeps allocated (`<home>/.space-reserve`) so that the catalog can still record
/// what happened when the filesystem fills up: a write that fails with "disk full" gives the space back and
/// tries again once. The reserve is made again when a catalog is opened and the filesystem has room.
struct SpaceReserve {
    static let name = ".space-reserve"
    static let size: Int64 = 2 << 20

    let path: String

    init(directory: String) {
        path = directory + "/" + Self.name
    }

    /// Allocates the reserve if it is missing and at least four times its size is free; never fails loudly.
    func ensure() {
        var st = stat()
        if stat(path, &st) == 0 { return }
        var fs = statvfs()
        guard statvfs((path as NSString).deletingLastPathComponent, &fs) == 0,
              Int64(fs.f_bavail) * Int64(fs.f_frsize) >= 4 * Self.size else { return }
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        let ok = posix_fallocate(fd, 0, off_t(Self.size)) == 0
        close(fd)
        if !ok || rename(temporary, path) != 0 { unlink(temporary) }
    }

    /// Frees the reserve; true when there was one to free.
    func release() -> Bool {
        unlink(path) == 0
    }
}

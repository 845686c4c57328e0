import Foundation

/// Free and total bytes of the filesystem holding a path (statvfs), as an unprivileged writer sees them.
public struct DiskSpace: Sendable, Equatable {
    public var freeBytes: Int64
    public var totalBytes: Int64

    public init(freeBytes: Int64, totalBytes: Int64) {
        self.freeBytes = freeBytes
        self.totalBytes = totalBytes
    }

    /// The filesystem of `path`, or nil when it cannot be read.
    public static func of(_ path: String) -> DiskSpace? {
        var s = statvfs()
        guard statvfs(path, &s) == 0 else { return nil }
        let unit = Int64(s.f_frsize == 0 ? s.f_bsize : s.f_frsize)
        return DiskSpace(freeBytes: Int64(s.f_bavail) * unit, totalBytes: Int64(s.f_blocks) * unit)
    }

    /// Free space as a fraction of the total, 0…1.
    public var freeFraction: Double { totalBytes > 0 ? Double(freeBytes) / Double(totalBytes) : 0 }
}

import Foundation

/// Bytes a directory tree occupies on disk (like `du -sb`, counting allocated blocks, not following symlinks).
public enum DiskUsage {
    public static func bytes(atPath root: String) -> Int64 {
        var total: Int64 = 0
        var st = stat()
        guard lstat(root, &st) == 0 else { return 0 }
        guard let walker = FileManager.default.enumerator(atPath: root) else { return Int64(st.st_blocks) * 512 }
        total += Int64(st.st_blocks) * 512
        for case let rel as String in walker {
            if lstat(root + "/" + rel, &st) == 0 { total += Int64(st.st_blocks) * 512 }
        }
        return total
    }
}

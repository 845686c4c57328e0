import Foundation

/// What a mirror's LFS store occupies: bytes only it holds, and bytes it shares with other mirrors
/// through hard links (one copy on disk, however many mirrors link it).
public struct LFSDiskUsage: Sendable, Equatable {
    public var objects = 0
    /// Bytes of objects whose file has no other link.
    public var ownBytes: Int64 = 0
    /// Bytes of objects whose file is hard-linked elsewhere too (counted once per file here).
    public var sharedBytes: Int64 = 0

    public init() {}

    /// Walks `<mirror>/lfs/objects` (regular files only; symlinks are not followed).
    public static func measure(mirrorPath: String) -> LFSDiskUsage {
        var usage = LFSDiskUsage()
        let root = mirrorPath + "/lfs/objects"
        guard let walker = FileManager.default.enumerator(atPath: root) else { return usage }
        var st = stat()
        for case let rel as String in walker {
            guard lstat(root + "/" + rel, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, LFSOID((rel as NSString).lastPathComponent) != nil else { continue }
            usage.objects += 1
            if st.st_nlink > 1 { usage.sharedBytes += Int64(st.st_size) } else { usage.ownBytes += Int64(st.st_size) }
        }
        return usage
    }
}

import Foundation

/// What a mirror's object store looks like on disk: packs, loose objects, bitmaps, bytes.
public struct GitStorageStats: Sendable, Equatable {
    /// Packs holding reachable history (cruft packs not counted).
    public var packs = 0
    /// Cruft packs: unreachable objects kept for the grace period, with their ages (`.mtimes`).
    public var cruftPacks = 0
    public var looseObjects = 0
    /// Whether a reachability bitmap exists (of a pack or of a multi-pack index).
    public var hasBitmap = false
    public var hasCommitGraph = false
    /// Bytes under `objects/` (packs, indexes, bitmaps, loose objects), allocated blocks.
    public var objectBytes: Int64 = 0

    public init() {}

    /// Reads the store of the bare repository at `path`. `bytes: false` skips the size walk (the
    /// after-sync check needs only the counts).
    public static func read(path: String, bytes: Bool = true) -> GitStorageStats {
        var stats = GitStorageStats()
        let fm = FileManager.default
        let pack = path + "/objects/pack"
        let files = Set((try? fm.contentsOfDirectory(atPath: pack)) ?? [])
        for file in files where file.hasSuffix(".pack") && file.hasPrefix("pack-") {
            let base = String(file.dropLast(".pack".count))
            if files.contains(base + ".mtimes") { stats.cruftPacks += 1 } else { stats.packs += 1 }
        }
        stats.hasBitmap = files.contains { $0.hasSuffix(".bitmap") }
        stats.looseObjects = looseObjectCount(path: path)
        stats.hasCommitGraph = fm.fileExists(atPath: path + "/objects/info/commit-graph")
            || fm.fileExists(atPath: path + "/objects/info/commit-graphs/commit-graph-chain")
        if bytes { stats.objectBytes = DiskUsage.bytes(atPath: path + "/objects") }
        return stats
    }

    /// Loose objects: files with 38 hex characters in the 256 fan-out directories.
    static func looseObjectCount(path: String) -> Int {
        var count = 0
        let hex = Array("0123456789abcdef")
        for a in hex {
            for b in hex {
                guard let dir = opendir(path + "/objects/\(a)\(b)") else { continue }
                defer { closedir(dir) }
                while let entry = readdir(dir) {
                    let length = withUnsafeBytes(of: entry.pointee.d_name) { raw in strnlen(raw.baseAddress!.assumingMemoryBound(to: CChar.self), raw.count) }
                    if length == 38 { count += 1 }
                }
            }
        }
        return count
    }

    /// Why maintenance is due by these numbers, or nil.
    public func dueReason(config: MaintenanceConfig) -> String? {
        if packs > config.maxPacks { return "\(packs) packs (more than \(config.maxPacks))" }
        if looseObjects > config.maxLoose { return "\(looseObjects) loose objects (more than \(config.maxLoose))" }
        return nil
    }
}

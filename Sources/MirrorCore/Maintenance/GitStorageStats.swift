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
    /// Objects in the packs counted in `packs` (from each `.idx` header), and in the largest of them.
    public var packedObjects = 0
    public var largestPackObjects = 0

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
            if files.contains(base + ".mtimes") {
                stats.cruftPacks += 1
            } else {
                stats.packs += 1
                let objects = idxObjectCount(pack + "/" + base + ".idx") ?? 0
                stats.packedObjects += objects
                stats.largestPackObjects = max(stats.largestPackObjects, objects)
            }
        }
        stats.hasBitmap = files.contains { $0.hasSuffix(".bitmap") }
        stats.looseObjects = looseObjectCount(path: path)
        stats.hasCommitGraph = fm.fileExists(atPath: path + "/objects/info/commit-graph")
            || fm.fileExists(atPath: path + "/objects/info/commit-graphs/commit-graph-chain")
        if bytes { stats.objectBytes = DiskUsage.bytes(atPath: path + "/objects") }
        return stats
    }

    /// The object count in a pack index's header: the last fan-out entry (version 2 and 1), read with one pread.
    static func idxObjectCount(_ path: String) -> Int? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var head = [UInt8](repeating: 0, count: 8 + 256 * 4)
        guard pread(fd, &head, head.count, 0) == head.count else { return nil }
        let v2 = head[0] == 0xff && head[1] == 0x74 && head[2] == 0x4f && head[3] == 0x63
        let at = v2 ? 8 + 255 * 4 : 255 * 4
        return Int(head[at]) << 24 | Int(head[at + 1]) << 16 | Int(head[at + 2]) << 8 | Int(head[at + 3])
    }

    /// Whether a repack should compute deltas afresh (`git repack -f`) instead of reusing the ones the packs
    /// hold, and why. Every incremental fetch leaves a small pack whose deltas were chosen within that pack
    /// only (a thin pack completed with whole bases), and `repack -a -d` copies those poor deltas into the
    /// new pack. Recomputing costs time for every object, so it pays only when most objects sit in such
    /// packs: when the packs other than the largest hold more objects than the largest. A big repository
    /// with one large pack and a few incremental packs keeps reusing its deltas.
    public var recomputeDeltasReason: String? {
        guard packs >= 2, packedObjects > 0 else { return nil }
        let outside = packedObjects - largestPackObjects
        guard outside > largestPackObjects else { return nil }
        let share = Int((Double(outside) / Double(packedObjects) * 100).rounded(.down))
        return "\(share) % of the packed objects sit outside the largest pack, in \(packs - 1) smaller pack(s): deltas are computed afresh (-f)"
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

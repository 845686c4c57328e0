import CZlib
import Foundation

/// The objects of a repository that could be Git LFS pointers by their type and size, found from pack and
/// object headers alone, in file order, without walking history.
///
/// A first pointer scan has to cover every commit. When no blob anywhere in the object database has a
/// pointer's size and content, no commit can reach a pointer, so the walk can be skipped; that is the
/// common case of a large repository without LFS mirrored with `lfs = auto`. Reading the headers costs a
/// sequential pass over the packs (a delta's size needs the first bytes of its delta inflated); walking
/// 20,000 commits and their trees costs several times more.
struct PointerCandidates {
    /// Ids of every object that may be a blob with a size in the range: packed ones by their headers,
    /// loose ones all (their header is read by the caller).
    var ids: [GitOID] = []
    /// Commits in the database: what a walk would have covered once every object is reachable.
    var commits = 0

    /// Nil when the database can't be listed this way (alternates, a pack or index that can't be read):
    /// walk instead.
    static func find(objectsDirectory: String, sizes: Range<Int>) -> PointerCandidates? {
        let fm = FileManager.default
        if let alternates = fm.contents(atPath: objectsDirectory + "/info/alternates"), !alternates.isEmpty { return nil }
        var found = PointerCandidates()
        let packDir = objectsDirectory + "/pack"
        let packs = ((try? fm.contentsOfDirectory(atPath: packDir)) ?? []).filter { $0.hasSuffix(".idx") }
        for idx in packs {
            let pack = packDir + "/" + idx.dropLast(4) + ".pack"
            guard fm.fileExists(atPath: pack),
                  let index = try? PackIndex.load(path: packDir + "/" + idx),
                  let data = try? Data(contentsOf: URL(fileURLWithPath: pack), options: .alwaysMapped)
            else { return nil }
            let ok = data.withUnsafeBytes { raw in PackHeaders(index: index, pack: raw)?.candidates(sizes: sizes, into: &found) }
            guard ok == true else { return nil }
        }
        for dir in (try? fm.contentsOfDirectory(atPath: objectsDirectory)) ?? [] where dir.utf8.count == 2 && dir.allSatisfy(\.isHexDigit) {
            for name in (try? fm.contentsOfDirectory(atPath: objectsDirectory + "/" + dir)) ?? [] {
                if let id = GitOID(hex: dir + name) { found.ids.append(id) }
            }
        }
        return found
    }
}

/// One pack's object headers, in file order.
private struct PackHeaders {
    let index: PackIndex
    let pack: UnsafeRawBufferPointer
    /// Index positions sorted by pack offset, and those offsets.
    let order: [Int]
    let starts: [Int]

    init?(index: PackIndex, pack: UnsafeRawBufferPointer) {
        guard pack.count >= 32, pack.load(as: UInt32.self) == UInt32(bigEndian: 0x5041_434b) else { return nil }
        self.index = index
        self.pack = pack
        order = index.offsets.indices.sorted { index.offsets[$0] < index.offsets[$1] }
        starts = order.map { Int(index.offsets[$0]) }
        if let first = starts.first, let last = starts.last, first < 12 || last >= pack.count - 20 { return nil }
    }

    private static let commit: UInt8 = 1, blob: UInt8 = 3, ofsDelta: UInt8 = 6, refDelta: UInt8 = 7

    /// Adds this pack's candidates; false when the pack doesn't parse.
    func candidates(sizes: Range<Int>, into found: inout PointerCandidates) -> Bool {
        let n = starts.count
        var kinds = [UInt8](repeating: 0, count: n)
        var headerSizes = [Int](repeating: 0, count: n)
        var dataAt = [Int](repeating: 0, count: n)
        // Position of each delta's base in `starts`; -1 when the base is not in this pack.
        var bases = [Int32](repeating: -1, count: n)
        var dropped = 0
        for p in 0..<n {
            dropBehind(starts[p], &dropped)
            let end = p + 1 < n ? starts[p + 1] : pack.count - 20
            var at = starts[p]
            guard at < end else { return false }
            var byte = pack[at]; at += 1
            let kind = (byte >> 4) & 7
            var size = Int(byte & 0x0f)
            var shift = 4
            while byte & 0x80 != 0 {
                guard at < end, shift < 60 else { return false }
                byte = pack[at]; at += 1
                size |= Int(byte & 0x7f) << shift
                shift += 7
            }
            switch kind {
            case 1...4:
                break
            case Self.ofsDelta:
                guard at < end else { return false }
                byte = pack[at]; at += 1
                var distance = Int(byte & 0x7f)
                while byte & 0x80 != 0 {
                    guard at < end, distance < Int.max >> 8 else { return false }
                    byte = pack[at]; at += 1
                    distance = ((distance + 1) << 7) | Int(byte & 0x7f)
                }
                guard distance > 0, distance <= starts[p], let base = position(of: starts[p] - distance) else { return false }
                bases[p] = Int32(base)
            case Self.refDelta:
                guard at + 20 <= end else { return false }
                let id = GitOID(raw: pack.baseAddress! + at)
                at += 20
                if let i = indexPosition(of: id), let base = position(of: Int(index.offsets[i])) { bases[p] = Int32(base) }
            default:
                return false
            }
            kinds[p] = kind
            headerSizes[p] = size
            dataAt[p] = at
        }
        // A delta is of its base's type; 0 while unknown (a base outside the pack, or a chain too long).
        var types = kinds.map { $0 <= 4 ? $0 : 0 }
        for p in 0..<n where types[p] == 0 {
            var q = p
            var hops = 0
            while types[q] == 0, bases[q] >= 0, hops < 10_000 { q = Int(bases[q]); hops += 1 }
            types[p] = types[q]
        }
        var stream = z_stream()
        guard mirrordeck_inflate_init(&stream) == Z_OK else { return false }
        defer { inflateEnd(&stream) }
        dropped = 0
        for p in 0..<n {
            dropBehind(starts[p], &dropped)
            if types[p] == Self.commit { found.commits += 1 }
            guard types[p] == Self.blob || types[p] == 0 else { continue }
            if kinds[p] <= 4 {
                guard sizes.contains(headerSizes[p]) else { continue }
            } else if let size = deltaResultSize(&stream, from: dataAt[p], to: p + 1 < n ? starts[p + 1] : pack.count - 20) {
                guard sizes.contains(size) else { continue }
            }
            found.ids.append(index.oids[order[p]])
        }
        return true
    }

    /// Both passes read the mapped pack front to back: the pages behind `offset` are let go every 8 MiB, so a
    /// pass over a pack of large blobs does not leave hundreds of MiB of it resident in the process (each
    /// header read faults in the pages around it). The page cache keeps them; nothing is read twice.
    private func dropBehind(_ offset: Int, _ dropped: inout Int) {
        let page = Int(getpagesize())
        let upTo = offset / page * page
        guard upTo - dropped >= 8 << 20, let base = pack.baseAddress else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base) + dropped, upTo - dropped, MADV_DONTNEED)
        dropped = upTo
    }

    /// The size a delta produces: the second varint at the start of its inflated data; nil if unreadable.
    private func deltaResultSize(_ stream: inout z_stream, from start: Int, to end: Int) -> Int? {
        guard inflateReset(&stream) == Z_OK, start < end else { return nil }
        var out = [UInt8](repeating: 0, count: 24)
        let produced: Int = out.withUnsafeMutableBufferPointer { buf in
            stream.next_in = UnsafeMutablePointer(mutating: pack.baseAddress!.assumingMemoryBound(to: UInt8.self) + start)
            stream.avail_in = UInt32(min(end - start, 1 << 16))
            stream.next_out = buf.baseAddress
            stream.avail_out = UInt32(buf.count)
            let rc = inflate(&stream, Z_SYNC_FLUSH)
            guard rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR else { return 0 }
            return buf.count - Int(stream.avail_out)
        }
        var at = 0
        func varint() -> Int? {
            var value = 0, shift = 0
            while at < produced, shift < 63 {
                let byte = out[at]; at += 1
                value |= Int(byte & 0x7f) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
            }
            return nil
        }
        guard varint() != nil else { return nil }
        return varint()
    }

    private func position(of offset: Int) -> Int? { Self.find(offset, in: starts) }

    private func indexPosition(of id: GitOID) -> Int? { Self.find(id, in: index.oids) }

    /// Where `value` is in the sorted `array`, by binary search.
    private static func find<T: Comparable>(_ value: T, in array: [T]) -> Int? {
        var lo = 0, hi = array.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if array[mid] < value { lo = mid + 1 } else { hi = mid }
        }
        return lo < array.count && array[lo] == value ? lo : nil
    }
}

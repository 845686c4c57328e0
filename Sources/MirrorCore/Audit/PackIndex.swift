import Crypto
import Foundation

/// A git pack index (`.idx`, version 1 or 2), parsed: the objects of its pack, where each starts, and the
/// CRC-32 of each object's packed bytes (version 2), plus the pack's and its own SHA-1 checksums.
struct PackIndex: Sendable {
    let version: Int
    let oids: [GitOID]
    let offsets: [Int64]
    /// CRC-32 of each object's bytes in the pack (empty for version 1, which has none).
    let crcs: [UInt32]
    /// The pack's SHA-1 trailer as the index records it.
    let packChecksum: [UInt8]
    /// Whether the index's own trailing SHA-1 matches its content.
    let selfChecksumOK: Bool

    enum Failure: Error, CustomStringConvertible {
        case unreadable(String)
        case malformed(String)

        var description: String {
            switch self {
            case let .unreadable(m): return "cannot be read: \(m)"
            case let .malformed(m): return "is not a valid pack index: \(m)"
            }
        }
    }

    static func load(path: String) throws -> PackIndex {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw Failure.unreadable((error as NSError).localizedDescription)
        }
        return try data.withUnsafeBytes { raw in try parse(raw) }
    }

    private static func be32(_ raw: UnsafeRawBufferPointer, _ at: Int) -> UInt32 {
        UInt32(bigEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt32.self))
    }

    static func parse(_ raw: UnsafeRawBufferPointer) throws -> PackIndex {
        let size = raw.count
        guard size >= 8 + 256 * 4 + 40 else { throw Failure.malformed("too short (\(size) bytes)") }
        var hasher = Insecure.SHA1()
        hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: raw[0..<(size - 20)]))
        let selfOK = Array(hasher.finalize()) == Array(raw[(size - 20)...])
        let packChecksum = Array(raw[(size - 40)..<(size - 20)])
        let v2 = be32(raw, 0) == 0xff74_4f63
        if v2 {
            guard be32(raw, 4) == 2 else { throw Failure.malformed("unsupported version \(be32(raw, 4))") }
            let fanout = 8
            let n = Int(be32(raw, fanout + 255 * 4))
            let names = fanout + 256 * 4
            let crcAt = names + n * 20
            let offAt = crcAt + n * 4
            let largeAt = offAt + n * 4
            guard largeAt + 40 <= size else { throw Failure.malformed("\(n) objects do not fit in \(size) bytes") }
            var oids: [GitOID] = []
            var offsets: [Int64] = []
            var crcs: [UInt32] = []
            oids.reserveCapacity(n)
            offsets.reserveCapacity(n)
            crcs.reserveCapacity(n)
            for i in 0..<n {
                oids.append(GitOID(raw: raw.baseAddress! + names + i * 20))
                crcs.append(be32(raw, crcAt + i * 4))
                let off = be32(raw, offAt + i * 4)
                if off & 0x8000_0000 != 0 {
                    let at = largeAt + Int(off & 0x7fff_ffff) * 8
                    guard at + 8 <= size - 40 else { throw Failure.malformed("a large offset points outside the index") }
                    offsets.append(Int64(bitPattern: UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt64.self))))
                } else {
                    offsets.append(Int64(off))
                }
            }
            return PackIndex(version: 2, oids: oids, offsets: offsets, crcs: crcs, packChecksum: packChecksum, selfChecksumOK: selfOK)
        }
        let n = Int(be32(raw, 255 * 4))
        let entries = 256 * 4
        guard entries + n * 24 + 40 <= size else { throw Failure.malformed("\(n) objects do not fit in \(size) bytes") }
        var oids: [GitOID] = []
        var offsets: [Int64] = []
        for i in 0..<n {
            offsets.append(Int64(be32(raw, entries + i * 24)))
            oids.append(GitOID(raw: raw.baseAddress! + entries + i * 24 + 4))
        }
        return PackIndex(version: 1, oids: oids, offsets: offsets, crcs: [], packChecksum: packChecksum, selfChecksumOK: selfOK)
    }
}

/// CRC-32 (zlib's polynomial), as pack index version 2 records per object: zlib's own when the process
/// has it loaded (libgit2 links it), otherwise a table-driven one.
enum CRC32 {
    private typealias ZlibCRC = @convention(c) (UInt, UnsafePointer<UInt8>?, UInt32) -> UInt
    private static let zlib: ZlibCRC? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "crc32") else { return nil }
        return unsafeBitCast(symbol, to: ZlibCRC.self)
    }()

    private static let table: [UInt32] = (0..<256).map { i -> UInt32 in
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xedb8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// Continues `crc` over `bytes` (start with 0).
    static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard bytes.count > 0 else { return crc }
        if let zlib {
            var value = UInt(crc)
            var rest = bytes
            while rest.count > 0 {
                let n = min(rest.count, 1 << 30)
                value = zlib(value, rest.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt32(n))
                rest = UnsafeRawBufferPointer(rebasing: rest[n...])
            }
            return UInt32(truncatingIfNeeded: value)
        }
        var c = ~crc
        table.withUnsafeBufferPointer { t in
            for byte in bytes { c = t[Int((c ^ UInt32(byte)) & 0xff)] ^ (c >> 8) }
        }
        return ~c
    }
}

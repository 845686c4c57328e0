import CGit2
import Foundation

/// A SHA-1 git object id as a small hashable value (sets of millions of them stay compact).
struct GitOID: Hashable, Comparable, Sendable, CustomStringConvertible {
    private var a: UInt64
    private var b: UInt64
    private var c: UInt32

    /// Reads 20 raw bytes.
    init(raw: UnsafeRawPointer) {
        a = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        b = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        c = UInt32(bigEndian: raw.loadUnaligned(fromByteOffset: 16, as: UInt32.self))
    }

    init(_ oid: git_oid) {
        var oid = oid
        self = withUnsafeBytes(of: &oid.id) { GitOID(raw: $0.baseAddress!) }
    }

    /// Parses 40 hex digits (either case); nil otherwise.
    init?(hex: some Collection<UInt8>) {
        guard hex.count == 40 else { return nil }
        var bytes = [UInt8](repeating: 0, count: 20)
        var i = 0
        var high: UInt8 = 0
        for ch in hex {
            guard let v = Self.nibble(ch) else { return nil }
            if i % 2 == 0 { high = v } else { bytes[i / 2] = high << 4 | v }
            i += 1
        }
        self = bytes.withUnsafeBytes { GitOID(raw: $0.baseAddress!) }
    }

    init?(hex: String) { self.init(hex: Array(hex.utf8)) }

    @inline(__always) private static func nibble(_ ch: UInt8) -> UInt8? {
        switch ch {
        case 0x30...0x39: return ch - 0x30
        case 0x61...0x66: return ch - 0x61 + 10
        case 0x41...0x46: return ch - 0x41 + 10
        default: return nil
        }
    }

    /// The 20 raw bytes.
    var bytes: [UInt8] {
        var out = [UInt8](repeating: 0, count: 20)
        out.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: a.bigEndian, toByteOffset: 0, as: UInt64.self)
            raw.storeBytes(of: b.bigEndian, toByteOffset: 8, as: UInt64.self)
            raw.storeBytes(of: c.bigEndian, toByteOffset: 16, as: UInt32.self)
        }
        return out
    }

    var gitOID: git_oid {
        var oid = git_oid()
        let raw = bytes
        raw.withUnsafeBufferPointer { _ = git_oid_fromraw(&oid, $0.baseAddress!) }
        return oid
    }

    var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(40)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    var description: String { hex }

    static func < (l: GitOID, r: GitOID) -> Bool { (l.a, l.b, l.c) < (r.a, r.b, r.c) }
}

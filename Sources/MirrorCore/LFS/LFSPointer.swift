import Foundation

/// A Git LFS object id: exactly 64 lowercase hex digits (a SHA-256).
///
/// The only way to get one is through validation, so any path built from an `LFSOID` stays where it belongs.
public struct LFSOID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let hex: String

    /// Validates `text`; nil unless it is exactly 64 characters of `0-9a-f`.
    public init?(_ text: some StringProtocol) {
        let utf8 = text.utf8
        guard utf8.count == 64, utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) else {
            return nil
        }
        hex = String(text)
    }

    /// The object's place below an `objects` directory: `ab/cd/abcd…`.
    public var shardedPath: String {
        let u = Array(hex.utf8)
        return String(decoding: u[0..<2], as: UTF8.self) + "/" + String(decoding: u[2..<4], as: UTF8.self) + "/" + hex
    }

    /// The first 12 digits, for messages.
    public var short: String { String(hex.prefix(12)) }

    public var description: String { hex }
    public static func < (a: LFSOID, b: LFSOID) -> Bool { a.hex < b.hex }
}

/// A parsed Git LFS pointer: the object id and size a small blob in git stands for.
public struct LFSPointer: Hashable, Sendable {
    public let oid: LFSOID
    public let size: Int64

    public init(oid: LFSOID, size: Int64) {
        self.oid = oid
        self.size = size
    }

    /// Pointer files are smaller than this (git-lfs's own cut-off), so larger blobs are never read.
    public static let maxBlobSize = 1024
    /// Blobs shorter than the shortest version line (`version https://hawser.github.com/spec/v1`) cannot
    /// even be malformed pointers, so they are not read either.
    public static let minBlobSize = 41

    static let versions = ["https://git-lfs.github.com/spec/v1", "https://hawser.github.com/spec/v1"]

    /// What a blob turned out to be.
    public enum Parsed: Equatable, Sendable {
        case pointer(LFSPointer)
        /// Not a pointer at all (an ordinary small file).
        case notAPointer
        /// Starts like a pointer but breaks the spec; `reason` says how. Never turned into a path.
        case malformed(reason: String)
    }

    /// Parses blob content by the pointer spec: a `version` line first, then `key value` lines in key
    /// order, with `oid sha256:<64 lowercase hex>` and `size <decimal>` required.
    public static func parse(_ bytes: some Collection<UInt8>) -> Parsed {
        guard bytes.count < maxBlobSize, bytes.starts(with: "version ".utf8) else { return .notAPointer }
        guard let text = String(bytes: Array(bytes), encoding: .utf8) else {
            return .malformed(reason: "it is not UTF-8")
        }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last == "" { lines.removeLast() }
        guard let first = lines.first else { return .notAPointer }
        let version = first.dropFirst("version ".count)
        guard versions.contains(String(version)) else {
            // Something else that happens to start with "version "; only our spec's prefix counts as a bad pointer.
            if version.hasPrefix("https://git-lfs.github.com/") || version.hasPrefix("https://hawser.github.com/") {
                return .malformed(reason: "unknown pointer version \(Redactor.quote(String(version)))")
            }
            return .notAPointer
        }
        var oid: LFSOID?
        var size: Int64?
        var previousKey = ""
        for line in lines.dropFirst() {
            guard let space = line.firstIndex(of: " ") else {
                return .malformed(reason: "line \(Redactor.quote(String(line))) is not \"key value\"")
            }
            let key = line[..<space]
            let value = line[line.index(after: space)...]
            guard !key.isEmpty, key.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2e || $0 == 0x2d }) else {
                return .malformed(reason: "bad key \(Redactor.quote(String(key)))")
            }
            guard String(key) > previousKey else { return .malformed(reason: "keys out of order at \(Redactor.quote(String(key)))") }
            previousKey = String(key)
            switch key {
            case "oid":
                guard value.hasPrefix("sha256:"), let parsed = LFSOID(value.dropFirst("sha256:".count)) else {
                    return .malformed(reason: "oid \(Redactor.quote(String(value))) is not sha256: followed by 64 lowercase hex digits")
                }
                oid = parsed
            case "size":
                guard !value.isEmpty, value.utf8.count <= 19, value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                      let n = Int64(value) else {
                    return .malformed(reason: "size \(Redactor.quote(String(value))) is not a non-negative number")
                }
                size = n
            default:
                continue // extensions (ext-0-…) and future keys
            }
        }
        guard let oid else { return .malformed(reason: "it has no oid line") }
        guard let size else { return .malformed(reason: "it has no size line") }
        return .pointer(LFSPointer(oid: oid, size: size))
    }
}

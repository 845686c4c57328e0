import MirrorCore

/// What a client asked for, parsed strictly from the raw request target before anything touches the disk.
///
/// Only `/<name>.git/<what>` is understood, where `<name>` passes `MirrorName.validate` and `<what>` is one
/// of git's smart-HTTP or LFS paths. Percent-escapes, backslashes, empty or dot segments, NUL and other
/// control characters are refused outright, so no encoding of `..` or `/` can ever become part of a path.
enum ServeRoute: Equatable {
    case infoRefs(mirror: String, service: String?)
    case uploadPack(mirror: String)
    case receivePack(mirror: String)
    case lfsBatch(mirror: String)
    case lfsObject(mirror: String, oid: LFSOID)
    case lfsLocks(mirror: String)
    /// A path under a mirror that is not one of the above (dumb HTTP files, anything else).
    case otherInMirror(mirror: String)
    case health
    case metrics
    /// Refused before any lookup, with the reason for the log.
    case bad(String)

    var mirror: String? {
        switch self {
        case let .infoRefs(m, _), let .uploadPack(m), let .receivePack(m), let .lfsBatch(m), let .lfsObject(m, _), let .lfsLocks(m),
             let .otherInMirror(m):
            return m
        case .health, .metrics, .bad: return nil
        }
    }

    static let maxTargetLength = 2048

    /// Parses a raw request target such as `/org/model.git/info/refs?service=git-upload-pack`.
    static func parse(_ target: String) -> ServeRoute {
        guard target.utf8.count <= maxTargetLength else { return .bad("request target too long") }
        guard target.hasPrefix("/") else { return .bad("request target is not an absolute path") }
        var path = Substring(target)
        var query: Substring?
        if let q = target.firstIndex(of: "?") {
            path = target[..<q]
            query = target[target.index(after: q)...]
        }
        for byte in path.utf8 {
            if byte < 0x20 || byte == 0x7f || byte == UInt8(ascii: "%") || byte == UInt8(ascii: "\\") || byte >= 0x80 {
                return .bad("unsupported character in path")
            }
        }
        if path == "/healthz" { return .health }
        if path == "/metrics" { return .metrics }
        let segments = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        if segments.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) { return .bad("empty or dot segment in path") }
        // The mirror name ends at the first segment ending in ".git" (no part of a valid name does).
        guard let end = segments.firstIndex(where: { $0.hasSuffix(".git") }), end <= 1 else { return .bad("no <name>.git in path") }
        var nameParts = segments[...end].map(String.init)
        nameParts[nameParts.count - 1] = String(nameParts[nameParts.count - 1].dropLast(4))
        let name = nameParts.joined(separator: "/")
        guard MirrorName.isValid(name) else { return .bad("invalid mirror name") }
        let rest = segments[(end + 1)...].joined(separator: "/")
        switch rest {
        case "info/refs":
            return .infoRefs(mirror: name, service: query.flatMap(serviceParameter))
        case "git-upload-pack": return .uploadPack(mirror: name)
        case "git-receive-pack": return .receivePack(mirror: name)
        case "info/lfs/objects/batch": return .lfsBatch(mirror: name)
        case "info/lfs/locks", "info/lfs/locks/verify": return .lfsLocks(mirror: name)
        default:
            if rest.hasPrefix("info/lfs/locks/") { return .lfsLocks(mirror: name) }
            if rest.hasPrefix("info/lfs/objects/") {
                let oidText = rest.dropFirst("info/lfs/objects/".count)
                guard let oid = LFSOID(oidText) else { return .bad("malformed object id") }
                return .lfsObject(mirror: name, oid: oid)
            }
            return .otherInMirror(mirror: name)
        }
    }

    /// The `service=` value of a query string, when it is one git uses.
    private static func serviceParameter(_ query: Substring) -> String? {
        for pair in query.split(separator: "&") where pair.hasPrefix("service=") {
            let value = String(pair.dropFirst("service=".count))
            return value.utf8.count <= 32 && value.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7a) || $0 == 0x2d }) ? value : "invalid"
        }
        return nil
    }
}

import Crypto
import Foundation

/// Credentials for the client-facing server (`mirrordeck serve`).
///
/// - Access tokens (`mdt_…`) are minted by `mirrordeck access token USER`, shown once, and kept in the
///   catalog only as their SHA-256; they can expire and be revoked.
/// - Signed tokens (`mds1.…`) are what `git-lfs-authenticate` over SSH hands out: short-lived, bound to
///   one user and one mirror, checked with an HMAC key kept in the home (`serve.key`, mode 0600), so the
///   SSH session and the server (separate processes) agree without a catalog write per clone.
public enum ServeToken {
    public static let accessPrefix = "mdt_"
    public static let signedPrefix = "mds1."
    /// How long a signed token from `git-lfs-authenticate` is good for.
    public static let signedLifetime: TimeInterval = 3600

    /// A new random access token (32 bytes of entropy, base64url).
    public static func mint() -> String {
        var bytes = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for i in bytes.indices { bytes[i] = generator.next() }
        return accessPrefix + base64url(bytes)
    }

    /// The form an access token is stored and looked up in.
    public static func hash(_ token: String) -> String {
        SHA256.hash(data: Array(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Whether `text` has the shape of an access token (so garbage never reaches the catalog).
    public static func looksLikeAccessToken(_ text: String) -> Bool {
        text.hasPrefix(accessPrefix) && text.utf8.count == accessPrefix.utf8.count + 43
            && text.utf8.dropFirst(accessPrefix.utf8.count).allSatisfy(isBase64URL)
    }

    /// A signed token for `user` to read `mirror` until `expires`.
    public static func sign(user: String, mirror: String, expires: Date, key: SymmetricKey) -> String {
        let payload = "\(user)\n\(mirror)\n\(Int64(expires.timeIntervalSince1970))"
        let mac = HMAC<SHA256>.authenticationCode(for: Array(payload.utf8), using: key)
        return signedPrefix + base64url(Array(payload.utf8)) + "." + base64url(Array(mac))
    }

    /// The user and mirror of a valid, unexpired signed token; nil for anything else.
    public static func verify(_ token: String, key: SymmetricKey, now: Date = Date()) -> (user: String, mirror: String)? {
        guard token.hasPrefix(signedPrefix), token.utf8.count <= 512 else { return nil }
        let parts = token.dropFirst(signedPrefix.count).split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let payload = unbase64url(String(parts[0])), let mac = unbase64url(String(parts[1])),
              HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: payload, using: key) else { return nil }
        let fields = String(decoding: payload, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        guard fields.count == 3, let expiry = Int64(fields[2]), TimeInterval(expiry) > now.timeIntervalSince1970 else { return nil }
        return (String(fields[0]), String(fields[1]))
    }

    /// The home's signing key, created (0600, atomically) on first use.
    public static func signingKey(home: Home) throws -> SymmetricKey {
        let path = home.root + "/serve.key"
        if let data = FileManager.default.contents(atPath: path), data.count == 32 {
            return SymmetricKey(data: data)
        }
        var bytes = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for i in bytes.indices { bytes[i] = generator.next() }
        let tmp = path + ".\(getpid()).tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ConfigError.homeUnusable(home.root, reason: "cannot create \(tmp): \(String(cString: strerror(errno)))") }
        let ok = bytes.withUnsafeBytes { write(fd, $0.baseAddress, 32) == 32 } && fsync(fd) == 0
        close(fd)
        // link() keeps a key another process wrote first; then that one is used.
        guard ok, link(tmp, path) == 0 || errno == EEXIST else {
            unlink(tmp)
            throw ConfigError.homeUnusable(home.root, reason: "cannot write \(path)")
        }
        unlink(tmp)
        guard let data = FileManager.default.contents(atPath: path), data.count == 32 else {
            throw ConfigError.homeUnusable(home.root, reason: "\(path) is not a 32-byte key: remove it to make a new one")
        }
        return SymmetricKey(data: data)
    }

    static func isBase64URL(_ c: UInt8) -> Bool {
        (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c == 0x2d || c == 0x5f
    }

    static func base64url(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func unbase64url(_ text: String) -> [UInt8]? {
        guard text.utf8.allSatisfy(isBase64URL) else { return nil }
        var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while s.count % 4 != 0 { s += "=" }
        return Data(base64Encoded: s).map(Array.init)
    }
}

/// An HTTP access token as `access tokens` lists it (never the token itself).
public struct AccessToken: Sendable, Equatable {
    public var id: Int64
    public var user: String
    public var createdAt: Date
    public var createdBy: String
    public var expiresAt: Date?
    public var revokedAt: Date?
    public var lastUsedAt: Date?

    /// Whether the token is usable at `now`.
    public func isLive(now: Date = Date()) -> Bool {
        revokedAt == nil && (expiresAt.map { $0 > now } ?? true)
    }
}

/// One served request, as the access log keeps it.
public struct AccessLogEntry: Sendable, Equatable {
    /// What a request was for.
    public enum Kind: String, Sendable, CaseIterable {
        case clone, fetch, refs, lfsBatch = "lfs-batch", lfsObject = "lfs-object", refused, other
    }

    public var at: Date
    public var client: String
    public var user: String?
    public var mirror: String?
    public var kind: Kind
    public var status: Int
    public var bytes: Int64
    public var durationMs: Int

    public init(at: Date, client: String, user: String?, mirror: String?, kind: Kind, status: Int, bytes: Int64, durationMs: Int) {
        self.at = at
        self.client = client
        self.user = user
        self.mirror = mirror
        self.kind = kind
        self.status = status
        self.bytes = bytes
        self.durationMs = durationMs
    }
}

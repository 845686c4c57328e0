import Crypto
import Foundation
import MirrorCore

/// GitHub push webhooks: verify the HMAC, find the mirror(s) of that repository, queue a sync.
public struct Webhook: Sendable {
    public enum Outcome: Equatable, Sendable {
        case queued([String])
        case ignored(String)
        case unauthorized(String)
        case notFound(String)
        case badRequest(String)
        case disabled
    }

    /// The largest body accepted (GitHub caps payloads at 25 MB; pushes are far smaller).
    public static let maxBodyBytes = 1 << 20

    let secret: [UInt8]?
    let catalog: Catalog

    public init(secret: String?, catalog: Catalog) {
        self.secret = secret.map { Array($0.utf8) }
        self.catalog = catalog
    }

    /// Whether `signature` (`sha256=<hex>`) is the HMAC-SHA256 of `body` under the secret, compared in constant time.
    static func verify(signature: String?, body: [UInt8], secret: [UInt8]) -> Bool {
        guard let signature, signature.hasPrefix("sha256="), signature.count == 71 else { return false }
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: secret))
        let expected = "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
        return zip(expected.utf8, signature.lowercased().utf8).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    /// Handles one delivery. `source` is the client address, recorded on every event.
    public func handle(event: String?, delivery: String?, signature: String?, body: [UInt8], source: String) throws -> Outcome {
        guard let secret else { return .disabled }
        let actor = Actor(user: "github-webhook", source: source)
        guard Self.verify(signature: signature, body: body, secret: secret) else {
            try catalog.record(Event(actor: actor, action: "webhook", mirror: nil,
                                     message: signature == nil ? "rejected: no X-Hub-Signature-256" : "rejected: bad signature"))
            return .unauthorized(signature == nil ? "missing X-Hub-Signature-256" : "signature does not match")
        }
        if event == "ping" { return .ignored("pong") }
        guard event == nil || event == "push" else { return .ignored("event \(event ?? "") is not a push") }
        guard let json = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
              let repo = json["repository"] as? [String: Any] else {
            return .badRequest("body is not a push event with a repository")
        }
        if let delivery, !delivery.isEmpty, try !catalog.recordDelivery(delivery) {
            return .ignored("delivery \(delivery) was already handled")
        }
        let keys = Set(["clone_url", "git_url", "ssh_url", "html_url", "url", "svn_url"].compactMap { repo[$0] as? String }.compactMap(Self.normalize))
        let mirrors = try catalog.mirrors().filter { m in Self.normalize(m.upstream).map(keys.contains) ?? false }
        guard !mirrors.isEmpty else {
            let name = (repo["full_name"] as? String) ?? "unknown"
            try catalog.record(Event(actor: actor, action: "webhook", mirror: nil, message: "push for \(name): no mirror has that upstream"))
            return .notFound("no mirror of \(name)")
        }
        try catalog.enqueue(mirrors, kind: .sync, trigger: .webhook, actor: actor)
        return .queued(mirrors.map(\.name))
    }

    /// `host/path` without scheme, credentials, port defaults, `.git` or trailing slash, for matching URLs.
    static func normalize(_ url: String) -> String? {
        guard let parsed = try? UpstreamURL(url) else { return nil }
        var path = parsed.path
        while path.hasSuffix("/") { path.removeLast() }
        if path.hasSuffix(".git") { path.removeLast(4) }
        if !path.hasPrefix("/") { path = "/" + path }
        let host = (parsed.host ?? "").lowercased()
        let port = parsed.port.map { ":\($0)" } ?? ""
        return host + port + path
    }
}

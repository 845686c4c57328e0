/// A validated upstream location: a URL (https, http, git, ssh, file), an scp-like `user@host:path`,
/// or an absolute local path.
public struct UpstreamURL: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable { case https, http, git, ssh, file, scp, path }

    /// The text as the operator gave it (never contains a password).
    public let raw: String
    public let kind: Kind
    /// Host name, or nil for local upstreams.
    public let host: String?
    public let port: Int?
    public let path: String

    public var description: String { Redactor.redact(raw) }

    /// Whether libgit2 reads this upstream from the local filesystem.
    public var isLocal: Bool { kind == .file || kind == .path }

    /// Whether `upstream` is reached over http(s), smart HTTP: a web server with a deep listen backlog,
    /// whose connections outlive a request. Read off the scheme alone, so it holds for any spelling.
    static func isHTTP(_ upstream: String) -> Bool {
        let scheme = upstream.prefix { $0 != ":" }.lowercased()
        return scheme == "http" || scheme == "https"
    }

    /// Parses and validates `text`; throws `ConfigError.invalidURL` or `.passwordInURL`.
    public init(_ text: String) throws {
        func fail(_ reason: String) -> ConfigError { .invalidURL(text, reason: reason) }
        guard !text.isEmpty else { throw fail("it is empty") }
        guard text.utf8.count <= 2048 else { throw fail("it is longer than 2048 characters") }
        if text.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7f }) {
            throw fail("it contains spaces or control characters")
        }
        raw = text
        if let range = text.range(of: "://") {
            let scheme = text[..<range.lowerBound].lowercased()
            guard let kind = Kind(rawValue: scheme), kind != .scp, kind != .path else {
                throw fail("unsupported scheme '\(scheme)'; use https, http, git, ssh or file")
            }
            self.kind = kind
            let rest = text[range.upperBound...]
            let slash = rest.firstIndex(of: "/") ?? rest.endIndex
            let authority = String(rest[..<slash])
            path = String(rest[slash...])
            var hostPort = authority
            if let at = authority.lastIndex(of: "@") {
                let userinfo = authority[..<at]
                if userinfo.contains(":") { throw ConfigError.passwordInURL(text) }
                if userinfo.isEmpty { throw fail("it has an empty user name before '@'") }
                hostPort = String(authority[authority.index(after: at)...])
            }
            if kind == .file {
                guard hostPort.isEmpty || hostPort == "localhost" else {
                    throw fail("file:// URLs take no host; use file:///absolute/path")
                }
                guard path.hasPrefix("/"), path.count > 1 else { throw fail("file:// needs an absolute path") }
                host = nil
                port = nil
                return
            }
            let (h, p) = try Self.splitHostPort(hostPort, fail: fail)
            host = h
            port = p
            guard !path.isEmpty, path != "/" else { throw fail("it names no repository path") }
        } else if text.hasPrefix("/") {
            kind = .path
            host = nil
            port = nil
            path = text
        } else if let colon = text.firstIndex(of: ":"), !text[..<colon].contains("/") {
            // scp-like syntax: [user@]host:path
            kind = .scp
            var hostPart = String(text[..<colon])
            if let at = hostPart.lastIndex(of: "@") {
                if hostPart[..<at].isEmpty { throw fail("it has an empty user name before '@'") }
                hostPart = String(hostPart[hostPart.index(after: at)...])
            }
            guard !hostPart.isEmpty, Self.isHostName(hostPart) else { throw fail("'\(hostPart)' is not a host name") }
            host = hostPart
            port = nil
            path = String(text[text.index(after: colon)...])
            guard !path.isEmpty else { throw fail("it names no repository path") }
        } else {
            throw fail("use a URL (https://, git://, ssh://, file://), user@host:path, or an absolute path")
        }
    }

    private static func splitHostPort(_ text: String, fail: (String) -> ConfigError) throws -> (String, Int?) {
        var host = text
        var port: Int?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw fail("unterminated IPv6 address") }
            host = String(text[text.index(after: text.startIndex)..<close])
            let after = text[text.index(after: close)...]
            if after.hasPrefix(":") {
                guard let p = Int(after.dropFirst()), (1...65535).contains(p) else { throw fail("bad port") }
                port = p
            } else if !after.isEmpty { throw fail("bad text after IPv6 address") }
            guard !host.isEmpty, host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else {
                throw fail("bad IPv6 address")
            }
            return (host, port)
        }
        if let colon = text.lastIndex(of: ":") {
            host = String(text[..<colon])
            let portText = text[text.index(after: colon)...]
            guard let p = Int(portText), (1...65535).contains(p) else {
                throw fail("port '\(portText)' is not a number from 1 to 65535")
            }
            port = p
        }
        guard !host.isEmpty else { throw fail("it has no host") }
        guard isHostName(host) else { throw fail("'\(host)' is not a host name") }
        return (host, port)
    }

    private static func isHostName(_ host: String) -> Bool {
        host.utf8.count <= 253 && host.unicodeScalars.allSatisfy {
            ($0 >= "a" && $0 <= "z") || ($0 >= "A" && $0 <= "Z") || ($0 >= "0" && $0 <= "9") || $0 == "." || $0 == "-" || $0 == "_"
        }
    }
}

extension UpstreamURL {
    /// The text of an upstream as it may be shown: credentials removed.
    public static func display(_ text: String) -> String { Redactor.redact(text) }
}

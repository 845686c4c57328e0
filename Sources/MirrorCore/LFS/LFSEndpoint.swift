import Foundation

/// Where a mirror's LFS objects come from: an LFS server's batch API, or a local directory in git-lfs layout.
public struct LFSEndpoint: Sendable, Equatable, CustomStringConvertible {
    /// How the endpoint was chosen, highest precedence first.
    public enum Source: String, Sendable {
        /// The mirror's own `lfs_url` (`add --lfs-url`).
        case override = "lfs-url"
        /// `lfs.url` (or `remote.origin.lfsurl`) in `.lfsconfig` on the upstream's default branch.
        case lfsconfig = ".lfsconfig"
        /// Derived from the upstream URL as git-lfs does.
        case upstream
    }

    public enum Location: Sendable, Equatable {
        /// An LFS server: the batch API is at `<url>/objects/batch`.
        case http(String)
        /// A local objects directory laid out as `ab/cd/<oid>`; objects are copied and hashed.
        case file(objectsDirectory: String)
    }

    public let location: Location
    public let source: Source

    /// The endpoint as it may be shown (credentials and query removed).
    public var description: String {
        switch location {
        case let .http(url): return LFSEndpoint.display(url)
        case let .file(dir): return "file://" + dir
        }
    }

    /// Picks the endpoint for `mirror`: its `lfs_url`, else `.lfsconfig`'s (`lfsconfig` is that file's text,
    /// if the default branch has one), else the upstream URL + `/info/lfs`.
    ///
    /// A `file://` endpoint is taken only from the operator (`lfs_url`, or a local upstream): a repository's
    /// `.lfsconfig` may name http(s) endpoints only, so an upstream can never point us at local files.
    public static func resolve(mirror: Mirror, lfsconfig: String?) throws -> LFSEndpoint {
        if let override = mirror.lfsURL {
            return LFSEndpoint(location: try operatorLocation(override), source: .override)
        }
        if let text = lfsconfig, let url = LFSConfigFile.endpoint(in: text) {
            guard isHTTP(url) else {
                throw LFSError.endpoint(reason: "the upstream's .lfsconfig sets lfs.url to \(Redactor.quote(display(url))); only http(s) endpoints are taken from a repository: set the mirror's --lfs-url to override")
            }
            return LFSEndpoint(location: .http(trimSlash(url)), source: .lfsconfig)
        }
        return LFSEndpoint(location: try derivedLocation(upstream: mirror.upstream), source: .upstream)
    }

    /// The endpoint git-lfs derives from a clone URL: http(s) URL + `.git/info/lfs` (or `/info/lfs` when the
    /// path ends in `.git`); git:// and ssh (URL or scp-like) map to `https://host/path` first; local
    /// upstreams (file://, absolute paths) are read directly.
    public static func derive(upstream: String) throws -> String {
        let url = try UpstreamURL(upstream)
        switch url.kind {
        case .file, .path:
            return "file://" + url.path
        case .http, .https:
            return withInfoLFS(trimSlash(upstream))
        case .git:
            // git-lfs keeps host and port, switching the scheme to https.
            return withInfoLFS(trimSlash("https://" + authority(url) + url.path))
        case .ssh, .scp:
            // The ssh port (if any) means nothing to https; the user part is dropped.
            let path = url.path.hasPrefix("/") ? url.path : "/" + url.path
            return withInfoLFS(trimSlash("https://" + hostOnly(url) + path))
        }
    }

    static func derivedLocation(upstream: String) throws -> Location {
        let text = try derive(upstream: upstream)
        if text.hasPrefix("file://") { return .file(objectsDirectory: objectsDirectory(repository: String(text.dropFirst(7)))) }
        return .http(text)
    }

    static func operatorLocation(_ text: String) throws -> Location {
        let url: UpstreamURL
        do {
            url = try UpstreamURL(text)
        } catch {
            throw LFSError.endpoint(reason: "lfs-url \(Redactor.quote(display(text))) is not a valid URL: use https://…/info/lfs or file:///path")
        }
        switch url.kind {
        case .http, .https: return .http(trimSlash(text))
        case .file, .path: return .file(objectsDirectory: objectsDirectory(repository: url.path))
        default:
            throw LFSError.endpoint(reason: "lfs-url \(Redactor.quote(display(text))) uses \(url.kind.rawValue); an LFS endpoint is https://, http:// or file://")
        }
    }

    /// The objects directory of a local LFS store: `<dir>/lfs/objects` (a bare repo), `<dir>/.git/lfs/objects`
    /// (a working copy), or `<dir>/objects` (a bare object store), whichever exists first.
    static func objectsDirectory(repository dir: String) -> String {
        let base = dir.count > 1 && dir.hasSuffix("/") ? String(dir.dropLast()) : dir
        for candidate in [base + "/lfs/objects", base + "/.git/lfs/objects", base + "/objects"] {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate, isDirectory: &isDir), isDir.boolValue { return candidate }
        }
        return base + "/lfs/objects"
    }

    /// An absolute http(s) URL with a host, and no spaces or control characters.
    static func isHTTP(_ text: String) -> Bool {
        guard !text.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7f }),
              let url = URLComponents(string: text), let scheme = url.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let host = url.host, !host.isEmpty else { return false }
        return true
    }

    private static func withInfoLFS(_ url: String) -> String {
        url.hasSuffix(".git") ? url + "/info/lfs" : url + ".git/info/lfs"
    }

    private static func trimSlash(_ url: String) -> String {
        var url = url
        while url.hasSuffix("/") { url.removeLast() }
        return url
    }

    private static func hostOnly(_ url: UpstreamURL) -> String {
        guard let host = url.host else { return "" }
        return host.contains(":") ? "[\(host)]" : host
    }

    private static func authority(_ url: UpstreamURL) -> String {
        hostOnly(url) + (url.port.map { ":\($0)" } ?? "")
    }

    /// A URL as it may appear in messages and the catalog: no user part, no query (signed URLs carry
    /// tokens there), no fragment.
    public static func display(_ url: String) -> String {
        var text = Redactor.redact(url)
        if let q = text.firstIndex(where: { $0 == "?" || $0 == "#" }) { text = String(text[..<q]) }
        return text
    }
}

/// Reads the few keys MirrorDeck needs from a `.lfsconfig` (git config syntax).
enum LFSConfigFile {
    /// `lfs.url`, else `remote.origin.lfsurl`, as the file sets them (the last assignment wins, as in git).
    static func endpoint(in text: String) -> String? {
        var section = ""
        var values: [String: String] = [:]
        for rawLine in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            var line = Substring(rawLine).trimmingCharacters(in: .whitespaces)[...]
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") {
                guard let close = line.firstIndex(of: "]") else { continue }
                section = sectionName(String(line[line.index(after: line.startIndex)..<close]))
                line = line[line.index(after: close)...]
                line = line.trimmingCharacters(in: .whitespaces)[...]
                if line.isEmpty { continue }
            }
            guard let eq = line.firstIndex(of: "=") else { continue }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces).lowercased()
            values[section + "." + key] = value(String(line[line.index(after: eq)...]))
        }
        return values["lfs.url"] ?? values["remote.\"origin\".lfsurl"] ?? values["remote.origin.lfsurl"]
    }

    /// `lfs` → `lfs`; `remote "origin"` → `remote."origin"` (subsections keep their case, sections do not).
    private static func sectionName(_ text: String) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let quote = trimmed.firstIndex(of: "\"") {
            let name = trimmed[..<quote].trimmingCharacters(in: .whitespaces).lowercased()
            let sub = trimmed[trimmed.index(after: quote)...].replacingOccurrences(of: "\"", with: "")
            return name + ".\"" + sub + "\""
        }
        return trimmed.lowercased()
    }

    /// A value with inline comments removed and surrounding quotes and whitespace stripped.
    private static func value(_ raw: String) -> String {
        var out = ""
        var quoted = false
        var escaped = false
        for ch in raw {
            if escaped { out.append(ch); escaped = false; continue }
            if ch == "\\" { escaped = true; continue }
            if ch == "\"" { quoted.toggle(); continue }
            if !quoted && (ch == "#" || ch == ";") { break }
            out.append(ch)
        }
        return out.trimmingCharacters(in: .whitespaces)
    }
}

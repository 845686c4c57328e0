import Foundation
import Testing
@testable import MirrorCore

@Suite("names, URLs, intervals and redaction")
struct ConfigTests {
    @Test("valid names pass", arguments: ["repo", "owner/repo", "Org-1/model_v2.1", "a", "x.y-z_0"])
    func validNames(name: String) throws {
        #expect(try MirrorName.validate(name) == name)
    }

    @Test("names that could escape or confuse paths fail", arguments: [
        "", "../x", "x/..", "/abs", "a/b/c", "a//b", ".hidden", "-x", "x.git", "o/x.lock", "a b", "a\nb", "ä",
        String(repeating: "a", count: 101),
    ])
    func invalidNames(name: String) {
        #expect(throws: ConfigError.self) { try MirrorName.validate(name) }
    }

    @Test("upstream URLs are classified", arguments: [
        ("https://example.org/a/b.git", UpstreamURL.Kind.https, "example.org"),
        ("http://127.0.0.1:8080/x.git", .http, "127.0.0.1"),
        ("git://host/x.git", .git, "host"),
        ("ssh://git@host:2222/x.git", .ssh, "host"),
        ("git@github.example:org/x.git", .scp, "github.example"),
        ("https://[::1]:8443/x.git", .https, "::1"),
    ])
    func urls(text: String, kind: UpstreamURL.Kind, host: String) throws {
        let url = try UpstreamURL(text)
        #expect(url.kind == kind)
        #expect(url.host == host)
    }

    @Test("local upstreams have no host")
    func localURLs() throws {
        #expect(try UpstreamURL("/srv/git/x.git").kind == .path)
        #expect(try UpstreamURL("file:///srv/git/x.git").isLocal)
        #expect(try UpstreamURL("file:///srv/git/x.git").host == nil)
    }

    @Test("passwords in URLs are refused, user names alone are fine")
    func passwords() throws {
        #expect(throws: ConfigError.passwordInURL("https://u:p@h/x.git")) { try UpstreamURL("https://u:p@h/x.git") }
        #expect(try UpstreamURL("ssh://git@host/x.git").kind == .ssh)
    }

    @Test("redaction removes credentials from URLs and headers")
    func redaction() {
        #expect(Redactor.redact("fetch https://user:pw@host/x failed") == "fetch https://***@host/x failed")
        #expect(Redactor.redact("https://TOKEN@host/x") == "https://***@host/x")
        #expect(Redactor.redact("ssh://git@host/x") == "ssh://git@host/x")
        #expect(Redactor.redact("Authorization: Bearer abc.def") == "Authorization: ***")
        #expect(!Redactor.redact("a\nAuthorization: Basic Zm9vOmJhcg==\nb").contains("Zm9v"))
    }

    @Test("intervals parse with units and format back", arguments: [
        ("10s", 10), ("1m", 60), ("90s", 90), ("2h", 7200), ("1h30m", 5400), ("1d", 86400), ("1w", 604800),
    ])
    func intervals(text: String, seconds: Int) throws {
        #expect(try Interval.parse(text) == seconds)
        #expect(try Interval.parse(Interval.format(seconds)) == seconds)
    }

    @Test("bad intervals fail", arguments: ["", "10", "h", "9s", "5x", "-1h", "2h 3", "9999999999h"])
    func badIntervals(text: String) {
        #expect(throws: ConfigError.self) { try Interval.parse(text) }
    }

    @Test("lag, duration and size formats")
    func formats() {
        #expect(TimeFormat.lag(nil) == "never")
        #expect(TimeFormat.lag(59) == "59s")
        #expect(TimeFormat.lag(4 * 60 + 5) == "4m")
        #expect(TimeFormat.lag(2 * 3600 + 59 * 60) == "2h")
        #expect(TimeFormat.lag(3 * 86400 + 1) == "3d")
        #expect(TimeFormat.duration(ms: 850) == "850ms")
        #expect(TimeFormat.duration(ms: 2450) == "2.4s")
        #expect(TimeFormat.duration(ms: 192_000) == "3m12s")
        #expect(ByteFormat.format(512) == "512 B")
        #expect(ByteFormat.format(1536) == "1.5 KiB")
        #expect(ByteFormat.format(5 << 30) == "5.0 GiB")
    }

    @Test("netrc entries by machine, with a default")
    func netrc() {
        let n = Netrc(parsing: "machine a.example login alice password s1\ndefault login anon password s2\n")
        #expect(n.entry(for: "a.example")?.password == "s1")
        #expect(n.entry(for: "b.example")?.login == "anon")
        #expect(Netrc(parsing: "").entry(for: "x") == nil)
    }

    @Test("mirror lists parse, reject unknown keys, and render back")
    func mirrorLists() throws {
        let text = """
        [[mirror]]
        name = "org/model"
        upstream = "https://example.org/org/model.git"
        interval = "30m"
        lfs = "on"
        prune = false
        """
        let mirrors = try MirrorList.parse(text, file: "x.toml")
        #expect(mirrors.count == 1)
        #expect(mirrors[0].intervalSeconds == 1800)
        #expect(mirrors[0].lfs == .on)
        #expect(mirrors[0].prune == false)
        let rendered = try MirrorList.parse(MirrorList.render(mirrors), file: "y.toml")
        #expect(rendered.map(\.name) == ["org/model"])
        #expect(rendered[0].upstream == mirrors[0].upstream && rendered[0].intervalSeconds == 1800 && !rendered[0].prune)
        #expect(throws: ConfigError.self) { try MirrorList.parse(text + "\ncolour = \"red\"\n", file: "x.toml") }
    }
}

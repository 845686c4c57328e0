import Foundation
import Testing
@testable import MirrorCore

@Suite("ref filters: presets, patterns and what they keep")
struct RefFilterTests {
    @Test("heads-tags keeps branches and tags and leaves pull refs and the rest out")
    func headsTags() throws {
        let filter = try RefFilter.parse("heads-tags")
        #expect(filter.description == "heads-tags")
        for ref in ["refs/heads/main", "refs/heads/feature/x", "refs/tags/v1.0"] { #expect(filter.includes(ref), "\(ref)") }
        for ref in ["refs/pull/12/head", "refs/pull/12/merge", "refs/notes/commits", "refs/changes/01/1/1"] {
            #expect(!filter.includes(ref), "\(ref)")
        }
    }

    @Test("include and exclude patterns: * crosses slashes, excludes win, the text round-trips")
    func patterns() throws {
        let filter = try RefFilter.parse("refs/heads/*, refs/tags/v*, !refs/heads/tmp/*")
        #expect(filter.includes("refs/heads/main"))
        #expect(filter.includes("refs/heads/a/b/c"))
        #expect(!filter.includes("refs/heads/tmp/x"))
        #expect(filter.includes("refs/tags/v2"))
        #expect(!filter.includes("refs/tags/nightly"))
        #expect(try RefFilter.parse(filter.description) == filter)
        let excludeOnly = try RefFilter.parse("!refs/pull/*")
        #expect(excludeOnly.includes("refs/heads/main") && excludeOnly.includes("refs/notes/x"))
        #expect(!excludeOnly.includes("refs/pull/1/head"))
        #expect(try RefFilter.parse("all").isAll)
        #expect(RefFilter.all.apply(["refs/pull/1/head": "a"]).count == 1)
        #expect(filter.apply(["refs/pull/1/head": "a", "refs/heads/main": "b"]) == ["refs/heads/main": "b"])
    }

    @Test("glob matching is exact outside the stars")
    func matching() {
        #expect(RefFilter.matches("refs/heads/*", "refs/heads/x"))
        #expect(RefFilter.matches("refs/*/head", "refs/pull/1/head"))
        #expect(!RefFilter.matches("refs/*/head", "refs/pull/1/merge"))
        #expect(RefFilter.matches("refs/heads/main", "refs/heads/main"))
        #expect(!RefFilter.matches("refs/heads/main", "refs/heads/main2"))
        #expect(RefFilter.matches("refs/**", "refs/a"))
        #expect(!RefFilter.matches("refs/heads/*", "refs/tags/x"))
    }

    @Test("bad filters are refused with the reason", arguments: [
        "", "heads", "refs/heads/*,", "refs/../x", "refs/heads/[ab]", "refs/heads/ x", "!", "refs/", "refs/heads/!x", "refs/a:b", "refs/\u{7}",
    ])
    func bad(text: String) {
        #expect(throws: ConfigError.self) { try RefFilter.parse(text) }
    }
}

@Suite("the plain-http proxy MirrorDeck connects through, by libgit2's rules")
struct PlainHTTPProxyTests {
    @Test("http_proxy applies to http upstreams outside no_proxy; https and excluded hosts connect as libgit2 does")
    func rules() {
        let env = ["http_proxy": "http://proxy.example:3128"]
        #expect(PlainHTTPProxy.find(upstream: "http://git.example.org/a.git", environment: env)
            == PlainHTTPProxy(serverHost: "git.example.org", serverPort: "80", proxyHost: "proxy.example", proxyPort: "3128"))
        #expect(PlainHTTPProxy.find(upstream: "https://git.example.org/a.git", environment: env) == nil, "https goes through CONNECT")
        #expect(PlainHTTPProxy.find(upstream: "http://git.example.org/a.git", environment: [:]) == nil)
        #expect(PlainHTTPProxy.find(upstream: "http://h:8080/a.git", environment: ["HTTP_PROXY": "p:81"])?.proxyPort == "81")
        for pattern in ["*", "git.example.org", ".example.org", "*.example.org", "git.example.org:80", "other,git.example.org"] {
            #expect(PlainHTTPProxy.find(upstream: "http://git.example.org/a.git", environment: env.merging(["no_proxy": pattern]) { $1 }) == nil, "\(pattern)")
        }
        for pattern in ["example", "git.example.org:8080", "org.example.org", "xgit.example.org"] {
            #expect(PlainHTTPProxy.find(upstream: "http://git.example.org/a.git", environment: env.merging(["no_proxy": pattern]) { $1 }) != nil, "\(pattern)")
        }
    }
}

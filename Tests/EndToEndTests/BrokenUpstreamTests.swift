import Foundation
import Testing

@Suite("one broken upstream fails alone, with a readable error")
struct BrokenUpstreamTests {
    @Test("refused connection, 404, auth required, DNS failure and not-a-repository each fail; the rest sync")
    func isolation() throws {
        let env = try TestEnv("broken")
        let daemon = try GitDaemon.start(env: env, root: env.path("served-git"))
        let http = try HTTPGitServer.start(env: env, root: env.path("served-http"))
        _ = try Upstream(env: env, servedRoot: daemon.root, name: "good")
        _ = try Upstream(env: env, servedRoot: http.root, name: "secret")
        let refusedPort = Net.freePort()
        let cases: [(name: String, url: String, expect: String)] = [
            ("refused", "git://127.0.0.1:\(refusedPort)/x.git", "nothing answers at that address"),
            ("missing", http.url("nothere"), "no repository at that URL"),
            ("private", http.url("secret", path: "private"), "requires credentials"),
            ("nodns", "https://no-such-host.invalid/x.git", "does not resolve"),
            ("notgit", "http://127.0.0.1:\(http.port)/static/notgit.git", "did not answer as a git repository"),
            ("notexported", daemon.url("nothere"), "no repository at that URL"),
            ("nopath", "file://" + env.path("nothing.git"), "no repository at that path"),
        ]
        #expect(try env.md("add", "good", daemon.url("good")).status == 0)
        for c in cases { #expect(try env.md("add", c.name, c.url).status == 0) }

        let r = try env.md("sync", "--all", "--json")
        #expect(r.status == 1, "\(r)")
        let reports = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [[String: Any]]
        let byName = Dictionary(uniqueKeysWithValues: reports.map { ($0["name"] as! String, $0) })
        #expect(byName["good"]?["result"] as? String == "updated")
        for c in cases {
            let report = try #require(byName[c.name])
            #expect(report["result"] as? String == "failed", "\(c.name)")
            let error = report["error"] as? String ?? ""
            #expect(error.contains(c.expect), "\(c.name): \(error)")
            #expect(!error.contains("\n"), "\(c.name): error must be one line")
            let show = try env.json(env.md("show", c.name, "--json")) as! [String: Any]
            #expect(show["status"] as? String == "failed")
            #expect(show["consecutive_failures"] as? Int == 1)
            #expect((show["last_error"] as? String ?? "").contains(c.expect))
        }
        // The good mirror is intact and matches upstream.
        let reference = env.path("ref.git")
        try Shell.git(["clone", "-q", "--mirror", daemon.url("good"), reference])
        #expect(try Upstream.refs(of: env.mirrorPath("good")) == Upstream.refs(of: reference))
    }

    @Test("a mirror whose upstream vanished is marked failed and keeps its refs")
    func vanishedUpstream() throws {
        let env = try TestEnv("vanished")
        let daemon = try GitDaemon.start(env: env, root: env.path("served"))
        let upstream = try Upstream(env: env, servedRoot: daemon.root, name: "lib")
        try env.md("add", "lib", daemon.url("lib"))
        #expect(try env.md("sync", "lib").status == 0)
        let refs = try Upstream.refs(of: env.mirrorPath("lib"))
        try FileManager.default.removeItem(atPath: upstream.bare)
        let r = try env.md("sync", "lib")
        #expect(r.status == 1)
        #expect(r.stdout.contains("FAILED  lib"))
        #expect(try Upstream.refs(of: env.mirrorPath("lib")) == refs)
        let show = try env.json(env.md("show", "lib", "--json")) as! [String: Any]
        #expect(show["status"] as? String == "failed")
        #expect(show["fresh_as_of"] is String, "fresh-as-of keeps the last success")
    }

    @Test("credentials from ~/.netrc open an auth-protected upstream, and never reach the catalog")
    func netrcCredentials() throws {
        let env = try TestEnv("netrc")
        let http = try HTTPGitServer.start(env: env, root: env.path("served"))
        _ = try Upstream(env: env, servedRoot: http.root, name: "secret")
        let netrc = env.path("netrc")
        try "machine 127.0.0.1 login alice password secret\n".write(toFile: netrc, atomically: true, encoding: .utf8)
        try env.md("add", "secret", http.url("secret", path: "private"))
        let r = try env.md("sync", "secret", env: ["NETRC": netrc])
        #expect(r.status == 0, "\(r)")
        let db = try String(contentsOfFile: env.home + "/catalog.sqlite", encoding: .isoLatin1)
        #expect(!db.contains("secret\n"))
        #expect(!db.contains("alice"))
    }
}

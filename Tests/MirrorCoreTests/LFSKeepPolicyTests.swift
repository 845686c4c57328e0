import Foundation
import Testing
@testable import MirrorCore

@Suite("LFS retention policies (--lfs-keep)")
struct LFSKeepPolicyTests {
    static let refs: [LFSKeepPolicy.Ref] = [
        .init(name: "refs/heads/main", date: 500),
        .init(name: "refs/heads/dev", date: 400),
        .init(name: "refs/tags/v1", date: 100),
        .init(name: "refs/tags/v2", date: 200),
        .init(name: "refs/tags/v3", date: 300),
        .init(name: "refs/tags/v10", date: 250),
        .init(name: "refs/pull/1/head", date: 600),
        .init(name: "refs/notes/commits", date: 50),
    ]

    @Test("the named policies parse and print back the same")
    func named() throws {
        #expect(try LFSKeepPolicy.parse("all") == .all)
        #expect(try LFSKeepPolicy.parse("ALL") == .all)
        #expect(try LFSKeepPolicy.parse("refs") == .refs)
        #expect(try LFSKeepPolicy.parse("tags:3") == .newestTags(3))
        #expect(try LFSKeepPolicy.parse("refs/heads/*,!refs/pull/*") == .patterns(try RefFilter.parse("refs/heads/*,!refs/pull/*")))
        #expect(try LFSKeepPolicy.parse("!refs/pull/") == .patterns(try RefFilter.parse("!refs/pull/")))
        for text in ["all", "refs", "tags:12", "refs/heads/*,refs/tags/v*,!refs/pull/*", "!refs/pull/*"] {
            #expect(try LFSKeepPolicy.parse(text).description == text)
            #expect(LFSKeepPolicy(stored: text).description == text)
        }
        #expect(LFSKeepPolicy(stored: nil) == .all)
        #expect(LFSKeepPolicy(stored: "garbage") == .all)
    }

    @Test("bad policies are refused with one line that says what to write", arguments: [
        "", " ", "none", "tags:", "tags:0", "tags:-1", "tags:x", "tags:3x", "tags:１", "tags:100001", "heads/*",
        "refs/heads/*,", ",refs/heads/*", "refs/heads/*,,refs/tags/*", "refs/", "!", "!heads/*", "refs/heads/a b",
        "refs/heads/~1", "refs/heads/[ab]", "refs/heads/a:b", "refs/../x", "refs//x", "refs/heads/!x", String(repeating: "refs/x,", count: 100),
    ])
    func refused(text: String) {
        #expect(throws: ConfigError.self) { try LFSKeepPolicy.parse(text) }
        do {
            _ = try LFSKeepPolicy.parse(text)
        } catch {
            let message = "\(error)"
            #expect(!message.contains("\n"))
            #expect(message.contains("use all, refs, tags:N"))
        }
    }

    @Test("tags:N keeps the newest N tags by date, and every branch but no other ref")
    func newestTags() {
        #expect(LFSKeepPolicy.newestTags(2).keptRefs(Self.refs) == ["refs/heads/main", "refs/heads/dev", "refs/tags/v3", "refs/tags/v10"])
        #expect(LFSKeepPolicy.newestTags(100).keptRefs(Self.refs).count == 6)
        // Equal dates: the name decides, so the choice is stable.
        let tied: [LFSKeepPolicy.Ref] = [.init(name: "refs/tags/a", date: 1), .init(name: "refs/tags/b", date: 1)]
        #expect(LFSKeepPolicy.newestTags(1).keptRefs(tied) == ["refs/tags/b"])
    }

    @Test("patterns: * spans slashes, a trailing / is a namespace, ! excludes, excludes alone keep the rest")
    func patterns() throws {
        #expect(try LFSKeepPolicy.parse("refs/heads/*").keptRefs(Self.refs) == ["refs/heads/main", "refs/heads/dev"])
        #expect(try LFSKeepPolicy.parse("refs/tags/v1*").keptRefs(Self.refs) == ["refs/tags/v1", "refs/tags/v10"])
        #expect(try LFSKeepPolicy.parse("refs/tags/v1").keptRefs(Self.refs) == ["refs/tags/v1"])
        #expect(try LFSKeepPolicy.parse("refs/*,!refs/pull/*,!refs/notes/").keptRefs(Self.refs).count == 6)
        #expect(try LFSKeepPolicy.parse("!refs/pull/*").keptRefs(Self.refs).count == 7)
        #expect(try LFSKeepPolicy.parse("refs/*/head").keptRefs(Self.refs) == ["refs/pull/1/head"])
        #expect(LFSKeepPolicy.refs.keptRefs(Self.refs).count == Self.refs.count)
        #expect(RefFilter.matches("refs/heads/*", "refs/heads/feature/x"))
        #expect(!RefFilter.matches("refs/heads/*", "refs/tags/x"))
        #expect(RefFilter.matches("refs/*/v*", "refs/tags/v1"))
        #expect(!RefFilter.matches("refs/tags/v1", "refs/tags/v10"))
    }

    @Test("over SSH, --lfs-keep passes the grammar as one word; injection is still refused")
    func ssh() throws {
        #expect(try SSHCommand("edit org/x --lfs-keep refs/heads/*,!refs/pull/*").action
            == .cli(["edit", "org/x", "--lfs-keep", "refs/heads/*,!refs/pull/*"]))
        #expect(try SSHCommand("add org/x https://h/x.git --lfs-keep tags:3").permission == .add)
        #expect(throws: AccessError.self) { try SSHCommand("edit org/x --lfs-archive /tmp/x") }
        #expect(throws: AccessError.self) { try SSHCommand("edit org/x --lfs-keep 'refs/*'") }
        #expect(throws: AccessError.self) { try SSHCommand("edit org/x --lfs-keep $(id)") }
    }

    @Test("an archive directory must be absolute, normalized, and outside the home")
    func archive() throws {
        let dir = NSTemporaryDirectory() + "md-archive-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let home = try Home(path: dir + "/home")
        try home.validateArchive(dir + "/archive")
        for bad in ["archive", dir + "/home", dir + "/home/archive", dir, dir + "/../x", dir + "//x", "/"] {
            #expect(throws: ConfigError.self, "\(bad)") { try home.validateArchive(bad) }
        }
    }
}

import Foundation
import Testing
@testable import MirrorCore

@Suite("LFS pointers, object ids, endpoints and server answers")
struct LFSPointerTests {
    let oid = "4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393"

    func parse(_ text: String) -> LFSPointer.Parsed { LFSPointer.parse(Array(text.utf8)) }

    @Test("a pointer by the spec parses; extension keys and a missing final newline are fine")
    func validPointers() {
        let expected = LFSPointer.Parsed.pointer(LFSPointer(oid: LFSOID(oid)!, size: 12345))
        #expect(parse("version https://git-lfs.github.com/spec/v1\noid sha256:\(oid)\nsize 12345\n") == expected)
        #expect(parse("version https://git-lfs.github.com/spec/v1\noid sha256:\(oid)\nsize 12345") == expected)
        #expect(parse("version https://hawser.github.com/spec/v1\noid sha256:\(oid)\nsize 12345\n") == expected)
        #expect(parse("version https://git-lfs.github.com/spec/v1\next-0-foo sha256:\(oid)\noid sha256:\(oid)\nsize 12345\n") == expected)
        // The scan skips blobs below minBlobSize without reading them: nothing that short starts like a pointer.
        #expect("version https://hawser.github.com/spec/v1".utf8.count == LFSPointer.minBlobSize)
        #expect(parse("version https://hawser.github.com/spec/v1\noid sha256:\(oid)\nsize 0") == .pointer(LFSPointer(oid: LFSOID(oid)!, size: 0)))
    }

    @Test("ordinary files are not pointers, and blobs of 1024 bytes or more are never parsed")
    func notPointers() {
        #expect(parse("hello world\n") == .notAPointer)
        #expect(parse("version 2.0 of the readme\n") == .notAPointer)
        #expect(parse("") == .notAPointer)
        let big = "version https://git-lfs.github.com/spec/v1\noid sha256:\(oid)\nsize 1\n" + String(repeating: "x", count: 1024)
        #expect(parse(big) == .notAPointer)
    }

    @Test("hostile or broken pointers are malformed and never yield an object id", arguments: [
        "oid sha256:../../x\nsize 1",
        "oid sha256:\("4D7A214614AB2935C943F9E0FF69D22EADBB8F32B1258DAAA5E2CA24D17E2393")\nsize 1",
        "oid sha256:\(String(repeating: "a", count: 63))\nsize 1",
        "oid sha256:\(String(repeating: "a", count: 65))\nsize 1",
        "oid md5:\(String(repeating: "a", count: 64))\nsize 1",
        "oid sha256:\(String(repeating: "a", count: 64))\nsize -1",
        "oid sha256:\(String(repeating: "a", count: 64))\nsize +5",
        "oid sha256:\(String(repeating: "a", count: 64))\nsize 99999999999999999999",
        "size 1\noid sha256:\(String(repeating: "a", count: 64))",
        "oid sha256:\(String(repeating: "a", count: 64))",
        "size 5",
        "oid sha256:\(String(repeating: "a", count: 64))\nsize 1\nnot a key value line",
    ])
    func malformed(_ body: String) {
        let parsed = parse("version https://git-lfs.github.com/spec/v1\n" + body + "\n")
        guard case .malformed = parsed else {
            Issue.record("expected malformed, got \(parsed)")
            return
        }
    }

    @Test("object ids are exactly 64 lowercase hex digits, and shard as ab/cd/oid")
    func oids() {
        #expect(LFSOID(oid)?.shardedPath == "4d/7a/\(oid)")
        for bad in ["", "../" + String(oid.dropFirst(3)), oid.uppercased(), String(oid.dropLast()), oid + "0", String(oid.dropLast()) + "/",
                    String(oid.dropLast()) + "g", String(oid.dropLast()) + "\u{e9}"] {
            #expect(LFSOID(bad) == nil, "\(bad)")
        }
    }

    @Test("endpoints are derived from clone URLs as git-lfs does", arguments: [
        ("https://example.org/org/repo.git", "https://example.org/org/repo.git/info/lfs"),
        ("https://example.org/org/repo", "https://example.org/org/repo.git/info/lfs"),
        ("https://example.org/org/repo/", "https://example.org/org/repo.git/info/lfs"),
        ("http://127.0.0.1:8080/git/x.git", "http://127.0.0.1:8080/git/x.git/info/lfs"),
        ("git://example.org:9418/org/repo.git", "https://example.org:9418/org/repo.git/info/lfs"),
        ("ssh://git@example.org:2222/org/repo.git", "https://example.org/org/repo.git/info/lfs"),
        ("git@example.org:org/repo.git", "https://example.org/org/repo.git/info/lfs"),
        ("git@example.org:org/repo", "https://example.org/org/repo.git/info/lfs"),
        ("file:///srv/git/repo.git", "file:///srv/git/repo.git"),
        ("/srv/git/repo.git", "file:///srv/git/repo.git"),
    ])
    func derivation(_ upstream: String, _ endpoint: String) throws {
        #expect(try LFSEndpoint.derive(upstream: upstream) == endpoint)
    }

    @Test(".lfsconfig: lfs.url, else remote.origin.lfsurl; quotes and comments handled")
    func lfsconfig() {
        #expect(LFSConfigFile.endpoint(in: "[lfs]\n\turl = https://lfs.example.org/r\n") == "https://lfs.example.org/r")
        #expect(LFSConfigFile.endpoint(in: "# c\n[LFS]\n  URL = \"https://a.example/x\" ; note\n") == "https://a.example/x")
        #expect(LFSConfigFile.endpoint(in: "[remote \"origin\"]\n\tlfsurl = https://b.example/y\n") == "https://b.example/y")
        #expect(LFSConfigFile.endpoint(in: "[remote \"origin\"]\nlfsurl = https://b.example/y\n[lfs]\nurl = https://c.example/z\n") == "https://c.example/z")
        #expect(LFSConfigFile.endpoint(in: "[core]\n\tbare = true\n") == nil)
    }

    @Test("the endpoint is the mirror's lfs-url, else .lfsconfig's (http(s) only), else derived")
    func precedence() throws {
        var mirror = Mirror(name: "m", upstream: "https://example.org/m.git")
        let config = "[lfs]\n\turl = https://lfs.example.org/m\n"
        #expect(try LFSEndpoint.resolve(mirror: mirror, lfsconfig: nil).location == .http("https://example.org/m.git/info/lfs"))
        let fromConfig = try LFSEndpoint.resolve(mirror: mirror, lfsconfig: config)
        #expect(fromConfig.location == .http("https://lfs.example.org/m") && fromConfig.source == .lfsconfig)
        mirror.lfsURL = "https://override.example/lfs/"
        let overridden = try LFSEndpoint.resolve(mirror: mirror, lfsconfig: config)
        #expect(overridden.location == .http("https://override.example/lfs") && overridden.source == .override)
        mirror.lfsURL = nil
        #expect(throws: LFSError.self) { try LFSEndpoint.resolve(mirror: mirror, lfsconfig: "[lfs]\nurl = file:///etc\n") }
        #expect(throws: LFSError.self) { try LFSEndpoint.resolve(mirror: mirror, lfsconfig: "[lfs]\nurl = ssh://x/y\n") }
        mirror.lfsURL = "git://example.org/x"
        #expect(throws: LFSError.self) { try LFSEndpoint.resolve(mirror: mirror, lfsconfig: nil) }
    }

    @Test("URLs in messages lose their query, fragment and user part")
    func display() {
        #expect(LFSEndpoint.display("https://user@cdn.example/obj/abc?X-Amz-Signature=secret#f") == "https://***@cdn.example/obj/abc")
    }

    @Test("a resumed download is accepted only with a Content-Range that matches what was asked")
    func contentRange() {
        #expect(LFSTransferWorker.contentRangeMatches("bytes 100-999/1000", start: 100, size: 1000))
        #expect(LFSTransferWorker.contentRangeMatches("bytes 100-999/*", start: 100, size: 1000))
        #expect(!LFSTransferWorker.contentRangeMatches("bytes 0-999/1000", start: 100, size: 1000))
        #expect(!LFSTransferWorker.contentRangeMatches("bytes 100-998/1000", start: 100, size: 1000))
        #expect(!LFSTransferWorker.contentRangeMatches("bytes 100-999/2000", start: 100, size: 1000))
        #expect(!LFSTransferWorker.contentRangeMatches(nil, start: 100, size: 1000))
        #expect(!LFSTransferWorker.contentRangeMatches("items 100-999/1000", start: 100, size: 1000))
    }

    @Test("Retry-After is read as seconds or an HTTP date, and backoff doubles without it")
    func retryAfter() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(LFSOptions.parseRetryAfter("7", now: now) == 7)
        #expect(LFSOptions.parseRetryAfter("Fri, 15 Jan 2027 08:00:10 GMT", now: Date(timeIntervalSince1970: 1_800_000_000)) != nil)
        var options = LFSOptions()
        options.backoffBase = 1
        #expect(options.delay(attempt: 1, retryAfter: "3") == 3)
        #expect(options.delay(attempt: 1, retryAfter: "100000") == nil, "longer than we wait")
        #expect((options.delay(attempt: 3, retryAfter: nil) ?? 0) >= 3.2)
        #expect((options.delay(attempt: 3, retryAfter: nil) ?? 99) <= 4)
    }

    @Test("a batch answer is matched by exact oid; bad hrefs, headers and sizes are refused per object")
    func batchAnswers() throws {
        let a = LFSPointer(oid: LFSOID(String(repeating: "a", count: 64))!, size: 10)
        let b = LFSPointer(oid: LFSOID(String(repeating: "b", count: 64))!, size: 20)
        let c = LFSPointer(oid: LFSOID(String(repeating: "c", count: 64))!, size: 30)
        let d = LFSPointer(oid: LFSOID(String(repeating: "d", count: 64))!, size: 40)
        let e = LFSPointer(oid: LFSOID(String(repeating: "e", count: 64))!, size: 50)
        let answer: [String: Any] = ["transfer": "basic", "objects": [
            ["oid": a.oid.hex, "size": 10, "actions": ["download": ["href": "https://cdn.example/a", "header": ["Authorization": "Bearer t"], "expires_in": 60]]],
            ["oid": b.oid.hex, "size": 20, "actions": ["download": ["href": "file:///etc/passwd"]]],
            ["oid": c.oid.hex, "size": 31, "actions": ["download": ["href": "https://cdn.example/c"]]],
            ["oid": d.oid.hex, "size": 40, "actions": ["download": ["href": "https://cdn.example/d", "header": ["X-Evil": "a\r\nHost: other"]]]],
            ["oid": "../../" + e.oid.hex.dropFirst(6), "size": 50, "actions": ["download": ["href": "https://cdn.example/e"]]],
            ["oid": e.oid.hex.uppercased(), "size": 50, "error": ["code": 404, "message": "nope"]],
        ]]
        let client = LFSBatchClient(endpoint: "https://example.org/x.git/info/lfs", options: LFSOptions(), insecureTLS: false, curl: CurlHandle())
        let parsed = try client.parse(Array(try JSONSerialization.data(withJSONObject: answer)), requested: [a, b, c, d, e])
        guard case let .download(action)? = parsed[a.oid] else { Issue.record("a: \(String(describing: parsed[a.oid]))"); return }
        #expect(action.href == "https://cdn.example/a" && action.headers.first?.1 == "Bearer t" && !action.isExpired())
        for (pointer, fragment) in [(b, "only http(s) links"), (c, "has 31 bytes"), (d, "malformed header"), (e, "did not include this object")] {
            guard case let .error(error)? = parsed[pointer.oid] else { Issue.record("\(pointer.oid): not refused"); continue }
            #expect(error.description.contains(fragment), "\(error)")
        }
    }
}

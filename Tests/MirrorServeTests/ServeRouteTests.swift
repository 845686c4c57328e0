import Foundation
import MirrorCore
import Testing
@testable import MirrorServe

@Suite("what a client may ask the server for, parsed before anything touches the disk")
struct ServeRouteTests {
    let oid = String(repeating: "ab", count: 32)

    @Test("git and LFS paths of one- and two-part mirror names")
    func paths() {
        #expect(ServeRoute.parse("/org/model.git/info/refs?service=git-upload-pack") == .infoRefs(mirror: "org/model", service: "git-upload-pack"))
        #expect(ServeRoute.parse("/lib.git/info/refs") == .infoRefs(mirror: "lib", service: nil))
        #expect(ServeRoute.parse("/lib.git/git-upload-pack") == .uploadPack(mirror: "lib"))
        #expect(ServeRoute.parse("/lib.git/git-receive-pack") == .receivePack(mirror: "lib"))
        #expect(ServeRoute.parse("/org/model.git/info/lfs/objects/batch") == .lfsBatch(mirror: "org/model"))
        #expect(ServeRoute.parse("/org/model.git/info/lfs/objects/\(oid)") == .lfsObject(mirror: "org/model", oid: LFSOID(oid)!))
        #expect(ServeRoute.parse("/org/model.git/info/lfs/locks/verify") == .lfsLocks(mirror: "org/model"))
        #expect(ServeRoute.parse("/lib.git/HEAD") == .otherInMirror(mirror: "lib"))
        #expect(ServeRoute.parse("/healthz") == .health)
        #expect(ServeRoute.parse("/lib.git/info/refs?service=git-upload-pack%00") == .infoRefs(mirror: "lib", service: "invalid"))
    }

    @Test("traversal in every spelling, encodings, absolute and odd paths are refused before any lookup")
    func traversal() {
        let hostile = [
            "/../catalog.sqlite", "/lib.git/../../catalog.sqlite", "/%2e%2e/catalog.sqlite", "/org%2fmodel.git/info/refs",
            "//etc/passwd", "/lib.git//info/refs", "/./lib.git/info/refs", "/lib.git/info/lfs/objects/../../../serve.key",
            "/lib.git/info/lfs/objects/\(oid.uppercased())", "/lib.git/info/lfs/objects/\(oid.prefix(63))",
            "/lib.git/info/lfs/objects/\(oid)x", "/a/b/c.git/info/refs", "/-x.git/info/refs", "/lib\\..git/info/refs",
            "relative.git/info/refs", "/lib.git\u{0}/info/refs", "/lïb.git/info/refs", "/" + String(repeating: "a", count: 3000) + ".git/info/refs",
            "/org/x.lock.git/info/refs", "/lib", "/",
        ]
        for target in hostile {
            guard case .bad = ServeRoute.parse(target) else {
                Issue.record("\(target.prefix(80)) was not refused: \(ServeRoute.parse(target))")
                continue
            }
        }
    }

    @Test("Range: bytes=N-, bytes=N-M, suffixes, out-of-range and 64-bit offsets")
    func ranges() {
        #expect(ByteRange.parse(nil, size: 100) == .none)
        #expect(ByteRange.parse("bytes=0-", size: 100) == .none)
        #expect(ByteRange.parse("bytes=10-", size: 100) == .from(10))
        #expect(ByteRange.parse("bytes=10-20", size: 100) == .from(10))
        #expect(ByteRange.parse("bytes=-10", size: 100) == .from(90))
        #expect(ByteRange.parse("bytes=100-", size: 100) == .unsatisfiable)
        #expect(ByteRange.parse("bytes=5000000000-", size: 6_000_000_000) == .from(5_000_000_000))
        #expect(ByteRange.parse("bytes=1-2,5-6", size: 100) == .none)
        #expect(ByteRange.parse("bytes=x-", size: 100) == .none)
        #expect(ByteRange.parse("items=1-", size: 100) == .none)
    }

    @Test("a gzip request body inflates; garbage and bombs are refused")
    func gunzip() throws {
        let text = String(repeating: "0032want 0123456789abcdef0123456789abcdef01234567\n", count: 200)
        let gz = try Self.gzip(Array(text.utf8))
        #expect(try Gunzip.inflate(gz, limit: 1 << 20) == Array(text.utf8))
        #expect(throws: (any Error).self) { try Gunzip.inflate(Array("not gzip".utf8), limit: 1 << 20) }
        #expect(throws: (any Error).self) { try Gunzip.inflate(gz, limit: 100) }
    }

    @Test("a negotiation with haves is a fetch, without is a clone, ls-refs is a ref listing")
    func kinds() {
        #expect(ServeResponder.negotiationKind(Array("0032want abc\n00000009done\n".utf8)) == .clone)
        #expect(ServeResponder.negotiationKind(Array("0032want abc\n0032have def\n0009done\n".utf8)) == .fetch)
        #expect(ServeResponder.negotiationKind(Array("0014command=ls-refs\n0000".utf8)) == .refs)
    }

    static func gzip(_ bytes: [UInt8]) throws -> [UInt8] {
        let dir = FileManager.default.temporaryDirectory.path + "/gz-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/body"))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/gzip")
        p.arguments = ["-n", dir + "/body"]
        try p.run()
        p.waitUntilExit()
        return Array(FileManager.default.contents(atPath: dir + "/body.gz") ?? Data())
    }
}

import Foundation
import Testing
@testable import MirrorCore

/// A `git fast-import` stream: commits with inline file contents, so big histories take seconds to make.
struct FastImport {
    private(set) var text = ""
    private var mark = 0
    private var time = 1_700_000_000

    /// Adds a commit to `ref` (after `parent`, a mark) changing `files`; returns its mark.
    @discardableResult
    mutating func commit(_ ref: String, parent: Int?, files: [(String, String)], message: String = "change") -> Int {
        mark += 1
        time += 1
        text += "commit \(ref)\nmark :\(mark)\ncommitter T <t@example.org> \(time) +0000\ndata \(message.utf8.count)\n\(message)\n"
        if let parent { text += "from :\(parent)\n" }
        for (path, content) in files { text += "M 100644 inline \(path)\ndata \(content.utf8.count)\n\(content)\n" }
        return mark
    }

    mutating func tag(_ name: String, at commit: Int) {
        text += "tag \(name)\nfrom :\(commit)\ntagger T <t@example.org> \(time) +0000\ndata 3\ntag\n"
    }

    mutating func reset(_ ref: String, to commit: Int) {
        text += "reset \(ref)\nfrom :\(commit)\n\n"
    }

    /// Feeds the stream into the bare repository at `path` (created when missing).
    func run(into path: String) throws {
        if !FileManager.default.fileExists(atPath: path) {
            try git(["init", "-q", "--bare", path])
        }
        let file = NSTemporaryDirectory() + "/fi-\(UUID().uuidString)"
        try text.write(toFile: file, atomically: false, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        try git(["-C", path, "fast-import", "--quiet", "--force"], stdin: file)
    }

    func git(_ args: [String], stdin: String? = nil) throws {
        _ = try Self.git(args, stdin: stdin)
    }

    /// Runs git with a clean environment; returns its output, throws when it fails.
    static func git(_ args: [String], stdin: String? = nil) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/git")
        p.arguments = args
        p.environment = ["GIT_CONFIG_NOSYSTEM": "1", "HOME": NSTemporaryDirectory(), "PATH": "/usr/bin:/bin"]
        if let stdin { p.standardInput = FileHandle(forReadingAtPath: stdin) }
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw LFSError.repository(path: args.joined(separator: " "), message: "git failed") }
        return String(decoding: data, as: UTF8.self)
    }
}

@Suite("LFS pointer discovery with libgit2")
struct LFSDiscoveryTests {
    func setUp(_ label: String) throws -> (Home, Catalog, Mirror, String) {
        let dir = FileManager.default.temporaryDirectory.path + "/mdlfs-\(label)-\(UUID().uuidString.prefix(8))"
        let home = try Home(path: dir)
        let catalog = try Catalog(home: home)
        let mirror = try catalog.addMirror(Mirror(name: "m", upstream: "https://example.org/m.git"), actor: .local)
        return (home, catalog, mirror, dir)
    }

    static func oid(_ n: Int) -> String {
        let hex = String(n, radix: 16)
        return String(repeating: "0", count: 64 - hex.count) + hex
    }

    static func pointer(_ n: Int, size: Int = 1000) -> String {
        "version https://git-lfs.github.com/spec/v1\noid sha256:\(oid(n))\nsize \(size + n)\n"
    }

    func oids(_ catalog: Catalog, _ mirror: Mirror) throws -> Set<String> {
        Set(try catalog.lfsObjects(mirrorId: mirror.id!).map(\.oid))
    }

    @Test("pointers on every branch and tag and in old commits are found; big blobs and look-alikes are not pointers")
    func findsEverything() throws {
        let (home, catalog, mirror, dir) = try setUp("all")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var fi = FastImport()
        let root = fi.commit("refs/heads/main", parent: nil, files: [("a.bin", Self.pointer(1)), ("README", "hello\n")])
        let second = fi.commit("refs/heads/main", parent: root, files: [("a.bin", Self.pointer(2)), ("sub/dir/b.bin", Self.pointer(3))])
        fi.commit("refs/heads/dev", parent: second, files: [("dev.bin", Self.pointer(4))])
        let tagged = fi.commit("refs/heads/scratch", parent: root, files: [("t.bin", Self.pointer(5))])
        fi.tag("v1", at: tagged)
        fi.reset("refs/heads/scratch", to: root) // the commit stays reachable through the tag only
        fi.commit("refs/heads/main", parent: second, files: [
            ("big.txt", "version https://git-lfs.github.com/spec/v1\noid sha256:\(Self.oid(6))\nsize 1\n" + String(repeating: "x", count: 2000)),
            ("notes.txt", "version 3 of the notes\n"),
            ("evil.bin", "version https://git-lfs.github.com/spec/v1\noid sha256:../../../etc/passwd\nsize 1\n"),
        ])
        try fi.run(into: home.mirrorPath("m"))

        let discovery = try LFSSync(home: home, catalog: catalog).discover(mirror: mirror)
        #expect(try oids(catalog, mirror) == Set((1...5).map(Self.oid)))
        #expect(discovery.newObjects == 5 && discovery.objectsTotal == 5)
        #expect(discovery.malformedPointers == 1)
        #expect(discovery.malformedExamples.first?.contains("../../../etc/passwd") == true)
        #expect(try catalog.lfsObjects(mirrorId: mirror.id!).allSatisfy { $0.state == .missing })
        #expect(try catalog.lfsObjects(mirrorId: mirror.id!).first { $0.oid == Self.oid(3) }?.size == 1003)
    }

    @Test("a repository with 50k commits and nothing new rescans in well under a second; one new commit is scanned alone")
    func incremental() throws {
        let (home, catalog, mirror, dir) = try setUp("50k")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var fi = FastImport()
        var parent: Int?
        for i in 0..<50_000 {
            var files = [("src/file\(i % 20).txt", "line \(i)\n")]
            if i % 5_000 == 0 { files.append(("weights/w\(i / 5_000).bin", Self.pointer(100 + i / 5_000))) }
            parent = fi.commit("refs/heads/main", parent: parent, files: files)
        }
        try fi.run(into: home.mirrorPath("m"))
        let lfs = LFSSync(home: home, catalog: catalog)

        let first = try lfs.discover(mirror: mirror)
        #expect(first.commitsScanned == 50_000)
        #expect(first.objectsTotal == 10)

        let clock = ContinuousClock()
        var again: LFSDiscovery?
        let elapsed = try clock.measure { again = try lfs.discover(mirror: mirror) }
        #expect(again?.upToDate == true && again?.commitsScanned == 0)
        #expect(elapsed < .milliseconds(300), "a rescan with nothing new took \(elapsed)")

        // One more commit on top of main, with one new pointer.
        let tip = try String(contentsOfFile: home.mirrorPath("m") + "/refs/heads/main", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let stream = "commit refs/heads/main\ncommitter T <t@example.org> 1800000000 +0000\ndata 4\nmore\nfrom \(tip)\nM 100644 inline new.bin\ndata \(Self.pointer(999).utf8.count)\n\(Self.pointer(999))\n"
        try stream.write(toFile: dir + "/more.fi", atomically: false, encoding: .utf8)
        try fi.git(["-C", home.mirrorPath("m"), "fast-import", "--quiet"], stdin: dir + "/more.fi")
        let third = try lfs.discover(mirror: mirror)
        #expect(third.commitsScanned == 1)
        #expect(third.newObjects == 1 && third.objectsTotal == 11)
    }

    @Test("after history is rewritten, a full rescan drops objects no longer reachable (their files stay)")
    func fullRescan() throws {
        let (home, catalog, mirror, dir) = try setUp("rescan")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var fi = FastImport()
        let root = fi.commit("refs/heads/main", parent: nil, files: [("a.bin", Self.pointer(1))])
        fi.commit("refs/heads/main", parent: root, files: [("b.bin", Self.pointer(2))])
        try fi.run(into: home.mirrorPath("m"))
        let lfs = LFSSync(home: home, catalog: catalog)
        _ = try lfs.discover(mirror: mirror)
        #expect(try oids(catalog, mirror).count == 2)

        var rewrite = FastImport()
        rewrite.commit("refs/heads/main", parent: nil, files: [("a.bin", Self.pointer(1)), ("c.bin", Self.pointer(3))])
        try rewrite.run(into: home.mirrorPath("m"))
        let incremental = try lfs.discover(mirror: mirror)
        #expect(incremental.newObjects == 1)
        #expect(try oids(catalog, mirror) == Set([1, 2, 3].map(Self.oid)), "an incremental scan only adds")
        let full = try lfs.discover(mirror: mirror, full: true)
        #expect(full.full && full.removedObjects == 1)
        #expect(try oids(catalog, mirror) == Set([1, 3].map(Self.oid)))
    }

    @Test("an LFS failure marks the mirror failed with the count missing; a complete fetch clears it but never a git failure")
    func mirrorState() throws {
        let (_, catalog, mirror, dir) = try setUp("state")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let run = try catalog.beginRun(mirror: mirror, trigger: .manual, actor: .local)
        _ = try catalog.finishRun(run, mirror: mirror, outcome: SyncOutcome(result: .updated), actor: .local)

        var failed = LFSFetchReport(mirror: "m", result: .failed)
        failed.objectsTotal = 5
        failed.objectsPresent = 3
        failed.error = "2 of 5 LFS objects missing (2 unavailable upstream)"
        var previous = try catalog.beginLFS(mirrorId: mirror.id!)
        #expect(try catalog.summary(named: "m").state.status == .fetchingLFS)
        var state = try catalog.finishLFS(mirror: mirror, report: failed, previous: previous, actor: .local)
        #expect(state.status == .failed && state.consecutiveFailures == 1)
        #expect(state.lastError == "LFS: 2 of 5 LFS objects missing (2 unavailable upstream)")

        previous = try catalog.beginLFS(mirrorId: mirror.id!)
        state = try catalog.finishLFS(mirror: mirror, report: LFSFetchReport(mirror: "m", result: .ok), previous: previous, actor: .local)
        #expect(state.status == .ok && state.lastError == nil && state.consecutiveFailures == 0)

        // A git failure stays visible through a successful LFS fetch.
        let run2 = try catalog.beginRun(mirror: mirror, trigger: .manual, actor: .local)
        var outcome = SyncOutcome(result: .failed)
        outcome.error = "upstream https://example.org/m.git: gone"
        _ = try catalog.finishRun(run2, mirror: mirror, outcome: outcome, actor: .local)
        previous = try catalog.beginLFS(mirrorId: mirror.id!)
        state = try catalog.finishLFS(mirror: mirror, report: LFSFetchReport(mirror: "m", result: .ok), previous: previous, actor: .local)
        #expect(state.status == .failed && state.lastError?.contains("gone") == true)
        #expect(try catalog.events(mirror: "m").contains { $0.action == "lfs" && $0.message.contains("LFS fetch failed") })
    }

    /// Runs git in `repo` and returns its output.
    func gitOutput(_ repo: String, _ args: [String]) throws -> String {
        try FastImport.git(["-C", repo] + args)
    }

    /// A history of small text files edited a line at a time, so packing makes deltas of most blobs.
    func editedHistory(commits: Int, extra: (Int) -> [(String, String)] = { _ in [] }) -> FastImport {
        var fi = FastImport()
        var parent: Int?
        var lines = (0..<40).map { "line \($0) of a file that is long enough to be worth a delta\n" }
        for i in 0..<commits {
            lines[i % lines.count] = "edited in commit \(i)\n"
            let body = lines.joined()
            parent = fi.commit("refs/heads/main", parent: parent, files: [
                ("src/big\(i % 3).txt", body),                    // over 1024 bytes: never a candidate
                ("src/small\(i % 3).txt", String(body.prefix(300))), // pointer-sized, not a pointer
            ] + extra(i))
        }
        return fi
    }

    @Test("the census lists every pointer-sized blob git sees, packed whole, as an offset delta or as a ref delta, and loose")
    func censusMatchesGit() throws {
        let (home, _, _, dir) = try setUp("census")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let repo = home.mirrorPath("m")
        try editedHistory(commits: 300).run(into: repo)
        let sizes = LFSPointer.minBlobSize..<LFSPointer.maxBlobSize
        func gitCandidates() throws -> Set<String> {
            let listing = try gitOutput(repo, ["cat-file", "--batch-all-objects", "--batch-check=%(objectname) %(objecttype) %(objectsize)"])
            return Set(listing.split(separator: "\n").compactMap { line -> String? in
                let f = line.split(separator: " ")
                guard f.count == 3, f[1] == "blob", let size = Int(f[2]), sizes.contains(size) else { return nil }
                return String(f[0])
            })
        }
        for (label, config) in [("offset deltas", "true"), ("ref deltas", "false")] {
            try FastImport().git(["-C", repo, "-c", "repack.useDeltaBaseOffset=\(config)", "repack", "-adfq", "--window=50"])
            let verify = try gitOutput(repo, ["verify-pack", "-v"] + [try FileManager.default.contentsOfDirectory(atPath: repo + "/objects/pack")
                .first { $0.hasSuffix(".idx") }.map { repo + "/objects/pack/" + $0 }!])
            let deltas = verify.split(separator: "\n").filter { $0.split(separator: " ").count >= 7 }.count
            #expect(deltas > 500, "\(label): the pack should hold deltas (\(deltas))")
            let found = try #require(PointerCandidates.find(objectsDirectory: repo + "/objects", sizes: sizes))
            let expected = try gitCandidates()
            #expect(!expected.isEmpty)
            #expect(Set(found.ids.map(\.hex)) == expected, "\(label)")
            #expect(found.commits == 300, "\(label)")
        }
        // A loose object is listed too (its header is read by the caller).
        let loose = try gitOutput(repo, ["hash-object", "-w", "--stdin"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let found = try #require(PointerCandidates.find(objectsDirectory: repo + "/objects", sizes: sizes))
        #expect(found.ids.contains { $0.hex == loose })
        // Alternates: the census can't see that database, so it declines.
        try "/nonexistent/objects\n".write(toFile: repo + "/objects/info/alternates", atomically: true, encoding: .utf8)
        #expect(PointerCandidates.find(objectsDirectory: repo + "/objects", sizes: sizes) == nil)
    }

    @Test("a first scan of history without pointers takes the census; an unreachable pointer makes it walk and find nothing")
    func censusFirstScan() throws {
        let (home, catalog, mirror, dir) = try setUp("census-scan")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let repo = home.mirrorPath("m")
        try editedHistory(commits: 200).run(into: repo)
        try FastImport().git(["-C", repo, "repack", "-adq"])
        let lfs = LFSSync(home: home, catalog: catalog)
        let first = try lfs.discover(mirror: mirror)
        #expect(first.census && first.commitsScanned == 200 && first.pointersFound == 0 && first.objectsTotal == 0)
        #expect(try catalog.lfsScanTips(mirrorId: mirror.id!).count == 1, "the cursor is recorded, so the next scan is incremental")

        // A pointer that only an abandoned branch reached: still in the pack, but not reachable.
        let fi = FastImport()
        let tip = try gitOutput(repo, ["rev-parse", "main"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let stream = "commit refs/heads/gone\ncommitter T <t@example.org> 1800000000 +0000\ndata 4\ngone\nfrom \(tip)\nM 100644 inline w.bin\ndata \(Self.pointer(7).utf8.count)\n\(Self.pointer(7))\n"
        try stream.write(toFile: dir + "/gone.fi", atomically: false, encoding: .utf8)
        try fi.git(["-C", repo, "fast-import", "--quiet"], stdin: dir + "/gone.fi")
        try fi.git(["-C", repo, "update-ref", "-d", "refs/heads/gone"])
        try fi.git(["-C", repo, "repack", "-adq", "--keep-unreachable"])
        let full = try lfs.discover(mirror: mirror, full: true)
        #expect(!full.census, "a pointer in the database means the walk decides")
        #expect(full.commitsScanned == 200 && full.pointersFound == 0 && full.objectsTotal == 0)
    }
}

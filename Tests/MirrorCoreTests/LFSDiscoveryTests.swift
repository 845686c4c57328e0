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
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/git")
        p.arguments = args
        p.environment = ["GIT_CONFIG_NOSYSTEM": "1", "HOME": NSTemporaryDirectory(), "PATH": "/usr/bin:/bin"]
        if let stdin { p.standardInput = FileHandle(forReadingAtPath: stdin) }
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw LFSError.repository(path: args.joined(separator: " "), message: "git failed") }
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
}

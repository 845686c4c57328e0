import Crypto
import Foundation
import Testing
@testable import MirrorCore

/// A temp directory that removes itself.
private final class TempDir {
    let path: String
    init() throws {
        path = FileManager.default.temporaryDirectory.path + "/mdaudit-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    func write(_ rel: String, _ data: Data) throws {
        let full = path + "/" + rel
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try data.write(to: URL(fileURLWithPath: full))
    }
}

private func sha256(_ data: Data) -> String { LFSStore.hex(SHA256.hash(data: data)) }

private func git(_ args: [String], cwd: String) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/git")
    p.arguments = args
    p.currentDirectoryURL = URL(fileURLWithPath: cwd)
    p.environment = ["GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
                     "GIT_COMMITTER_EMAIL": "t@example.org", "GIT_CONFIG_NOSYSTEM": "1", "HOME": cwd]
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else { throw AuditError.io(path: cwd, message: "git \(args) failed") }
    return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
}

@Suite("audit: rates, hashing, pack indexes, the LFS tree, quarantine")
struct AuditUnitTests {
    @Test("--max-rate takes decimal and binary units, with or without B and /s, and refuses nonsense")
    func rates() throws {
        #expect(try AuditOptions.parseRate("200MB/s") == 200_000_000)
        #expect(try AuditOptions.parseRate("200M") == 200_000_000)
        #expect(try AuditOptions.parseRate("1.5GiB/s") == 1_610_612_736)
        #expect(try AuditOptions.parseRate("512KiB") == 524_288)
        #expect(try AuditOptions.parseRate("1048576") == 1_048_576)
        for bad in ["", "fast", "10", "200XB/s", "-5MB", "1.2.3MB", "iB"] {
            #expect(throws: AuditError.self) { try AuditOptions.parseRate(bad) }
        }
    }

    @Test("the token bucket holds many threads together to the rate")
    func tokenBucket() throws {
        let rate: Int64 = 4 << 20
        let bucket = TokenBucket(bytesPerSecond: rate, burst: 256 << 10)
        let started = Date()
        let group = DispatchGroup()
        for _ in 0..<4 {
            group.enter()
            Thread {
                for _ in 0..<8 { _ = bucket.take(256 << 10, isCancelled: { false }) }
                group.leave()
            }.start()
        }
        group.wait()
        // 8 MiB at 4 MiB/s from an empty bucket (no burst at the start): at least ~2 s.
        let elapsed = Date().timeIntervalSince(started)
        #expect(elapsed > 1.9 && elapsed < 4, "took \(elapsed) s")
        // A new bucket is empty: its first read waits for tokens, and gives up as soon as the audit is cancelled.
        let slow = TokenBucket(bytesPerSecond: 65536, burst: 65536)
        #expect(!slow.take(65536, isCancelled: { true }))
        #expect(!slow.take(65536, isCancelled: { true }))
    }

    @Test("file hashing reads the whole file and matches SHA-256; CRC-32 matches zlib's check value")
    func hashing() throws {
        let dir = try TempDir()
        let data = Data((0..<(9 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2654435761) })
        try dir.write("f", data)
        let fd = open(dir.path + "/f", O_RDONLY)
        defer { close(fd) }
        var seen: Int64 = 0
        let result = FileHasher(chunk: 1 << 20, bucket: nil, isCancelled: { false }).hash(fd: fd, sizeHint: Int64(data.count)) { seen += $0 }
        #expect(try result.get() == FileHash(sha256: sha256(data), size: Int64(data.count)))
        #expect(seen == Int64(data.count))
        let check = Array("123456789".utf8).withUnsafeBytes { CRC32.update(0, $0) }
        #expect(check == 0xCBF4_3926)
    }

    @Test("a pack index parses to the objects, offsets and CRCs git itself lists")
    func packIndex() throws {
        let dir = try TempDir()
        _ = try git(["init", "-q", "--bare", "r.git"], cwd: dir.path)
        let repo = dir.path + "/r.git"
        var ids: [String] = []
        for i in 0..<20 {
            try dir.write("in\(i)", Data("object \(i)\n".utf8))
            ids.append(try git(["hash-object", "-w", dir.path + "/in\(i)"], cwd: repo))
        }
        try dir.write("list", Data((ids.joined(separator: "\n") + "\n").utf8))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/git")
        p.arguments = ["pack-objects", "-q", repo + "/objects/pack/pack"]
        p.currentDirectoryURL = URL(fileURLWithPath: repo)
        p.standardInput = FileHandle(forReadingAtPath: dir.path + "/list")
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        let idx = try #require(SafeFS.directoryEntries(repo + "/objects/pack").first { $0.hasSuffix(".idx") })
        let index = try PackIndex.load(path: repo + "/objects/pack/" + idx)
        #expect(index.version == 2 && index.selfChecksumOK)
        let listed = try git(["show-index"], cwd: repo, stdinFile: repo + "/objects/pack/" + idx)
        var expected: [String: (Int64, UInt32)] = [:]
        for line in listed.split(separator: "\n") {
            let f = line.split(separator: " ")
            expected[String(f[1])] = (Int64(f[0])!, UInt32(f[2].dropFirst().dropLast(), radix: 16)!)
        }
        #expect(index.oids.count == 20)
        for (i, oid) in index.oids.enumerated() {
            #expect(expected[oid.hex]?.0 == index.offsets[i] && expected[oid.hex]?.1 == index.crcs[i])
        }
        #expect(Set(index.oids.map(\.hex)) == Set(ids))
    }

    @Test("the LFS tree walk sorts placed objects from strays, symlinks, special files and blockers, never following a link")
    func lfsTree() throws {
        let dir = try TempDir()
        let repo = dir.path + "/m.git"
        let good = Data("good object".utf8)
        let oid = sha256(good)
        try dir.write("m.git/lfs/objects/\(oid.prefix(2))/\(oid.dropFirst(2).prefix(2))/\(oid)", good)
        let misplaced = String(repeating: "ab", count: 32)
        try dir.write("m.git/lfs/objects/cd/ef/\(misplaced)", Data("x".utf8))
        try dir.write("m.git/lfs/objects/notes.txt", Data("hello".utf8))
        try dir.write("outside/secret", Data("secret".utf8))
        try FileManager.default.createDirectory(atPath: repo + "/lfs/objects/12/34", withIntermediateDirectories: true)
        let linked = "1234" + String(repeating: "0", count: 60)
        #expect(symlink(dir.path + "/outside/secret", repo + "/lfs/objects/12/34/" + linked) == 0)
        #expect(symlink(dir.path + "/outside", repo + "/lfs/objects/ee") == 0)
        #expect(mkfifo(repo + "/lfs/objects/12/34/fifo", 0o600) == 0)

        let tree = LFSTree(mirrorPath: repo)
        #expect(tree.read())
        #expect(tree.placed[oid]?.kind == .regular && tree.placed[oid]?.size == Int64(good.count))
        #expect(tree.placed[linked]?.kind == .symlink)
        let strays = Dictionary(uniqueKeysWithValues: tree.strays.map { ($0.path, $0) })
        #expect(strays["lfs/objects/cd/ef/\(misplaced)"]?.verdict == .foreign)
        #expect(strays["lfs/objects/notes.txt"]?.verdict == .foreign)
        #expect(strays["lfs/objects/ee"]?.verdict == .symlink)
        #expect(strays["lfs/objects/12/34/fifo"]?.verdict == .special)
        #expect(tree.blocker(of: LFSOID("ee" + String(repeating: "1", count: 62))!)?.path == "lfs/objects/ee")
        // Opening goes through no link: the symlinked object is refused, the real one opens.
        #expect(tree.openObject(LFSOID(linked)!) == -1)
        let fd = tree.openObject(LFSOID(oid)!)
        #expect(fd >= 0)
        close(fd)
    }

    @Test("a quarantine move keeps the item with its note; recovery finishes a move a crash interrupted and drops one that never happened")
    func quarantineCrashSafety() throws {
        let dir = try TempDir()
        let home = try Home(path: dir.path + "/home")
        let q = Quarantine(home: home, mirror: "owner/repo", auditId: 7, actor: "alice", started: Date(timeIntervalSince1970: 1_800_000_000))
        try FileManager.default.createDirectory(atPath: home.root + "/src", withIntermediateDirectories: true)
        try Data("bad".utf8).write(to: URL(fileURLWithPath: home.root + "/src/a"))
        try Data("bad too".utf8).write(to: URL(fileURLWithPath: home.root + "/src/b"))
        let moved = try q.move(home.root + "/src/a", to: "lfs/a", facts: [("expected-oid", "x")])
        #expect(moved == "quarantine/2027-01-15/owner%2Frepo/lfs/a")
        #expect(!FileManager.default.fileExists(atPath: home.root + "/src/a"))
        let note = try String(contentsOfFile: home.root + "/" + moved + ".note", encoding: .utf8)
        #expect(note.contains("expected-oid: x") && note.contains("audit: #7") && note.contains("actor: alice"))
        // Same name again: a second copy, never replacing the first.
        try Data("bad again".utf8).write(to: URL(fileURLWithPath: home.root + "/src/a"))
        #expect(try q.move(home.root + "/src/a", to: "lfs/a", facts: []) == moved + ".2")

        // A crash after the item moved but before its note was finished, and one before the item moved.
        let qdir = home.root + "/" + (moved as NSString).deletingLastPathComponent
        #expect(rename(home.root + "/src/b", qdir + "/b") == 0)
        try "pending".write(toFile: qdir + "/b.note.pending", atomically: true, encoding: .utf8)
        try "pending".write(toFile: qdir + "/c.note.pending", atomically: true, encoding: .utf8)
        // And one killed while its pending note was being written (the temporary is all there is).
        try "pend".write(toFile: qdir + "/d.note.pending.tmp-4242", atomically: false, encoding: .utf8)
        #expect(Quarantine.recover(home: home, mirror: "owner/repo") == 3)
        #expect(!FileManager.default.fileExists(atPath: qdir + "/d.note.pending.tmp-4242"))
        #expect(FileManager.default.fileExists(atPath: qdir + "/b.note"))
        #expect(!FileManager.default.fileExists(atPath: qdir + "/b.note.pending"))
        #expect(!FileManager.default.fileExists(atPath: qdir + "/c.note.pending"))
        #expect(FileManager.default.fileExists(atPath: qdir + "/b"))

        // A move within a tree never goes through a symlink, even one planted after the tree was read.
        let tree = home.root + "/tree"
        try FileManager.default.createDirectory(atPath: tree + "/ab", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: home.root + "/elsewhere/cd", withIntermediateDirectories: true)
        try Data("outside".utf8).write(to: URL(fileURLWithPath: home.root + "/elsewhere/cd/x"))
        #expect(symlink(home.root + "/elsewhere", tree + "/ab/link") == 0)
        #expect(throws: AuditError.self) { try q.move(tree + "/ab/link/cd/x", to: "lfs/x", within: tree, facts: []) }
        #expect(FileManager.default.fileExists(atPath: home.root + "/elsewhere/cd/x"), "nothing outside the tree moved")
        try Data("inside".utf8).write(to: URL(fileURLWithPath: tree + "/ab/y"))
        #expect(try q.move(tree + "/ab/y", to: "lfs/y", within: tree, facts: []).hasSuffix("/lfs/y"))
    }

    @Test("recovery after a git repair killed at each step leaves the mirror with a complete object store")
    func gitRepairRecovery() throws {
        let dir = try TempDir()
        let home = try Home(path: dir.path + "/home")
        let q = Quarantine(home: home, mirror: "m", auditId: 3, actor: "t", started: Date())
        let objects = home.mirrorPath("m") + "/objects"
        let work = GitRepair.workDirectory(home, "m")
        func reset() throws {
            try? FileManager.default.removeItem(atPath: home.mirrorPath("m"))
            try? FileManager.default.removeItem(atPath: work)
            try FileManager.default.createDirectory(atPath: objects + "/pack", withIntermediateDirectories: true)
            try Data("old".utf8).write(to: URL(fileURLWithPath: objects + "/pack/old.pack"))
            try FileManager.default.createDirectory(atPath: work + "/repo.git/objects/pack", withIntermediateDirectories: true)
            try Data("new".utf8).write(to: URL(fileURLWithPath: work + "/repo.git/objects/pack/new.pack"))
            try Data("m".utf8).write(to: URL(fileURLWithPath: work + "/repo.git/objects/" + GitRepair.marker))
        }
        // Killed before the swap: the temporary clone is dropped, the mirror is untouched.
        try reset()
        #expect(GitRepair.recover(home: home, mirror: "m", quarantine: q) != nil)
        #expect(FileManager.default.fileExists(atPath: objects + "/pack/old.pack"))
        #expect(!FileManager.default.fileExists(atPath: work))
        // Killed right after the exchange: the new store stays, the old one goes to quarantine.
        try reset()
        #expect(SafeFS.exchange(work + "/repo.git/objects", objects) == true)
        #expect(GitRepair.recover(home: home, mirror: "m", quarantine: q) != nil)
        #expect(FileManager.default.fileExists(atPath: objects + "/pack/new.pack"))
        #expect(!FileManager.default.fileExists(atPath: objects + "/" + GitRepair.marker))
        #expect(FileManager.default.fileExists(atPath: q.directory + "/git/objects-before-repair/pack/old.pack"))
        // Killed between the two renames of the fallback: the new store is moved in, the old one quarantined.
        try reset()
        #expect(rename(objects, work + "/objects.old") == 0)
        #expect(GitRepair.recover(home: home, mirror: "m", quarantine: q) != nil)
        #expect(FileManager.default.fileExists(atPath: objects + "/pack/new.pack"))
        #expect(FileManager.default.fileExists(atPath: q.directory + "/git/objects-before-repair.2/pack/old.pack"))
    }

    @Test("a finished audit records its run, findings and the mirror's last audit, and restores the status")
    func catalogRecords() throws {
        let dir = try TempDir()
        let catalog = try Catalog(path: dir.path + "/catalog.sqlite")
        let mirror = try catalog.addMirror(Mirror(name: "m", upstream: "https://example.org/m.git"), actor: .local)
        var run = try catalog.beginAudit(mirror: mirror, jobId: nil, trigger: .manual, actor: Actor(user: "bob", source: "10.1.2.3"),
                                         options: AuditOptions(repair: true), threads: 4)
        #expect(try catalog.summary(named: "m").state.status == .verifying)
        // A run left open by a dead process is closed by the next one.
        let second = try catalog.beginAudit(mirror: mirror, jobId: nil, trigger: .manual, actor: .local, options: AuditOptions(), threads: 1)
        #expect(try catalog.auditRuns(mirrorId: mirror.id!).first { $0.id == run.id }?.result == .interrupted)
        run = second
        run.result = .problems
        run.lfsObjectsChecked = 3
        run.counts = #"{"lfs":{"corrupt":1,"ok":2}}"#
        let finding = AuditFinding(area: .lfs, verdict: .corrupt, subject: String(repeating: "a", count: 64), size: 5, detail: "bad", action: .quarantined)
        let (finished, state) = try catalog.finishAudit(run, mirror: mirror, findings: [finding], actor: .local)
        #expect(finished.endedAt != nil && finished.durationMs != nil)
        #expect(state.lastAuditResult == "problems" && state.lastAuditAt != nil)
        #expect(state.status == .idle)
        #expect(try catalog.auditFindings(auditId: finished.id!) .map(\.verdict) == [.corrupt])
        #expect(finished.verdictCounts["lfs"]?["corrupt"] == 1)
        let shape = JSONShapes.mirror(try catalog.summary(named: "m"))
        #expect(shape["last_audit_result"] as? String == "problems")
        #expect(try catalog.events(mirror: "m").first?.action == "verify")
        let job = try #require(try catalog.enqueue([mirror], kind: .verify, trigger: .manual, actor: .local).first)
        #expect(try catalog.auditRequest(jobId: job.id!) == nil)
        let options = AuditOptions(repair: true, threads: 2, maxRate: 1 << 20, sinceSeconds: 60)
        try catalog.setAuditRequest(jobId: job.id!, options)
        #expect(try catalog.auditRequest(jobId: job.id!) == options)
    }
}

private func git(_ args: [String], cwd: String, stdinFile: String) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/git")
    p.arguments = args
    p.currentDirectoryURL = URL(fileURLWithPath: cwd)
    p.standardInput = FileHandle(forReadingAtPath: stdinFile)
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}

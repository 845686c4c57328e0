import Foundation
import Testing

/// A mirror built for audits: LFS objects from giftless, a packed history (the first sync) and a loose one
/// (the second sync's pack unpacked into loose objects, as git keeps small fetches).
private struct AuditFixture {
    let env: TestEnv
    let server: LFSServer
    let up: LFSUpstream
    let name = "model"
    /// The LFS objects, in the order they were added: oid → content.
    let objects: [(oid: String, data: Data)]
    /// The pack of the first sync, and a blob stored in it.
    let pack: String
    let packedBlob: String
    /// A blob stored as a loose object (from the second sync).
    let looseBlob: String

    var mirror: String { env.mirrorPath(name) }

    func objectPath(_ oid: String) -> String { mirror + "/lfs/objects/\(oid.prefix(2))/\(oid.dropFirst(2).prefix(2))/\(oid)" }
    func oid(_ i: Int) -> String { objects[i].oid }

    static func make(_ label: String, lfsObjects: Int = 8) throws -> AuditFixture {
        let env = try TestEnv(label)
        let server = try LFSServer.start(env: env)
        let up = try LFSUpstream(env: env, servedRoot: server.gitRoot, name: "model", lfsURL: server.endpoint("model"))
        var objects: [(String, Data)] = []
        for i in 0..<lfsObjects {
            let data = LFSUpstream.random(40_000 + i * 3_000)
            objects.append((try up.add("weights/w\(i).bin", data), data))
        }
        try up.addText("NOTES.md", text(seed: 1, lines: 200))
        try up.commit("weights and notes")
        try up.push(["--all"])
        try env.md("add", "model", server.url("model"))
        let sync = try env.md("sync", "model", "--no-lfs")
        guard sync.status == 0 else { throw TestFailure.message("sync failed: \(sync)") }
        let fetch = try env.lfs("fetch", "model")
        guard fetch.status == 0 else { throw TestFailure.message("lfs fetch failed: \(fetch)") }
        let mirror = env.mirrorPath("model")
        let packDir = mirror + "/objects/pack"
        let firstPacks = Set(try FileManager.default.contentsOfDirectory(atPath: packDir).filter { $0.hasSuffix(".pack") })
        guard firstPacks.count == 1, let pack = firstPacks.first else { throw TestFailure.message("expected one pack: \(firstPacks)") }
        let packedBlob = try Shell.git(["rev-parse", "main:NOTES.md"], cwd: mirror)

        // More history upstream; the mirror's second pack becomes loose objects.
        try up.addText("CHANGELOG.md", text(seed: 2, lines: 120))
        try up.commit("changelog")
        try up.push(["main"])
        guard try env.md("sync", "model", "--no-lfs").status == 0 else { throw TestFailure.message("second sync failed") }
        let second = try FileManager.default.contentsOfDirectory(atPath: packDir).filter { $0.hasSuffix(".pack") && !firstPacks.contains($0) }
        guard second.count == 1 else { throw TestFailure.message("expected a second pack: \(second)") }
        let aside = env.path("aside")
        try FileManager.default.createDirectory(atPath: aside, withIntermediateDirectories: true)
        let base = String(second[0].dropLast(5))
        for ext in [".pack", ".idx"] { try FileManager.default.moveItem(atPath: packDir + "/" + base + ext, toPath: aside + "/" + base + ext) }
        let unpack = try Shell.run("/bin/sh", ["-c", "git unpack-objects -q < \(aside)/\(base).pack"], cwd: mirror)
        guard unpack.status == 0 else { throw TestFailure.message("unpack-objects failed: \(unpack)") }
        let looseBlob = try Shell.git(["rev-parse", "main:CHANGELOG.md"], cwd: mirror)
        guard FileManager.default.fileExists(atPath: mirror + "/objects/\(looseBlob.prefix(2))/\(looseBlob.dropFirst(2))") else {
            throw TestFailure.message("the changelog blob is not loose")
        }
        return AuditFixture(env: env, server: server, up: up, objects: objects.map { (oid: $0.0, data: $0.1) },
                            pack: pack, packedBlob: packedBlob, looseBlob: looseBlob)
    }

    /// Text that compresses, but not to nothing: numbered lines with varying words.
    static func text(seed: Int, lines: Int) -> String {
        let words = ["mirror", "object", "audit", "pack", "delta", "blob", "tree", "commit", "quarantine", "upstream", "hash", "verify"]
        return (0..<lines).map { i in
            "\(seed)-\(i): " + (0..<8).map { words[($0 * 7 + i * 13 + seed) % words.count] + "\(($0 + i) % 97)" }.joined(separator: " ")
        }.joined(separator: "\n") + "\n"
    }

    /// `verify NAME ARGS --json`, parsed: (exit status, the mirror's report).
    func verify(_ args: String...) throws -> (Int32, [String: Any]) {
        let r = try env.mdArgs(["verify", name, "--json"] + args)
        guard let reports = try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]], let first = reports.first else {
            throw TestFailure.message("no JSON report: \(r)")
        }
        return (r.status, first)
    }

    /// `git fsck --full` in the mirror: (exit status, stdout + stderr).
    func fsck() throws -> (Int32, String) {
        let r = try Shell.run("/usr/bin/git", ["fsck", "--full", "--no-progress"], cwd: mirror, environment: ["GIT_CONFIG_NOSYSTEM": "1"])
        return (r.status, r.stdout + r.stderr)
    }

    /// Flips one byte of a file in place.
    static func flip(_ path: String, at offset: Int) throws {
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64(offset))
        let byte = try handle.read(upToCount: 1)![0]
        try handle.seek(toOffset: UInt64(offset))
        try handle.write(contentsOf: Data([byte ^ 0x5a]))
    }

    /// Flips a byte in the middle of `blob`'s packed bytes in the first pack.
    func flipInPack(_ blob: String) throws {
        let idx = mirror + "/objects/pack/" + pack.dropLast(5) + ".idx"
        let listing = try Shell.run("/bin/sh", ["-c", "git show-index < '\(idx)'"], cwd: mirror)
        let entries = listing.stdout.split(separator: "\n").map { $0.split(separator: " ") }.map { (Int($0[0])!, String($0[1])) }.sorted { $0.0 < $1.0 }
        let i = try #require(entries.firstIndex { $0.1 == blob })
        let size = (try FileManager.default.attributesOfItem(atPath: mirror + "/objects/pack/" + pack)[.size] as! Int)
        let end = i + 1 < entries.count ? entries[i + 1].0 : size - 20
        chmod(mirror + "/objects/pack/" + pack, 0o644)
        try Self.flip(mirror + "/objects/pack/" + pack, at: (entries[i].0 + end) / 2)
    }

    /// A quarantine note as key → value.
    static func note(_ path: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            out[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return out
    }

    /// Which content hashes gained or lost copies between two `contents()` counts, for a failure message.
    static func difference(_ before: [String: Int], _ after: [String: Int]) -> String {
        let keys = Set(before.keys).union(after.keys).filter { before[$0] != after[$0] }.sorted()
        return keys.map { "\($0.prefix(12)): \(before[$0] ?? 0) → \(after[$0] ?? 0)" }.joined(separator: ", ")
    }
}

private func findings(_ report: [String: Any]) -> [[String: Any]] { report["findings"] as? [[String: Any]] ?? [] }

private func finding(_ report: [String: Any], _ subject: String) -> [String: Any]? {
    findings(report).first { $0["subject"] as? String == subject }
}

/// A mirror `name` of a local upstream (one bare repository holding its LFS objects too, so `lfs fetch`
/// copies them over file://), with `objects` random objects of `size` bytes; returns their oids.
private func localLFSMirror(_ env: TestEnv, name: String, objects: Int, size: Int) throws -> [String] {
    let bare = env.path("\(name)-up.git")
    let work = env.path("\(name)-work")
    let gitEnv = ["HOME": env.path("git-home"), "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
                  "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"]
    func git(_ args: [String], _ cwd: String) throws {
        let r = try Shell.run("/usr/bin/git", args, cwd: cwd, environment: gitEnv)
        guard r.status == 0 else { throw TestFailure.message("git \(args) failed: \(r)") }
    }
    try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
    try FileManager.default.createDirectory(atPath: env.path("git-home"), withIntermediateDirectories: true)
    try git(["init", "-q", "-b", "main", work], env.root)
    try git(["lfs", "install", "--local"], work)
    try git(["lfs", "track", "*.bin"], work)
    var oids: [String] = []
    for i in 0..<objects {
        let path = work + "/o\(i).bin"
        try LFSUpstream.random(size).write(to: URL(fileURLWithPath: path))
        oids.append(try LFSUpstream.sha256(file: path))
    }
    try git(["add", "."], work)
    try git(["commit", "-q", "-m", "objects"], work)
    try git(["init", "-q", "--bare", "-b", "main", bare], env.root)
    try git(["push", "-q", "--no-verify", bare, "main"], work)
    try FileManager.default.createDirectory(atPath: bare + "/lfs", withIntermediateDirectories: true)
    try FileManager.default.copyItem(atPath: work + "/.git/lfs/objects", toPath: bare + "/lfs/objects")
    try env.md("add", name, bare)
    guard try env.md("sync", name).status == 0, try env.lfs("fetch", name).status == 0 else {
        throw TestFailure.message("could not mirror \(name)")
    }
    return oids
}

@Suite("checksum audits: verify, quarantine, repair")
struct AuditTests {
    @Test("each injected corruption gets its verdict; git verdicts agree with git fsck --full, LFS verdicts with sha256sum")
    func detectsEveryCorruption() throws {
        let f = try AuditFixture.make("audit-detect")
        let clean = try f.verify()
        #expect(clean.0 == 0 && clean.1["result"] as? String == "clean", "\(clean.1)")
        #expect(try f.fsck().0 == 0, "git fsck agrees the mirror is clean")
        let audit = try #require(clean.1["audit"] as? [String: Any])
        #expect((audit["lfs"] as? [String: Any])?["objects_checked"] as? Int == f.objects.count)
        #expect(((audit["git"] as? [String: Any])?["objects_checked"] as? Int ?? 0) > 10)

        // LFS: flipped byte, truncated, too long, missing, a symlink in an object's place, a stray file, a stray symlink.
        try AuditFixture.flip(f.objectPath(f.oid(0)), at: 17_000)
        #expect(truncate(f.objectPath(f.oid(1)), 1000) == 0)
        let grown = try FileHandle(forWritingTo: URL(fileURLWithPath: f.objectPath(f.oid(2))))
        try grown.seekToEnd()
        try grown.write(contentsOf: Data("trailing junk".utf8))
        try grown.close()
        try FileManager.default.removeItem(atPath: f.objectPath(f.oid(3)))
        let outside = f.env.path("outside-secret")
        try Data("not an object".utf8).write(to: URL(fileURLWithPath: outside))
        try FileManager.default.removeItem(atPath: f.objectPath(f.oid(4)))
        #expect(symlink(outside, f.objectPath(f.oid(4))) == 0)
        try Data("left here by hand\n".utf8).write(to: URL(fileURLWithPath: f.mirror + "/lfs/objects/notes.txt"))
        let strayOID = "ab12" + String(repeating: "3", count: 60)
        try FileManager.default.createDirectory(atPath: f.mirror + "/lfs/objects/ab/12", withIntermediateDirectories: true)
        #expect(symlink("/etc/passwd", f.mirror + "/lfs/objects/ab/12/" + strayOID) == 0)
        // git: a flipped byte inside the pack, a corrupt loose object, a ref to a commit that does not exist.
        try f.flipInPack(f.packedBlob)
        let loosePath = f.mirror + "/objects/\(f.looseBlob.prefix(2))/\(f.looseBlob.dropFirst(2))"
        chmod(loosePath, 0o644)
        try AuditFixture.flip(loosePath, at: 40)
        let ghost = "0123456789abcdef0123456789abcdef01234567"
        try (ghost + "\n").write(toFile: f.mirror + "/refs/heads/ghost", atomically: true, encoding: .utf8)

        let (fsckStatus, fsckText) = try f.fsck()
        #expect(fsckStatus != 0)
        let before = LFSUpstream.objects(in: f.mirror)
        let (status, report) = try f.verify()
        #expect(status == 1)
        #expect(report["result"] as? String == "problems")

        func verdict(_ subject: String) -> String? { finding(report, subject)?["verdict"] as? String }
        #expect(verdict(f.oid(0)) == "corrupt")
        #expect(verdict(f.oid(1)) == "truncated")
        #expect(verdict(f.oid(2)) == "wrong-size")
        #expect(verdict(f.oid(3)) == "missing")
        #expect(verdict(f.oid(4)) == "symlink")
        #expect(verdict("lfs/objects/notes.txt") == "foreign")
        #expect(verdict("lfs/objects/ab/12/" + strayOID) == "symlink")
        #expect((finding(report, "lfs/objects/ab/12/" + strayOID)?["detail"] as? String ?? "").contains("/etc/passwd"))
        for i in 5..<f.objects.count { #expect(finding(report, f.oid(i)) == nil, "untouched objects verify ok") }
        let counts = try #require((report["audit"] as? [String: Any])?["counts"] as? [String: [String: Int]])
        #expect(counts["lfs"]?["ok"] == f.objects.count - 5)
        #expect(verdict(f.pack) == "bad-pack")
        #expect(verdict(f.packedBlob) == "corrupt-object")
        #expect(verdict(f.looseBlob) == "corrupt-object")
        #expect(verdict("refs/heads/ghost") == "broken-ref")
        #expect(findings(report).filter { ($0["area"] as? String) == "git" }.count == 4, "\(findings(report))")

        // git fsck --full names the same pack, objects and ref.
        #expect(fsckText.contains(f.pack) && fsckText.contains("pack checksum mismatch"), "\(fsckText)")
        #expect(fsckText.contains("CRC mismatch for object \(f.packedBlob)"), "\(fsckText)")
        #expect(fsckText.contains(f.looseBlob), "\(fsckText)")
        #expect(fsckText.contains("refs/heads/ghost: invalid sha1 pointer \(ghost)"), "\(fsckText)")

        // Bad LFS copies are in quarantine with notes whose hashes are what sha256sum says; nothing serves them.
        for i in 0..<3 {
            let q = try #require(finding(report, f.oid(i))?["quarantine_path"] as? String)
            #expect(finding(report, f.oid(i))?["action"] as? String == "quarantined")
            let copy = f.env.home + "/" + q
            let note = try AuditFixture.note(copy + ".note")
            let truth = try LFSUpstream.sha256(file: copy)
            #expect(note["actual-sha256"] == truth && truth != f.oid(i))
            #expect(note["expected-oid"] == f.oid(i) && note["audit"] == "#\((report["audit"] as? [String: Any])?["id"] as? Int ?? 0)")
            #expect(note["expected-size"] == "\(f.objects[i].data.count)")
            #expect(!FileManager.default.fileExists(atPath: f.objectPath(f.oid(i))))
        }
        let link = try #require(finding(report, f.oid(4))?["quarantine_path"] as? String)
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: f.env.home + "/" + link)) == outside, "the link itself moved, not its target")
        #expect(FileManager.default.fileExists(atPath: outside))
        for i in 5..<f.objects.count { #expect(try LFSUpstream.sha256(file: f.objectPath(f.oid(i))) == f.oid(i)) }
        // Strays are only reported without --repair; every other file is where it was.
        let after = LFSUpstream.objects(in: f.mirror)
        #expect(after.keys.contains("notes.txt"))
        let rel = { (oid: String) in "\(oid.prefix(2))/\(oid.dropFirst(2).prefix(2))/\(oid)" }
        #expect(Set(before.keys).subtracting(after.keys) == Set([0, 1, 2, 4].map { rel(f.oid($0)) }),
                "only the bad objects (and the symlink in an object's place) left lfs/objects")

        let rows = try f.env.sql("SELECT oid, state, verdict FROM lfs_object ORDER BY oid")
        let byOID = Dictionary(uniqueKeysWithValues: rows.map { ($0[0], ($0[1], $0[2])) })
        #expect(byOID[f.oid(0)]?.0 == "missing" && byOID[f.oid(0)]?.1 == "corrupt", "quarantined objects are marked missing")
        #expect(byOID[f.oid(5)]?.0 == "present" && byOID[f.oid(5)]?.1 == "ok")
        #expect(try f.env.sql("SELECT COUNT(*) FROM lfs_object WHERE verified_at IS NULL") == [["0"]])
        let show = try f.env.json(f.env.md("show", "model", "--json")) as! [String: Any]
        #expect(show["last_audit_result"] as? String == "problems")
        #expect((show["last_audit_age_seconds"] as? Int ?? 999) < 60)
        #expect(show["lfs_objects_present"] as? Int == f.objects.count - 5)
    }

    @Test("--repair heals LFS corruptions from giftless and a corrupt pack from upstream; the mirror then verifies clean; quarantine keeps the bad copies with notes")
    func repairHeals() throws {
        let f = try AuditFixture.make("audit-repair")
        try AuditFixture.flip(f.objectPath(f.oid(0)), at: 5)
        #expect(truncate(f.objectPath(f.oid(1)), 10) == 0)
        try FileManager.default.removeItem(atPath: f.objectPath(f.oid(3)))
        try FileManager.default.removeItem(atPath: f.objectPath(f.oid(4)))
        #expect(symlink(f.env.path("nowhere"), f.objectPath(f.oid(4))) == 0)
        try Data("stray\n".utf8).write(to: URL(fileURLWithPath: f.mirror + "/lfs/objects/stray.txt"))
        try f.flipInPack(f.packedBlob)
        let refs = try Upstream.refs(of: f.mirror)

        let (status, report) = try f.verify("--repair")
        #expect(status == 0, "\(report)")
        #expect(report["result"] as? String == "repaired")
        for i in [0, 1, 3, 4] {
            #expect(finding(report, f.oid(i))?["action"] as? String == "repaired")
            #expect(try LFSUpstream.sha256(file: f.objectPath(f.oid(i))) == f.oid(i), "object \(i) is good again")
        }
        #expect(finding(report, "lfs/objects/stray.txt")?["action"] as? String == "quarantined")
        #expect(finding(report, f.packedBlob)?["action"] as? String == "repaired")
        try eventually(timeout: 10, "giftless's nginx logs the second download") { f.server.downloads(of: f.oid(0)).count == 2 }

        let again = try f.verify()
        #expect(again.0 == 0 && again.1["result"] as? String == "clean", "\(again.1)")
        #expect(try f.fsck().0 == 0, "git fsck agrees")
        #expect(try Upstream.refs(of: f.mirror) == refs, "refs untouched")

        let day = String(ISO8601DateFormatter().string(from: Date()).prefix(10))
        let q = f.env.home + "/quarantine/\(day)/model"
        for i in [0, 1] {
            let note = try AuditFixture.note(q + "/lfs/\(f.oid(i)).note")
            #expect(note["actual-sha256"] == (try LFSUpstream.sha256(file: q + "/lfs/\(f.oid(i))")))
            #expect(note["expected-oid"] == f.oid(i) && note["quarantined-at"] != nil && note["audit"] != nil)
        }
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: q + "/lfs/\(f.oid(4))")) == f.env.path("nowhere"))
        #expect(FileManager.default.fileExists(atPath: q + "/stray/lfs/objects/stray.txt.note"))
        let old = q + "/git/objects-before-repair"
        #expect(FileManager.default.fileExists(atPath: old + "/pack/" + f.pack), "the corrupt pack is kept in quarantine")
        #expect(try AuditFixture.note(old + ".note")["recovered-objects"]?.contains(f.packedBlob) == true)
        #expect(!FileManager.default.fileExists(atPath: f.env.home + "/audit-work/model"), "no temporary clone is left")

        // --since skips what was just verified: every LFS object and every pack.
        let (_, since) = try f.verify("--since", "1h")
        let audit = try #require(since["audit"] as? [String: Any])
        #expect((audit["lfs"] as? [String: Any])?["objects_skipped"] as? Int == f.objects.count)
        #expect((audit["lfs"] as? [String: Any])?["objects_checked"] as? Int == 0)
        #expect(((audit["git"] as? [String: Any])?["packs_skipped"] as? Int ?? 0) >= 1)
        #expect(since["result"] as? String == "clean")
    }

    @Test("SIGKILL midway through an audit: nothing is lost or half-moved, and the next audit completes")
    func killMidway() throws {
        let env = try TestEnv("audit-kill")
        let oids = try localLFSMirror(env, name: "big", objects: 24, size: 2 << 20)
        let mirror = env.mirrorPath("big")
        func path(_ oid: String) -> String { mirror + "/lfs/objects/\(oid.prefix(2))/\(oid.dropFirst(2).prefix(2))/\(oid)" }
        let bad = Set(oids.prefix(4))
        for oid in bad { try AuditFixture.flip(path(oid), at: 1 << 20) }
        /// Every file's content hash under lfs/objects and quarantine (the union must never lose one).
        func contents() throws -> [String: Int] {
            var out: [String: Int] = [:]
            for root in [mirror + "/lfs/objects", env.home + "/quarantine"] {
                guard let walker = FileManager.default.enumerator(atPath: root) else { continue }
                // Notes, pending notes and a pending note killed while being written are not content.
                for case let rel as String in walker where !rel.hasSuffix(".note") && !rel.contains(".note.pending") {
                    var isDir: ObjCBool = false
                    if FileManager.default.fileExists(atPath: root + "/" + rel, isDirectory: &isDir), !isDir.boolValue {
                        out[try LFSUpstream.sha256(file: root + "/" + rel), default: 0] += 1
                    }
                }
            }
            return out
        }
        let original = try contents()
        #expect(original.values.reduce(0, +) == 24)

        // 48 MiB at 8 MB/s: about six seconds; killed once some of it is done.
        let first = try env.mdStart(["verify", "big", "--max-rate", "8MB/s", "--threads", "2"])
        try eventually(timeout: 30, "the audit to be part way") {
            let rows = try env.sql("SELECT bytes_done, bytes_total FROM job WHERE kind = 'verify' AND state = 'running'")
            guard let row = rows.first, let done = Int(row[0]), let total = Int(row[1]) else { return !first.isRunning }
            return done > 12 << 20 && done < total
        }
        first.kill(SIGKILL, group: true)
        #expect(first.wait().status == 128 + SIGKILL, "killed, not finished")
        let afterKill = try contents()
        #expect(afterKill == original, "nothing lost: every file is in the mirror or in quarantine: \(AuditFixture.difference(original, afterKill))")
        #expect(try env.sql("SELECT result FROM audit_run") == [["running"]])

        let second = try env.md("verify", "big", "--json")
        #expect(second.status == 1, "\(second)")
        let report = try #require((try JSONSerialization.jsonObject(with: Data(second.stdout.utf8)) as? [[String: Any]])?.first)
        #expect(report["result"] as? String == "problems")
        let audit = try #require(report["audit"] as? [String: Any])
        #expect(audit["max_rate"] is NSNull, "the second run's options, not the killed run's")
        let verdicts = Dictionary(uniqueKeysWithValues: findings(report).map { ($0["subject"] as! String, $0["verdict"] as! String) })
        for oid in bad { #expect(verdicts[oid] == "corrupt" || verdicts[oid] == "missing", "\(oid): \(verdicts[oid] ?? "none")") }
        #expect(Set(verdicts.keys) == bad, "only the corrupt objects are findings: \(verdicts)")
        #expect(try env.sql("SELECT result FROM audit_run ORDER BY id") == [["interrupted"], ["problems"]])
        let afterSecond = try contents()
        #expect(afterSecond == original, "still nothing lost: \(AuditFixture.difference(original, afterSecond))")
        var pending: [String] = []
        var quarantined: [String: Int] = [:]
        if let walker = FileManager.default.enumerator(atPath: env.home + "/quarantine") {
            for case let rel as String in walker {
                if rel.contains(".note.pending") { pending.append(rel) }
                if let oid = bad.first(where: { rel.hasSuffix("/" + $0) }) { quarantined[oid, default: 0] += 1 }
            }
        }
        #expect(pending.isEmpty, "no half-done move is left: \(pending)")
        #expect(quarantined == Dictionary(uniqueKeysWithValues: bad.map { ($0, 1) }), "each corrupt object is in quarantine once")
        for oid in oids where !bad.contains(oid) { #expect(try LFSUpstream.sha256(file: path(oid)) == oid) }
    }

    @Test("a verify job queued with --no-wait runs in the daemon with its options, reports progress, and repairs over file://")
    func daemonRunsQueuedAudit() throws {
        let env = try TestEnv("audit-daemon")
        let oids = try localLFSMirror(env, name: "data", objects: 6, size: 3 << 20)
        let object = env.mirrorPath("data") + "/lfs/objects/\(oids[2].prefix(2))/\(oids[2].dropFirst(2).prefix(2))/\(oids[2])"
        try AuditFixture.flip(object, at: 100)
        let queued = try env.md("verify", "data", "--repair", "--max-rate", "4MiB/s", "--no-wait")
        #expect(queued.status == 0, "\(queued)")
        let job = try #require(queued.stdout.split(separator: "#").last?.split(separator: " ").first.map(String.init))
        #expect(try env.sql("SELECT repair, max_rate FROM audit_request WHERE job_id = \(job)") == [["1", "\(4 << 20)"]])

        _ = try DaemonProcess.start(env: env)
        // 18 MiB at 4 MiB/s: the job row shows live progress with a rate well before the end.
        try eventually(timeout: 30, "progress with a rate on job \(job)") {
            let row = try env.sql("SELECT phase, bytes_done, bytes_total, rate FROM job WHERE id = \(job)").first ?? []
            return row.count == 4 && row[0] == "verifying-lfs" && (Int(row[1]) ?? 0) > 0 && (Double(row[3]) ?? 0) > 0
        }
        let rate = try #require(Double(try env.sql("SELECT rate FROM job WHERE id = \(job)").first?.first ?? ""))
        #expect(rate < Double(6 << 20), "the rate limit holds: \(rate) bytes/s")
        try eventually(timeout: 60, "job \(job) to finish") {
            try env.sql("SELECT state FROM job WHERE id = \(job)").first?.first == "succeeded"
        }
        #expect(try env.sql("SELECT result, repair, repaired FROM audit_run WHERE job_id = \(job)") == [["repaired", "1", "1"]])
        #expect(try LFSUpstream.sha256(file: object) == oids[2])
        let show = try env.json(env.md("show", "data", "--json")) as! [String: Any]
        #expect(show["last_audit_result"] as? String == "repaired")
        #expect(show["status"] as? String != "verifying")
    }
}

import Foundation
import Testing

@Suite("storage over time: disk budget")
struct StorageDiskTests {
    /// A bare upstream read directly from disk (a local upstream's `lfs/objects` is its LFS store), with one
    /// commit of pointers to `count` random objects of `size` bytes. Returns the oids.
    static func localLFSUpstream(env: TestEnv, count: Int, size: Int) throws -> (bare: String, oids: [String]) {
        let upstream = try Upstream(env: env, servedRoot: env.path("served"), name: "model", commits: 1)
        var oids: [String] = []
        for i in 0..<count {
            let data = LFSUpstream.random(size)
            let file = env.path("blob-\(i)")
            try data.write(to: URL(fileURLWithPath: file))
            let oid = try LFSUpstream.sha256(file: file)
            let dir = upstream.bare + "/lfs/objects/\(oid.prefix(2))/\(oid.dropFirst(2).prefix(2))"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try FileManager.default.moveItem(atPath: file, toPath: dir + "/" + oid)
            try upstream.commit("weights-\(i).bin", LFSUpstream.pointer(oid: oid, size: Int64(size)))
            oids.append(oid)
        }
        try upstream.push(["main"])
        return (upstream.bare, oids)
    }

    @Test("on a 64 MiB tmpfs home, a fetch that does not fit beside the reserve fails at once and fetches nothing; with room it completes")
    func budgetRefusesAFetchThatCannotFit() throws {
        guard getuid() == 0 else {
            Issue.record("this test mounts a tmpfs and needs root")
            return
        }
        let env = try TestEnv("disk")
        let (bare, oids) = try Self.localLFSUpstream(env: env, count: 3, size: 16 << 20)
        try env.mountTmpfs(at: env.home, size: "64m")

        try env.md("add", "model", bare)
        let synced = try env.md("sync", "model", "--no-lfs")
        #expect(synced.status == 0, "\(synced)")
        let refused = try env.md("lfs", "fetch", "model", "--disk-reserve", "50%")
        #expect(refused.status == 1, "\(refused)")
        let output = refused.stdout + refused.stderr
        #expect(output.contains("not enough disk space for the LFS fetch: needs 48.0 MiB, "), "\(output)")
        #expect(output.contains(" free (reserve 50 %)"), "\(output)")
        let store = env.mirrorPath("model") + "/lfs/objects"
        #expect(LFSUpstream.objects(in: env.mirrorPath("model")).isEmpty, "nothing was fetched")
        let parts = (try? FileManager.default.contentsOfDirectory(atPath: env.home + "/lfs-incomplete")) ?? []
        #expect(parts.filter { $0.hasSuffix(".part") }.isEmpty, "not even a partial download: \(parts)")
        #expect(try env.sql("PRAGMA integrity_check") == [["ok"]])
        let states = try env.sql("SELECT state, COUNT(*) FROM lfs_object GROUP BY state")
        #expect(states == [["missing", "3"]], "\(states)")
        let status = try env.sql("SELECT status, last_error FROM mirror_state")
        #expect(status.first?.first == "failed" && status.first?.last?.contains("needs 48.0 MiB") == true, "\(status)")
        #expect(try env.md("lfs", "fetch", "model", "--disk-reserve", "lots").status == 2)

        // With the reserve lowered the same fetch fits, and completes.
        let fetched = try env.md("lfs", "fetch", "model", "--disk-reserve", "0%")
        #expect(fetched.status == 0, "\(fetched)")
        for oid in oids {
            let path = store + "/\(oid.prefix(2))/\(oid.dropFirst(2).prefix(2))/\(oid)"
            #expect(try LFSUpstream.sha256(file: path) == oid)
        }
        #expect(try env.sql("PRAGMA integrity_check") == [["ok"]])
        #expect(try env.sql("SELECT state, COUNT(*) FROM lfs_object GROUP BY state") == [["present", "3"]])
    }
}

@Suite("storage over time: a disk that fills up mid-transfer")
struct StorageDiskFullTests {
    @Test("a tmpfs home that fills during an LFS download: 'no space left', the .part is kept, the catalog is sound, and the next fetch resumes from the .part")
    func fillDuringTransfer() throws {
        guard getuid() == 0 else {
            Issue.record("this test mounts a tmpfs and needs root")
            return
        }
        let env = try TestEnv("diskfull")
        let server = try LFSServer.start(env: env, limitRate: "6m") // 24 MiB take ~4 s
        let up = try LFSUpstream(env: env, servedRoot: server.gitRoot, name: "big", lfsURL: server.endpoint("big"))
        let size = 24 << 20
        let oid = try up.add("model.bin", LFSUpstream.random(size))
        try up.commit("a large model")
        try up.push(["--all"])
        try env.mountTmpfs(at: env.home, size: "40m")
        try up.git(["clone", "-q", "--mirror", server.url("big"), env.mirrorPath("big")])
        try env.md("add", "big", server.url("big"))

        let part = env.home + "/lfs-incomplete/\(oid).part"
        let filler = env.home + "/filler"
        let first = try env.lfsStart("fetch", ["big", "--disk-reserve", "0%", "--retries", "0"])
        try eventually(timeout: 30, "4 MiB in the .part") { (LFSStore_size(part) ?? 0) > 4 << 20 || !first.isRunning }
        // Fill the filesystem to its last few KiB while the download runs. The download keeps writing between
        // reading the free space and the fallocate, so a fill that no longer fits is tried again smaller.
        var fill = ProcessResult(status: -1, stdout: "", stderr: "")
        var filled = false
        for margin in [64 << 10, 512 << 10, 2 << 20, 8 << 20] {
            var st = statvfs()
            try #require(statvfs(env.home, &st) == 0)
            let free = Int64(st.f_bavail) * Int64(st.f_frsize)
            guard free > Int64(margin) else { filled = true; break } // the download got there first
            fill = try Shell.run("/usr/bin/fallocate", ["-l", String(free - Int64(margin)), filler])
            if fill.status == 0 { filled = true; break }
        }
        try #require(filled || !first.isRunning, "\(fill)")
        let failed = first.wait()
        #expect(failed.status == 1, "\(failed)")
        let output = failed.stdout + failed.stderr
        #expect(output.contains("no space left"), "\(output)")
        #expect(output.split(separator: "\n").filter { $0.contains("FAILED") }.count == 1, "one line says why: \(output)")
        let kept = try #require(LFSStore_size(part), "the partial download is kept")
        #expect(kept > 4 << 20 && kept < Int64(size))
        #expect(!FileManager.default.fileExists(atPath: env.mirrorPath("big") + "/lfs/objects/\(oid.prefix(2))/\(oid.dropFirst(2).prefix(2))/\(oid)"))

        // Space comes back: the catalog is sound, the failure is on record, and the next fetch resumes.
        try FileManager.default.removeItem(atPath: filler)
        #expect(try env.sql("PRAGMA integrity_check") == [["ok"]])
        let state = try env.sql("SELECT status, last_error FROM mirror_state")
        #expect(state.first?.first == "failed" && state.first?.last?.contains("no space left") == true, "\(state)")
        let second = try env.lfs("fetch", "big", "--json")
        #expect(second.status == 0, "\(second)")
        let report = try #require((try JSONSerialization.jsonObject(with: Data(second.stdout.utf8)) as? [[String: Any]])?.first)
        #expect(report["bytes_resumed"] as? Int == Int(kept), "\(report)")
        #expect(report["bytes_transferred"] as? Int == size - Int(kept), "only the rest crosses the network")
        #expect(try LFSUpstream.sha256(file: env.mirrorPath("big") + "/lfs/objects/\(oid.prefix(2))/\(oid.dropFirst(2).prefix(2))/\(oid)") == oid)
        #expect(try env.sql("PRAGMA integrity_check") == [["ok"]])
        #expect(try env.sql("SELECT status FROM mirror_state") == [["ok"]] || env.sql("SELECT status FROM mirror_state") == [["idle"]])
    }
}

/// The size of a regular file, or nil.
private func LFSStore_size(_ path: String) -> Int64? {
    var st = stat()
    guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
    return Int64(st.st_size)
}

@Suite("storage over time: a disk that fills up during a git fetch")
struct StorageDiskFullGitTests {
    @Test("a pack that does not fit: the sync fails with 'No space left on device', refs and catalog sound; with room the next sync completes")
    func packFillsTheDisk() throws {
        guard getuid() == 0 else {
            Issue.record("this test mounts a tmpfs and needs root")
            return
        }
        let env = try TestEnv("packfull")
        let daemon = try GitDaemon.start(env: env, root: env.path("served"))
        let upstream = try Upstream(env: env, servedRoot: daemon.root, name: "lib")
        try env.mountTmpfs(at: env.home, size: "24m")
        let home = env.home
        try env.md("add", "lib", daemon.url("lib"))
        #expect(try env.md("sync", "lib").status == 0)
        let before = try Upstream.refs(of: env.mirrorPath("lib"))

        // 40 MB of incompressible data in one commit: its pack cannot fit in the 24 MiB home.
        try Shell.run("/bin/dd", ["if=/dev/urandom", "of=" + upstream.work + "/weights.bin", "bs=1M", "count=40", "status=none"])
        try Shell.git(["add", "weights.bin"], cwd: upstream.work)
        try Shell.git(["commit", "-q", "-m", "weights"], cwd: upstream.work)
        try upstream.push(["main"])
        let full = try env.md("sync", "lib", "--json")
        #expect(full.status == 1, "\(full)")
        let report = (try JSONSerialization.jsonObject(with: Data(full.stdout.utf8)) as? [[String: Any]])?.first ?? [:]
        #expect((report["error"] as? String ?? "").contains("No space left on device"), "\(report)")
        #expect(try Upstream.refs(of: env.mirrorPath("lib")) == before, "the refs stay as they were")
        #expect(try env.sql("PRAGMA integrity_check") == [["ok"]])
        #expect(try env.sql("SELECT status FROM mirror_state") == [["failed"]])
        try Shell.git(["fsck", "--connectivity-only", "--no-progress"], cwd: env.mirrorPath("lib"))

        // Room again: the next sync cleans up what the failed one left and completes.
        let grown = try Shell.run("/bin/mount", ["-o", "remount,size=128m", home])
        try #require(grown.status == 0, "\(grown)")
        let again = try env.md("sync", "lib")
        #expect(again.status == 0, "\(again)")
        #expect(try Upstream.refs(of: env.mirrorPath("lib")) == Upstream.refs(of: upstream.bare))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: env.mirrorPath("lib") + "/objects/pack").filter { $0.hasPrefix("tmp_") }
        #expect(leftovers.isEmpty, "\(leftovers)")
    }
}

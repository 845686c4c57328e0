import Foundation
import Testing

@Suite("Git LFS transfers: resume after a kill, live progress")
struct LFSResumeTests {
    func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
    }

    @Test("SIGKILL midway through a large object: the restart asks nginx for the remainder (206) and fetches only that")
    func killAndResume() throws {
        let env = try TestEnv("lfs-resume")
        let server = try LFSServer.start(env: env, limitRate: "8m") // 24 MiB take ~3 s
        let up = try LFSUpstream(env: env, servedRoot: server.gitRoot, name: "big", lfsURL: server.endpoint("big"))
        let size = 24 << 20
        let oid = try up.add("model.bin", LFSUpstream.random(size))
        try up.commit("a large model")
        try up.push(["--all"])
        // The mirror's git side, made without `sync` so that nothing but `lfs fetch` touches LFS here.
        try up.git(["clone", "-q", "--mirror", server.url("big"), env.mirrorPath("big")])
        try env.md("add", "big", server.url("big"))

        let part = env.home + "/lfs-incomplete/\(oid).part"
        let object = env.mirrorPath("big") + "/lfs/objects/\(oid.prefix(2))/\(oid.dropFirst(2).prefix(2))/\(oid)"
        let first = try env.lfsStart("fetch", ["big"])
        try eventually(timeout: 30, "a third of the object in the .part") { fileSize(part) > size / 3 || !first.isRunning }
        first.kill(SIGKILL)
        #expect(first.wait().status == 128 + SIGKILL, "killed mid-transfer, not finished")
        let kept = fileSize(part)
        #expect(kept > size / 3 && kept < size, "the partial download survives the kill")
        #expect(!FileManager.default.fileExists(atPath: object), "nothing half-written is in the mirror")

        let second = try env.lfs("fetch", "big", "--json")
        #expect(second.status == 0, "\(second)")
        let report = try #require((try JSONSerialization.jsonObject(with: Data(second.stdout.utf8)) as? [[String: Any]])?.first)
        #expect(report["bytes_resumed"] as? Int == kept)
        #expect(report["bytes_transferred"] as? Int == size - kept, "only the remainder crosses the network")
        #expect(try LFSUpstream.sha256(file: object) == oid)
        #expect(!FileManager.default.fileExists(atPath: part))

        // nginx's view: the killed GET, then one Range request answered 206 with exactly the rest.
        try eventually(timeout: 10, "nginx logs both downloads") { server.downloads(of: oid).count == 2 }
        let gets = server.downloads(of: oid)
        let resumed = try #require(gets.first { $0.range == "bytes=\(kept)-" })
        #expect(resumed.status == 206)
        #expect(resumed.bytes == size - kept)
        let total = gets.reduce(0) { $0 + $1.bytes }
        #expect(Double(total) <= Double(size) * 1.05, "both runs together fetched about one object's worth: \(total) of \(size)")
    }

    @Test("on a terminal, lfs fetch draws a live line with objects, bytes, rate and ETA, then one result line")
    func liveProgress() throws {
        let env = try TestEnv("lfs-tty")
        let server = try LFSServer.start(env: env, limitRate: "2m")
        let up = try LFSUpstream(env: env, servedRoot: server.gitRoot, name: "tty", lfsURL: server.endpoint("tty"))
        try up.add("a.bin", LFSUpstream.random(3 << 20))
        try up.add("b.bin", LFSUpstream.random(2 << 20))
        try up.commit("two objects")
        try up.push(["--all"])
        try up.git(["clone", "-q", "--mirror", server.url("tty"), env.mirrorPath("tty")])
        try env.md("add", "tty", server.url("tty"))

        // script(1) gives the command a pseudo-terminal, as an operator's shell would.
        let r = try Shell.run("/usr/bin/script", ["-qec", "\(TestEnv.binary) lfs fetch --home \(env.home) tty", "/dev/null"])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("\r\u{1B}[Klfs tty: fetching 0/2 objects") || r.stdout.contains("\r\u{1B}[Klfs tty: fetching 1/2 objects"), "\(r.stdout)")
        #expect(r.stdout.contains("MiB/s") && r.stdout.contains(", ETA "), "\(r.stdout)")
        #expect(r.stdout.contains("ok      tty: 2/2 LFS objects (5.0 MiB); 2 downloaded (5.0 MiB)"), "\(r.stdout)")
        // Without a terminal: only the result line.
        let plain = try env.lfs("fetch", "tty")
        #expect(!plain.stdout.contains("\u{1B}") && plain.stdout.hasPrefix("ok      tty: 2/2 LFS objects"), "\(plain.stdout)")
    }

    @Test("two mirrors fetching the same object at the same time download it once; the second links it")
    func concurrentMirrorsShareOneDownload() throws {
        let env = try TestEnv("lfs-together")
        let server = try LFSServer.start(env: env, limitRate: "4m") // 8 MiB take ~2 s
        let up = try LFSUpstream(env: env, servedRoot: server.gitRoot, name: "shared", lfsURL: server.endpoint("shared"))
        let oid = try up.add("big.bin", LFSUpstream.random(8 << 20))
        try up.commit("one large object")
        try up.push(["--all"])
        for name in ["a", "b"] {
            try up.git(["clone", "-q", "--mirror", server.url("shared"), env.mirrorPath(name)])
            try env.md("add", name, server.url("shared"))
        }
        let part = env.home + "/lfs-incomplete/\(oid).part"
        let first = try env.lfsStart("fetch", ["a"])
        try eventually(timeout: 30, "a's download under way") { fileSize(part) > 0 || !first.isRunning }
        let second = try env.lfs("fetch", "b", "--json")
        #expect(first.wait().status == 0)
        #expect(second.status == 0, "\(second)")
        let report = try #require((try JSONSerialization.jsonObject(with: Data(second.stdout.utf8)) as? [[String: Any]])?.first)
        #expect(report["linked"] as? Int == 1 && report["downloaded"] as? Int == 0 && report["bytes_transferred"] as? Int == 0, "\(report)")
        try eventually(timeout: 10, "nginx logs the download") { !server.downloads(of: oid).isEmpty }
        #expect(server.downloads(of: oid).count == 1, "one download for both mirrors")
        let object = "/lfs/objects/\(oid.prefix(2))/\(oid.dropFirst(2).prefix(2))/\(oid)"
        let ia = try FileManager.default.attributesOfItem(atPath: env.mirrorPath("a") + object)[.systemFileNumber] as? UInt64
        let ib = try FileManager.default.attributesOfItem(atPath: env.mirrorPath("b") + object)[.systemFileNumber] as? UInt64
        #expect(ia != nil && ia == ib)
    }
}

import Foundation
import Testing

@Suite("far links: git transfers through a link that stalls")
struct FarLinkTests {
    /// An upstream whose next fetch is a 4 MiB pack of incompressible data, mirrored once through `url(port)`
    /// of a proxy that stops forwarding after 1 MB on any one connection.
    func stalledSecondSync(_ env: TestEnv, upstream: Upstream, serverPort: Int, url: (Int) -> String) throws {
        let proxy = try FarLinkProxy.start(env: env, target: serverPort, ["--stall-after", "1000000"])
        try env.md("add", "lib", url(proxy.port))
        let first = try env.md("sync", "lib", "--stall-timeout", "3")
        #expect(first.status == 0, "a small first fetch fits under the stall point: \(first)")
        let before = try Upstream.refs(of: env.mirrorPath("lib"))

        _ = FileManager.default.createFile(atPath: upstream.work + "/weights.bin",
                                       contents: Data((0..<(4 << 20)).map { _ in UInt8.random(in: 0...255) }))
        try Shell.git(["add", "weights.bin"], cwd: upstream.work)
        try Shell.git(["commit", "-q", "-m", "weights"], cwd: upstream.work)
        try upstream.push(["main"])

        let started = Date()
        let stalled = try env.md("sync", "lib", "--stall-timeout", "3", "--json")
        let took = Date().timeIntervalSince(started)
        #expect(stalled.status == 1, "\(stalled)")
        let report = (try JSONSerialization.jsonObject(with: Data(stalled.stdout.utf8)) as! [[String: Any]])[0]
        let error = report["error"] as? String ?? ""
        #expect(error.contains("stalled: no data from 127.0.0.1 for 3 s"), "\(report)")
        #expect(took < 3 + 5, "ended within the stall timeout + 5 s: \(took) s")
        #expect(try Upstream.refs(of: env.mirrorPath("lib")) == before, "the refs stay as they were")
        let status = try env.sql("SELECT status FROM mirror_state JOIN mirror ON mirror.id = mirror_state.mirror_id WHERE name = 'lib'")
        #expect(status.first?.first == "failed")
    }

    @Test("git://: a fetch whose upstream stops sending mid-pack fails as stalled within the stall timeout; refs stay")
    func stallOverGitDaemon() throws {
        let env = try TestEnv("stall-git")
        let daemon = try GitDaemon.start(env: env, root: env.path("served"))
        let upstream = try Upstream(env: env, servedRoot: daemon.root, name: "lib")
        try stalledSecondSync(env, upstream: upstream, serverPort: daemon.port) { "git://127.0.0.1:\($0)/lib.git" }
    }

    @Test("smart HTTP: a fetch whose upstream stops sending mid-pack fails as stalled within the stall timeout; refs stay")
    func stallOverSmartHTTP() throws {
        let env = try TestEnv("stall-http")
        let server = try HTTPGitServer.start(env: env, root: env.path("served"))
        let upstream = try Upstream(env: env, servedRoot: server.root, name: "lib")
        try stalledSecondSync(env, upstream: upstream, serverPort: server.port) { "http://127.0.0.1:\($0)/git/lib.git" }
    }

    @Test("--stall-timeout and [engine] stall_timeout outside 1…3600 are one line and exit 2")
    func badStallTimeouts() throws {
        let env = try TestEnv("stall-bad")
        try env.md("add", "lib", "git://127.0.0.1:9/lib.git")
        for bad in ["0", "3601", "x"] {
            let r = try env.md("sync", "lib", "--stall-timeout", bad)
            #expect(r.status == 2 && r.stderr.split(separator: "\n").count == 1, "\(r)")
        }
        try "[engine]\nstall_timeout = 0\n".write(toFile: env.home + "/config.toml", atomically: true, encoding: .utf8)
        let r = try env.md("sync", "lib")
        #expect(r.status != 0 && r.stderr.contains("stall_timeout"), "\(r)")
    }
}

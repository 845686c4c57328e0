import Foundation
import Testing

/// An LFS upstream for the far-link tests: giftless's batch API and nginx's object files (real `Range`),
/// objects of random bytes written straight into giftless's storage (no upload), and a repository whose one
/// commit holds their pointers.
struct FarLFSUpstream {
    let server: LFSServer
    let oids: [String]
    let size: Int
    /// The first (or only) object.
    var oid: String { oids[0] }

    static func make(env: TestEnv, name: String, size: Int, count: Int = 1, limitRate: String? = nil, tls: Bool = false) throws -> FarLFSUpstream {
        let server = try LFSServer.start(env: env, limitRate: limitRate, tls: tls)
        let up = try LFSUpstream(env: env, servedRoot: server.gitRoot, name: name, lfsURL: nil)
        try FileManager.default.createDirectory(atPath: server.storage + "/git/\(name)", withIntermediateDirectories: true)
        var oids: [String] = []
        for i in 0..<count {
            let file = env.path("\(name)-object")
            let head = try Shell.run("/bin/sh", ["-c", "head -c \(size) /dev/urandom > '\(file)'"])
            guard head.status == 0 else { throw TestFailure.message("head -c failed: \(head)") }
            let oid = try LFSUpstream.sha256(file: file)
            try FileManager.default.moveItem(atPath: file, toPath: server.storedObject(name, oid))
            try up.addText("weights/model-\(i).ptr", LFSUpstream.pointer(oid: oid, size: Int64(size)))
            oids.append(oid)
        }
        try up.commit("a model")
        try up.push(["--no-verify", "--all"]) // no pre-push hook: the objects are in the server's storage already
        return FarLFSUpstream(server: server, oids: oids, size: size)
    }

    func placed(in env: TestEnv, _ name: String) -> String {
        env.mirrorPath(name) + "/lfs/objects/\(oid.prefix(2))/\(oid.dropFirst(2).prefix(2))/\(oid)"
    }
}

/// The far-link proxy's log: one line per connection it forwarded.
struct ProxyLog {
    struct Connection {
        var up: Int
        var down: Int
        var how: String
    }

    let path: String

    var connections: [Connection] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { line in
            guard let json = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            return Connection(up: json["up"] as? Int ?? 0, down: json["down"] as? Int ?? 0, how: json["how"] as? String ?? "")
        }
    }
}

@Suite("far links: LFS objects through a link that cuts and crawls")
struct FarLinkLFSTests {
    @Test("a 200 MiB object through a link that cuts every 2–6 MB arrives whole and verified, with at most 1.05 × its size sent")
    func cutsEveryFewMegabytes() throws {
        let env = try TestEnv("lfs-far-cuts")
        let up = try FarLFSUpstream.make(env: env, name: "model", size: 200 << 20)
        let log = ProxyLog(path: env.path("proxy.jsonl"))
        // Only LFS goes through the far link (git comes directly), so the proxy's log counts LFS bytes alone.
        let proxy = try FarLinkProxy.start(env: env, target: up.server.port, ["--cut-after", "2000000-6000000", "--log", log.path])
        try env.md("add", "model", up.server.url("model"), "--lfs-url", "http://127.0.0.1:\(proxy.port)/git/model.git/info/lfs")

        let started = Date()
        let r = try env.md("sync", "model", "--json")
        let took = Date().timeIntervalSince(started)
        #expect(r.status == 0, "\(r)")
        #expect(try LFSUpstream.sha256(file: up.placed(in: env, "model")) == up.oid, "one complete object that hashes to its oid")
        #expect(!FileManager.default.fileExists(atPath: env.home + "/lfs-incomplete/\(up.oid).part"))

        // The process has exited, so every connection has ended and is logged.
        try eventually(timeout: 10, "the proxy logs every connection") {
            log.connections.reduce(0) { $0 + $1.down } >= up.size
        }
        let connections = log.connections
        let down = connections.reduce(0) { $0 + $1.down }
        let cuts = connections.filter { $0.how == "cut" }.count
        print("cuts: \(up.size) bytes in \(String(format: "%.1f", took)) s over \(connections.count) connections (\(cuts) cut), \(down) bytes sent downstream = \(String(format: "%.4f", Double(down) / Double(up.size))) × the object")
        #expect(cuts >= 20, "the link really cut the transfer many times: \(cuts) cuts")
        #expect(Double(down) <= Double(up.size) * 1.05, "bytes sent downstream \(down) for a \(up.size)-byte object")

        // nginx's view: every request after the first asked for the rest with Range and got 206.
        try eventually(timeout: 10, "nginx logs every download") { up.server.downloads(of: up.oid).count > cuts }
        let gets = up.server.downloads(of: up.oid)
        #expect(gets.first?.range == "-" && gets.dropFirst().allSatisfy { $0.range.hasPrefix("bytes=") && $0.status == 206 }, "\(gets.prefix(5))")
        let state = try env.sql("SELECT status FROM mirror_state JOIN mirror ON mirror.id = mirror_state.mirror_id WHERE name = 'model'")
        #expect(state.first?.first == "ok")
    }

    @Test("a download slower than --min-rate for the stall timeout is aborted and resumed with Range, not restarted")
    func minRateResumes() throws {
        let env = try TestEnv("lfs-far-min-rate")
        let size = 1_500_000
        let up = try FarLFSUpstream.make(env: env, name: "model", size: size)
        let log = ProxyLog(path: env.path("proxy.jsonl"))
        // A link of 150 KB/s against a minimum of 300 KB/s over 2 s.
        let proxy = try FarLinkProxy.start(env: env, target: up.server.port, ["--rate", "150000", "--log", log.path])
        try env.md("add", "model", up.server.url("model"), "--lfs-url", "http://127.0.0.1:\(proxy.port)/git/model.git/info/lfs")

        let r = try env.md("sync", "model", "--stall-timeout", "2", "--min-rate", "300KB/s", "--json")
        #expect(r.status == 0, "\(r)")
        #expect(try LFSUpstream.sha256(file: up.placed(in: env, "model")) == up.oid)
        try eventually(timeout: 10, "nginx logs every download") {
            up.server.downloads(of: up.oid).reduce(0) { $0 + $1.bytes } >= size
        }
        let gets = up.server.downloads(of: up.oid)
        print("min rate: \(gets.count) requests for the object: \(gets.map { "\($0.status) \($0.range) \($0.bytes)" })")
        #expect(gets.count >= 3, "the crawling transfer was aborted and resumed: \(gets)")
        #expect(gets.dropFirst().allSatisfy { $0.range.hasPrefix("bytes=") && $0.range != "bytes=0-" && $0.status == 206 }, "resumed with Range, never restarted: \(gets)")
        // What crossed the link (nginx counts what it handed to its socket, ahead of the slow proxy).
        try eventually(timeout: 10, "the proxy logs every connection") { log.connections.reduce(0) { $0 + $1.down } >= size }
        let down = log.connections.reduce(0) { $0 + $1.down }
        #expect(Double(down) <= Double(size) * 1.05, "the object crossed the link about once: \(down) bytes for \(size)")
    }

    @Test("without --min-rate the same slow link is one request: the limit is what ends the connection")
    func noMinRateNoAbort() throws {
        let env = try TestEnv("lfs-far-no-min-rate")
        let size = 600_000
        let up = try FarLFSUpstream.make(env: env, name: "model", size: size)
        let proxy = try FarLinkProxy.start(env: env, target: up.server.port, ["--rate", "150000"])
        try env.md("add", "model", up.server.url("model"), "--lfs-url", "http://127.0.0.1:\(proxy.port)/git/model.git/info/lfs")
        let r = try env.md("sync", "model", "--stall-timeout", "2", "--json")
        #expect(r.status == 0, "\(r)")
        try eventually(timeout: 10, "nginx logs the download") { !up.server.downloads(of: up.oid).isEmpty }
        #expect(up.server.downloads(of: up.oid).count == 1, "\(up.server.downloads(of: up.oid))")
    }

    @Test("time spent in the mirror's own --max-rate cap is not a slow link: a capped download under --min-rate is one request")
    func ownCapIsNotSlow() throws {
        let env = try TestEnv("lfs-far-min-rate-capped")
        let size = 5_000_000
        let up = try FarLFSUpstream.make(env: env, name: "model", size: size)
        // The mirror's cap (1 MB/s) is below the minimum rate (3 MB/s over 2 s); the link itself is fast.
        try env.md("add", "model", up.server.url("model"), "--max-rate", "1MB/s")
        let r = try env.md("sync", "model", "--stall-timeout", "2", "--min-rate", "3MB/s", "--json")
        #expect(r.status == 0, "\(r)")
        #expect(try LFSUpstream.sha256(file: up.placed(in: env, "model")) == up.oid)
        try eventually(timeout: 10, "nginx logs the download") { !up.server.downloads(of: up.oid).isEmpty }
        #expect(up.server.downloads(of: up.oid).count == 1, "never aborted as too slow: \(up.server.downloads(of: up.oid))")
    }

    @Test("a sync's LFS job alone uses all of [engine] max_lfs transfers, each on its own kept-alive connection")
    func oneJobUsesEveryTransfer() throws {
        let env = try TestEnv("lfs-far-parallel")
        let up = try FarLFSUpstream.make(env: env, name: "model", size: 64 << 10, count: 48)
        let log = ProxyLog(path: env.path("proxy.jsonl"))
        // 100 ms RTT: a worker that took a second object has kept its connection, not opened another.
        let proxy = try FarLinkProxy.start(env: env, target: up.server.port, ["--latency", "50", "--log", log.path])
        try env.md("add", "model", up.server.url("model"), "--lfs-url", "http://127.0.0.1:\(proxy.port)/git/model.git/info/lfs")
        try "[engine]\nmax_lfs = 8\n".write(toFile: env.home + "/config.toml", atomically: true, encoding: .utf8)
        let r = try env.md("sync", "model", "--json")
        #expect(r.status == 0, "\(r)")
        for oid in up.oids { #expect(FileManager.default.fileExists(atPath: env.mirrorPath("model") + "/lfs/objects/\(oid.prefix(2))/\(oid.dropFirst(2).prefix(2))/\(oid)")) }
        try eventually(timeout: 10, "the proxy logs every connection") { log.connections.reduce(0) { $0 + $1.down } >= 48 * up.size }
        // A connection that carried at least one object (the batch request's answers are a few KiB).
        let carrying = log.connections.filter { $0.down >= up.size }
        #expect(carrying.count == 8, "8 transfers at once, one connection each: \(log.connections)")
        // (The harness's readiness probe is a connection that carried nothing.)
        let used = log.connections.filter { $0.up > 0 }
        #expect(used.count == 9, "8 transfer connections and the batch request's: \(used.map { "\($0.up)/\($0.down)" })")
    }

    @Test("a bad --min-rate or [engine] min_rate is one line and exit 2")
    func badMinRates() throws {
        let env = try TestEnv("lfs-far-min-rate-bad")
        try env.md("add", "lib", "git://127.0.0.1:9/lib.git")
        for bad in ["fast", "10", "5XB/s", ""] {
            let sync = try env.md("sync", "lib", "--min-rate", bad)
            #expect(sync.status == 2 && sync.stderr.split(separator: "\n").count == 1 && sync.stderr.contains("--min-rate"), "\(sync)")
            let fetch = try env.lfs("fetch", "lib", "--min-rate", bad)
            #expect(fetch.status == 2 && fetch.stderr.split(separator: "\n").count == 1 && fetch.stderr.contains("--min-rate"), "\(fetch)")
        }
        try "[engine]\nmin_rate = \"slow\"\n".write(toFile: env.home + "/config.toml", atomically: true, encoding: .utf8)
        let r = try env.md("sync", "lib")
        #expect(r.status != 0 && r.stderr.contains("min_rate must be a rate"), "\(r)")
    }
}

@Suite("real proxies: an https upstream through tinyproxy's CONNECT")
struct ProxyConnectTests {
    @Test("with https_proxy, git (libgit2) and LFS (libcurl) both tunnel through CONNECT; with no_proxy covering the host both go direct")
    func httpsThroughConnect() throws {
        let env = try TestEnv("proxy-connect")
        let up = try FarLFSUpstream.make(env: env, name: "model", size: 300_000, tls: true)
        // The proxy's own connections come from 127.0.0.3, so nginx's log tells each request's path apart.
        let proxy = try TinyProxy.start(env: env, bind: "127.0.0.3")
        let environment = ["https_proxy": proxy.url, "HTTPS_PROXY": proxy.url, "http_proxy": "", "HTTP_PROXY": "",
                           "all_proxy": "", "ALL_PROXY": ""]
        // Which of the four kinds of request nginx saw, and from where.
        func kinds(_ requests: [(method: String, path: String, from: String, protocol: String)]) -> [String: Set<String>] {
            var seen: [String: Set<String>] = [:]
            for r in requests {
                let kind = r.path.hasSuffix("/info/refs") ? "git refs" : r.path.hasSuffix("/git-upload-pack") ? "git pack"
                    : r.path.hasSuffix("/objects/batch") ? "lfs batch" : r.path.hasSuffix("/" + up.oid) ? "lfs object" : "other"
                seen[kind, default: []].insert(r.from)
            }
            return seen
        }

        try env.md("add", "model", up.server.url("model"), "--insecure-tls")
        let r = try env.md("sync", "model", env: environment.merging(["no_proxy": "", "NO_PROXY": ""]) { $1 })
        #expect(r.status == 0, "\(r)")
        #expect(try Upstream.refs(of: env.mirrorPath("model")) == Upstream.refs(of: up.server.gitRoot + "/model.git"))
        #expect(try LFSUpstream.sha256(file: up.placed(in: env, "model")) == up.oid)
        let tunnels = proxy.requests
        #expect(!tunnels.isEmpty && tunnels.allSatisfy { $0 == "CONNECT 127.0.0.1:\(up.server.port) HTTP/1.1" }, "only CONNECT tunnels: \(tunnels)")
        let proxied = kinds(up.server.requests)
        for kind in ["git refs", "git pack", "lfs batch", "lfs object"] {
            #expect(proxied[kind] == ["127.0.0.3"], "\(kind) came through the proxy: \(proxied)")
        }
        // The server offers HTTP/2 (ALPN): libcurl takes it, through the tunnel too; libgit2 speaks HTTP/1.1.
        let protocols = Dictionary(grouping: up.server.requests, by: { $0.path.hasSuffix("/" + up.oid) ? "lfs object" : $0.path.hasSuffix("/git-upload-pack") ? "git pack" : "other" })
            .mapValues { Set($0.map(\.protocol)) }
        #expect(protocols["lfs object"] == ["HTTP/2.0"] && protocols["git pack"] == ["HTTP/1.1"], "\(protocols)")

        // The same sync into a second home, with no_proxy naming the host: the proxy sees nothing.
        let direct = try TestEnv("proxy-connect-direct")
        let before = up.server.requests.count
        try direct.md("add", "model", up.server.url("model"), "--insecure-tls")
        let d = try direct.md("sync", "model", env: environment.merging(["no_proxy": "127.0.0.1", "NO_PROXY": "127.0.0.1"]) { $1 })
        #expect(d.status == 0, "\(d)")
        #expect(try LFSUpstream.sha256(file: up.placed(in: direct, "model")) == up.oid)
        #expect(proxy.requests == tunnels, "no new request reached the proxy")
        let straight = kinds(Array(up.server.requests.dropFirst(before)))
        for kind in ["git refs", "git pack", "lfs batch", "lfs object"] {
            #expect(straight[kind] == ["127.0.0.1"], "\(kind) went direct: \(straight)")
        }
    }
}

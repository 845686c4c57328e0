import Foundation

/// A real HTTP proxy (tinyproxy, from Debian's packages) on 127.0.0.1, logging every request it forwards.
struct TinyProxy {
    let port: Int
    let logPath: String
    var url: String { "http://127.0.0.1:\(port)" }
    /// The request lines it forwarded ("GET http://host:port/path HTTP/1.1").
    var requests: [String] {
        ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "").split(separator: "\n")
            .compactMap { line in line.range(of: "): ").map { String(line[$0.upperBound...]) } }
            .filter { $0.hasSuffix("HTTP/1.1") || $0.hasSuffix("HTTP/1.0") }
    }

    /// `bind`: the address its outgoing connections come from (so a server's log tells proxied requests apart).
    static func start(env: TestEnv, bind: String? = nil) throws -> TinyProxy {
        let dir = env.path("tinyproxy")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        chmod(dir, 0o777) // tinyproxy may drop to an unprivileged user that writes the log
        for _ in 0..<5 {
            let port = Net.freePort()
            let log = dir + "/requests.log"
            try """
                Port \(port)
                Listen 127.0.0.1
                Timeout 60
                LogFile "\(log)"
                LogLevel Info
                MaxClients 64
                Allow 127.0.0.1
                \(bind.map { "Bind \($0)" } ?? "")
                """.write(toFile: dir + "/tinyproxy.conf", atomically: true, encoding: .utf8)
            let process = try Shell.start("/usr/bin/tinyproxy", ["-d", "-c", dir + "/tinyproxy.conf"])
            env.own(process)
            if (try? eventually(timeout: 10, "tinyproxy on \(port)") { Net.isListening(port) || !process.isRunning }) != nil, process.isRunning {
                return TinyProxy(port: port, logPath: log)
            }
        }
        throw TestFailure.message("tinyproxy did not start")
    }
}

import Foundation

/// A real `mirrordeck daemon` on a free port for one test's home.
final class DaemonProcess {
    let port: Int
    let process: RunningProcess
    let env: TestEnv

    var base: String { "http://127.0.0.1:\(port)" }

    private init(env: TestEnv, port: Int, process: RunningProcess) {
        self.env = env
        self.port = port
        self.process = process
    }

    /// Starts the daemon and waits until /healthz answers ok.
    static func start(env: TestEnv, secret: String? = nil, extra: [String] = []) throws -> DaemonProcess {
        var environment: [String: String] = [:]
        if let secret { environment["MIRRORDECK_WEBHOOK_SECRET"] = secret }
        let port = Net.freePort()
        let process = try Shell.start(TestEnv.binary, ["daemon", "--home", env.home, "--listen", "127.0.0.1:\(port)", "--log-level", "debug"] + extra,
                                      environment: environment)
        env.own(process)
        let daemon = DaemonProcess(env: env, port: port, process: process)
        try eventually(timeout: 30, "daemon healthz on \(port)") {
            guard process.isRunning else { throw TestFailure.message("daemon exited: \(process.stderrSoFar)") }
            return (try? Curl.get(daemon.base + "/healthz"))?.body == "ok\n"
        }
        return daemon
    }
}

/// A real HTTP client for tests (curl).
enum Curl {
    struct Response {
        var status: Int
        var body: String
    }

    static func get(_ url: String) throws -> Response {
        try request(["-sS", url])
    }

    static func post(_ url: String, body: Data, headers: [String: String]) throws -> Response {
        let file = NSTemporaryDirectory() + "/md-body-\(UUID().uuidString)"
        FileManager.default.createFile(atPath: file, contents: body)
        defer { try? FileManager.default.removeItem(atPath: file) }
        var args = ["-sS", "-X", "POST", "--data-binary", "@" + file, "-H", "Content-Type: application/json"]
        for (k, v) in headers { args += ["-H", "\(k): \(v)"] }
        return try request(args + [url])
    }

    private static func request(_ args: [String]) throws -> Response {
        let r = try Shell.run("/usr/bin/curl", ["--max-time", "10", "-w", "\n%{http_code}"] + args)
        guard r.status == 0 else { throw TestFailure.message("curl failed: \(r)") }
        var lines = r.stdout.components(separatedBy: "\n")
        let status = Int(lines.removeLast()) ?? 0
        return Response(status: status, body: lines.joined(separator: "\n"))
    }
}

import Foundation

/// `scripts/ratelimit-proxy.py` in front of a real server: it forwards every request, except while a test
/// has switched on a limit, when it answers as GitHub does (429, or 403 with `X-RateLimit-Remaining: 0`, and
/// `Retry-After` or `X-RateLimit-Reset`).
struct RateLimitProxy {
    let port: Int
    let dir: String

    var statePath: String { dir + "/state.json" }
    var logPath: String { dir + "/requests.log" }

    /// The same URL on the proxy: `http://127.0.0.1:PROXY/git/NAME.git` for `http://127.0.0.1:SERVER/git/NAME.git`.
    func url(_ upstream: String) -> String {
        guard var c = URLComponents(string: upstream) else { return upstream }
        c.port = port
        return c.string ?? upstream
    }

    /// Limits every request for `seconds` from now: `reset` is `retry-after`, `retry-after-date`, `reset` or `none`.
    func limit(seconds: TimeInterval, status: Int = 429, reset: String = "retry-after", remaining: String = "0") throws {
        let state: [String: Any] = ["until": Date().timeIntervalSince1970 + seconds, "status": status, "reset": reset, "remaining": remaining]
        try JSONSerialization.data(withJSONObject: state).write(to: URL(fileURLWithPath: statePath), options: .atomic)
    }

    /// Requests answered so far: `t`, `method`, `path`, `status`.
    func requests() -> [[String: Any]] {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    static func start(env: TestEnv, upstreamPort: Int) throws -> RateLimitProxy {
        let dir = env.path("ratelimit-proxy-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try "{}".write(toFile: dir + "/state.json", atomically: true, encoding: .utf8)
        let script = TestEnv.checkout + "/scripts/ratelimit-proxy.py"
        for _ in 0..<5 {
            let port = Net.freePort()
            let process = try Shell.start("/usr/bin/python3", [script, "--port", "\(port)", "--upstream", "127.0.0.1:\(upstreamPort)",
                                                               "--state", dir + "/state.json", "--log", dir + "/requests.log"])
            env.own(process)
            if (try? eventually(timeout: 10, "rate-limit proxy on \(port)") { Net.isListening(port) || !process.isRunning }) != nil, process.isRunning {
                return RateLimitProxy(port: port, dir: dir)
            }
        }
        throw TestFailure.message("the rate-limit proxy did not start")
    }
}

import Foundation

/// The fault-injecting TCP proxy of the test lab (scripts/farlink-proxy.py): latency, a bandwidth cap, cuts
/// after a random byte count and stalls, in front of any server on 127.0.0.1.
struct FarLinkProxy {
    let port: Int
    let process: RunningProcess

    static var script: String { TestEnv.checkout + "/scripts/farlink-proxy.py" }

    /// Starts a proxy to 127.0.0.1:`target` with the script's `options` (e.g. `--stall-after 1000000`).
    static func start(env: TestEnv, target: Int, _ options: [String] = []) throws -> FarLinkProxy {
        let port = Net.freePort()
        let process = try Shell.start("/usr/bin/env", ["python3", script, "--listen", "127.0.0.1:\(port)",
                                                       "--target", "127.0.0.1:\(target)"] + options)
        env.own(process)
        try eventually(timeout: 20, "the far-link proxy on \(port)") { Net.isListening(port) || !process.isRunning }
        guard process.isRunning else { throw TestFailure.message("the far-link proxy exited: \(process.stderrSoFar)") }
        return FarLinkProxy(port: port, process: process)
    }
}

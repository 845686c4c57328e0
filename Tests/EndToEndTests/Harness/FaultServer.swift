import Foundation

/// `scripts/lfs-fault-server.py`: an LFS server that misbehaves per object (truncated, oversized or wrong
/// bodies, 429/500, stalls, hostile object ids and links), for the faults no real server produces on demand.
struct FaultServer {
    let port: Int
    let dir: String
    let log: String
    /// The download token the batch answers hand out (in an `Authorization` header): it must never leak.
    let token: String

    var endpoint: String { "http://127.0.0.1:\(port)/lfs" }
    var authEndpoint: String { "http://127.0.0.1:\(port)/auth/lfs" }
    var nowhereEndpoint: String { "http://127.0.0.1:\(port)/nothing-here" }

    /// One object the server knows, and how it misbehaves.
    struct Object {
        var oid: String
        var size: Int64
        var path: String
        var fault: String
    }

    /// Requests logged so far: method, path, status, range.
    func requests() -> [[String: Any]] {
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().path + "/scripts/lfs-fault-server.py"
    }

    static func start(env: TestEnv, objects: [Object], batchFaults: [String] = []) throws -> FaultServer {
        let dir = env.path("fault-server-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let token = "SECRET-TOKEN-\(UUID().uuidString)"
        var table: [String: Any] = [:]
        for o in objects { table[o.oid] = ["path": o.path, "size": o.size, "fault": o.fault] as [String: Any] }
        let config: [String: Any] = ["token": token, "batch_faults": batchFaults, "objects": table]
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: dir + "/config.json"))
        let python = FileManager.default.isExecutableFile(atPath: LFSServer.venv + "/bin/python") ? LFSServer.venv + "/bin/python" : "/usr/bin/python3"
        for _ in 0..<5 {
            let port = Net.freePort()
            let process = try Shell.start(python, [script, "--port", "\(port)", "--config", dir + "/config.json", "--log", dir + "/requests.log"])
            env.own(process)
            if (try? eventually(timeout: 10, "fault server on \(port)") { Net.isListening(port) || !process.isRunning }) != nil, process.isRunning {
                return FaultServer(port: port, dir: dir, log: dir + "/requests.log", token: token)
            }
        }
        throw TestFailure.message("the fault server did not start")
    }
}

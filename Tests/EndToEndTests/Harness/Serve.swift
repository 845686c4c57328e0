import Foundation

/// A running `mirrordeck serve` on 127.0.0.1, and what a client needs to talk to it.
struct ServeProcess {
    let port: Int
    let process: RunningProcess
    var base: String { "http://127.0.0.1:\(port)" }
    func url(_ name: String) -> String { base + "/\(name).git" }

    /// Starts `mirrordeck serve` with `args` and waits until it accepts connections.
    static func start(env: TestEnv, _ args: [String] = []) throws -> ServeProcess {
        for _ in 0..<5 {
            let port = Net.freePort()
            let process = try env.mdStart(["serve", "--listen", "127.0.0.1:\(port)"] + args)
            env.own(process)
            if (try? eventually(timeout: 20, "serve on \(port)") { Net.isListening(port) || !process.isRunning }) != nil, process.isRunning {
                return ServeProcess(port: port, process: process)
            }
        }
        throw TestFailure.message("mirrordeck serve did not start")
    }
}

/// One HTTP exchange through curl: status, body and headers.
struct HTTPReply {
    var status: Int
    var body: Data
    var headers: String
    var text: String { String(decoding: body, as: UTF8.self) }
}

enum HTTP {
    /// Sends a request with curl (`--path-as-is`, so dot segments reach the server as written).
    static func request(_ url: String, method: String = "GET", headers: [String] = [], body: Data? = nil, env: TestEnv) throws -> HTTPReply {
        let id = UUID().uuidString.prefix(8)
        let out = env.path("http-\(id).body")
        let head = env.path("http-\(id).head")
        var args = ["-s", "--path-as-is", "-o", out, "-D", head, "-w", "%{http_code}", "-X", method, "--max-time", "60"]
        for h in headers { args += ["-H", h] }
        if let body {
            let file = env.path("http-\(id).req")
            try body.write(to: URL(fileURLWithPath: file))
            args += ["--data-binary", "@" + file]
        }
        let r = try Shell.run("/usr/bin/curl", args + [url])
        let data = FileManager.default.contents(atPath: out) ?? Data()
        let headerText = (try? String(contentsOfFile: head, encoding: .utf8)) ?? ""
        return HTTPReply(status: Int(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0, body: data, headers: headerText)
    }

    /// An LFS batch request for `objects` (oid, size).
    static func batch(_ url: String, objects: [(String, Int64)], operation: String = "download", headers: [String] = [], env: TestEnv) throws -> HTTPReply {
        let json: [String: Any] = ["operation": operation, "transfers": ["basic"],
                                   "objects": objects.map { ["oid": $0.0, "size": $0.1] }]
        return try request(url + "/info/lfs/objects/batch", method: "POST",
                           headers: ["Content-Type: application/vnd.git-lfs+json; charset=utf-8", "Accept: application/vnd.git-lfs+json"] + headers,
                           body: try JSONSerialization.data(withJSONObject: json), env: env)
    }
}

/// A git client with its own HOME (git-lfs's filters installed there), never prompting.
struct GitClient {
    let home: String

    init(env: TestEnv) throws {
        home = env.path("client-home-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        _ = try run(["lfs", "install", "--skip-repo"])
    }

    var environment: [String: String] {
        ["HOME": home, "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "/bin/false",
         "GIT_AUTHOR_NAME": "Client", "GIT_AUTHOR_EMAIL": "client@example.org",
         "GIT_COMMITTER_NAME": "Client", "GIT_COMMITTER_EMAIL": "client@example.org"]
    }

    @discardableResult
    func run(_ args: [String], cwd: String? = nil, extra: [String: String] = [:]) throws -> ProcessResult {
        try Shell.run("/usr/bin/git", args, cwd: cwd, environment: environment.merging(extra) { $1 })
    }

    /// Runs git and fails the test with its output when it fails.
    @discardableResult
    func ok(_ args: [String], cwd: String? = nil, extra: [String: String] = [:]) throws -> String {
        let r = try run(args, cwd: cwd, extra: extra)
        guard r.status == 0 else { throw TestFailure.message("git \(args.joined(separator: " ")) failed: \(r)") }
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// `git for-each-ref` of a repository: "sha ref" lines, sorted.
func refList(_ repo: String) throws -> [String] {
    try Shell.git(["--git-dir", repo, "for-each-ref", "--format=%(objectname) %(refname)"]).split(separator: "\n").map(String.init).sorted()
}

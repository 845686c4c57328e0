import Foundation

/// One test's world: a temp directory, a MirrorDeck home in it, and the servers it started.
final class TestEnv: @unchecked Sendable {
    let root: String
    let home: String
    private var servers: [RunningProcess] = []
    private var cleanups: [() -> Void] = []

    init(_ label: String = "e2e") throws {
        let base = FileManager.default.temporaryDirectory.path + "/mirrordeck-tests"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        let template = base + "/\(label)-XXXXXX"
        var buf = Array(template.utf8CString)
        guard mkdtemp(&buf) != nil else { throw TestFailure.message("mkdtemp failed") }
        root = String(cString: buf)
        home = root + "/home"
    }

    deinit {
        for process in servers {
            process.kill(SIGTERM, group: true)
            _ = process.wait()
            process.kill(SIGKILL, group: true)
        }
        for cleanup in cleanups { cleanup() }
        try? FileManager.default.removeItem(atPath: root)
    }

    /// The mirrordeck binary built next to the test bundle.
    static let binary: String = {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path + "/mirrordeck",
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().deletingLastPathComponent().path + "/.build/debug/mirrordeck",
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[1]
    }()

    /// Runs `mirrordeck --home <home> ARGS` (the home flag goes after the subcommand).
    @discardableResult
    func md(_ args: String..., stdin: String? = nil, env: [String: String] = [:]) throws -> ProcessResult {
        try mdArgs(Array(args), stdin: stdin, env: env)
    }

    @discardableResult
    func mdArgs(_ args: [String], stdin: String? = nil, env: [String: String] = [:]) throws -> ProcessResult {
        try Shell.run(Self.binary, withHome(args), environment: env, stdin: stdin)
    }

    /// Starts `mirrordeck ARGS` in the background.
    func mdStart(_ args: [String], env: [String: String] = [:]) throws -> RunningProcess {
        try Shell.start(Self.binary, withHome(args), environment: env)
    }

    private func withHome(_ args: [String]) -> [String] {
        guard let first = args.first, !first.hasPrefix("-") else { return args }
        // Command groups (`access grant`, `lfs fetch`) take --home after their subcommand.
        let depth = ["access", "lfs"].contains(first) && args.count > 1 ? 2 : 1
        return Array(args.prefix(depth)) + ["--home", home] + args.dropFirst(depth)
    }

    /// The checkout this test was built from (for scripts/ and the shared data generator).
    static let checkout: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    /// Runs the shared benchmark and test data generator, scripts/bench/genrepos.py.
    func generate(_ args: String...) throws {
        let r = try Shell.run("/usr/bin/env", ["python3", Self.checkout + "/scripts/bench/genrepos.py"] + args)
        guard r.status == 0 else { throw TestFailure.message("genrepos.py \(args.joined(separator: " ")) failed: \(r)") }
    }

    /// The project venv's python (scripts/install-deps.sh makes it), for test-only Python packages.
    var venvPython: String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().path
        return root + "/.venv/bin/python"
    }

    /// Keeps a server process to stop when the test ends.
    func own(_ process: RunningProcess) { servers.append(process) }
    func atExit(_ body: @escaping () -> Void) { cleanups.append(body) }

    func path(_ rel: String) -> String { root + "/" + rel }

    /// The mirror's bare repository in this env's home.
    func mirrorPath(_ name: String) -> String { home + "/mirrors/\(name).git" }

    /// Runs a read-only SQL query on the home's catalog (through Python's sqlite3) and returns rows of text.
    func sql(_ query: String) throws -> [[String]] {
        let script = """
            import sqlite3, sys, json
            c = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True, timeout=30)
            print(json.dumps([[("" if v is None else str(v)) for v in row] for row in c.execute(sys.argv[2])]))
            """
        let r = try Shell.run("/usr/bin/env", ["python3", "-c", script, home + "/catalog.sqlite", query])
        guard r.status == 0 else { throw TestFailure.message("sql failed: \(r)") }
        return try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [[String]]
    }

    /// Changes the catalog behind mirrordeck's back (to set up a state, such as a time, a test needs).
    func sqlWrite(_ statement: String) throws {
        let script = """
            import sqlite3, sys
            c = sqlite3.connect(sys.argv[1], timeout=30)
            c.execute(sys.argv[2])
            c.commit()
            """
        let r = try Shell.run("/usr/bin/env", ["python3", "-c", script, home + "/catalog.sqlite", statement])
        guard r.status == 0 else { throw TestFailure.message("sql failed: \(r)") }
    }

    /// Parses JSON printed by mirrordeck.
    func json(_ result: ProcessResult) throws -> Any {
        guard result.status == 0 else { throw TestFailure.message("mirrordeck failed: \(result)") }
        return try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
    }
}

import Foundation

/// What a finished process left behind.
struct ProcessResult: CustomStringConvertible {
    var status: Int32
    var stdout: String
    var stderr: String
    var description: String { "exit \(status)\nstdout: \(stdout)\nstderr: \(stderr)" }
}

enum TestFailure: Error, CustomStringConvertible {
    case message(String)
    var description: String { if case let .message(m) = self { return m }; return "" }
}

/// Runs programs for tests, with output captured in files (no pipe deadlocks).
enum Shell {
    /// Runs `executable` with `arguments` and waits.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], cwd: String? = nil,
                    environment: [String: String] = [:], stdin: String? = nil) throws -> ProcessResult {
        let process = try start(executable, arguments, cwd: cwd, environment: environment, stdin: stdin)
        return process.wait()
    }

    /// Runs a git command (tests may use the git CLI; the product never does).
    @discardableResult
    static func git(_ arguments: [String], cwd: String? = nil) throws -> String {
        let env = ["GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.org",
                   "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.org",
                   "GIT_CONFIG_NOSYSTEM": "1", "HOME": NSTemporaryDirectory()]
        let r = try run("/usr/bin/git", arguments, cwd: cwd, environment: env)
        guard r.status == 0 else { throw TestFailure.message("git \(arguments.joined(separator: " ")) failed: \(r)") }
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Starts a process in the background.
    static func start(_ executable: String, _ arguments: [String], cwd: String? = nil,
                      environment: [String: String] = [:], stdin: String? = nil) throws -> RunningProcess {
        try RunningProcess(executable, arguments, cwd: cwd, environment: environment, stdin: stdin)
    }
}

/// A child process (posix_spawn, its own process group, default signal handling) whose output goes to temp files.
final class RunningProcess: @unchecked Sendable {
    let pid: pid_t
    private let outPath: String
    private let errPath: String
    private let lock = NSLock()
    private var exitStatus: Int32?

    init(_ executable: String, _ arguments: [String], cwd: String?, environment: [String: String], stdin: String?) throws {
        let id = UUID().uuidString
        let tmp = NSTemporaryDirectory()
        outPath = tmp + "/md-out-\(id)"
        errPath = tmp + "/md-err-\(id)"
        let inPath = tmp + "/md-in-\(id)"
        if let stdin { FileManager.default.createFile(atPath: inPath, contents: Data(stdin.utf8)) }
        defer { if stdin != nil { try? FileManager.default.removeItem(atPath: inPath) } }

        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "MIRRORDECK_HOME")
        for (k, v) in environment { env[k] = v }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdin != nil ? inPath : "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)

        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attr, &empty)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setpgroup(&attr, 0)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

        // A working directory goes through env(1)'s --chdir: posix_spawn has no portable way to set it.
        let command = cwd.map { ["/usr/bin/env", "--chdir=\($0)", executable] } ?? [executable]
        let argv = (command + arguments).map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var child: pid_t = 0
        let rc = posix_spawn(&child, command[0], &actions, &attr, argv, envp)
        guard rc == 0 else { throw TestFailure.message("cannot start \(executable): \(String(cString: strerror(rc)))") }
        pid = child
    }

    var isRunning: Bool {
        lock.lock()
        defer { lock.unlock() }
        if exitStatus != nil { return false }
        var status: Int32 = 0
        let r = waitpid(pid, &status, WNOHANG)
        if r == pid { exitStatus = Self.decode(status); return false }
        return r == 0
    }

    /// Sends `signal` to the process (and, for servers, its whole process group).
    func kill(_ signal: Int32 = SIGKILL, group: Bool = false) {
        _ = Foundation.kill(group ? -pid : pid, signal)
    }

    var stdoutSoFar: String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }
    var stderrSoFar: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }

    func wait() -> ProcessResult {
        lock.lock()
        if exitStatus == nil {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
            exitStatus = Self.decode(status)
        }
        let code = exitStatus!
        lock.unlock()
        let result = ProcessResult(status: code, stdout: stdoutSoFar, stderr: stderrSoFar)
        try? FileManager.default.removeItem(atPath: outPath)
        try? FileManager.default.removeItem(atPath: errPath)
        return result
    }

    /// Exit code, or 128 + signal for a killed process (as shells report it).
    private static func decode(_ status: Int32) -> Int32 {
        let sig = status & 0x7f
        return sig == 0 ? (status >> 8) & 0xff : 128 + sig
    }
}

/// Polls until `condition` holds or `timeout` passes (no fixed sleeps in tests).
func eventually(timeout: TimeInterval = 20, _ what: String, _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return }
        usleep(5_000)
    }
    throw TestFailure.message("timed out after \(timeout)s waiting for: \(what)")
}

/// A process as /proc shows it: its parent and whether it still runs (a zombie no longer does).
struct ProcInfo {
    let ppid: Int32
    let running: Bool

    /// nil when no such process exists.
    static func of(_ pid: Int32) -> ProcInfo? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 1, let ppid = Int32(fields[1]) else { return nil }
        return ProcInfo(ppid: ppid, running: fields[0] != "Z" && fields[0] != "X")
    }

    /// Whether `pid` names a process that still runs.
    static func running(_ pid: Int32) -> Bool { of(pid)?.running ?? false }
}

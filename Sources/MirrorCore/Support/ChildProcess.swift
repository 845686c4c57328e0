import Foundation

/// A child process started with posix_spawn (no shell), its stdin and stdout as pipes or inherited, and
/// stderr kept in a small bounded buffer for error messages. For running git's own server side
/// (`git upload-pack`), where libgit2 has none.
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    /// Write end of the child's stdin, or -1 when inherited.
    public private(set) var stdin: Int32
    /// Read end of the child's stdout, or -1 when inherited.
    public private(set) var stdout: Int32
    private let stderrFD: Int32
    private let stderrLock = NSLock()
    private var stderrText = ""
    private let stderrDone = DispatchSemaphore(value: 0)
    /// Sees every chunk of stderr as it arrives (on the collecting thread), for live progress.
    private let onStderr: (@Sendable (ArraySlice<UInt8>) -> Void)?

    public enum Stream { case pipe, inherit }

    private static let spawnLock = NSLock()

    /// Starts `executable` with `arguments` and `environment` (the whole environment: nothing is inherited).
    /// `onStderr` sees every chunk of stderr as it arrives, on the thread that collects it.
    public init(_ executable: String, _ arguments: [String], environment: [String: String],
                stdin stdinMode: Stream = .pipe, stdout stdoutMode: Stream = .pipe,
                onStderr: (@Sendable (ArraySlice<UInt8>) -> Void)? = nil) throws {
        self.onStderr = onStderr
        // Pipes are made and marked close-on-exec under the same lock as every spawn: no other child can
        // inherit one in between (which would hold a pipe open past its own child's exit).
        Self.spawnLock.lock()
        defer { Self.spawnLock.unlock() }
        var inPipe: [Int32] = [-1, -1]
        var outPipe: [Int32] = [-1, -1]
        var errPipe: [Int32] = [-1, -1]
        func makePipe(_ p: inout [Int32]) throws {
            guard pipe(&p) == 0 else { throw ChildProcessError("cannot make a pipe: \(String(cString: strerror(errno)))") }
            // Close-on-exec, so no other child inherits them (dup2 into 0-2 clears it for this one).
            _ = fcntl(p[0], F_SETFD, FD_CLOEXEC)
            _ = fcntl(p[1], F_SETFD, FD_CLOEXEC)
        }
        if stdinMode == .pipe { try makePipe(&inPipe) }
        if stdoutMode == .pipe { try makePipe(&outPipe) }
        try makePipe(&errPipe)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if stdinMode == .pipe { posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0) }
        if stdoutMode == .pipe { posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1) }
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        sigaddset(&defaults, SIGTERM)
        sigaddset(&defaults, SIGINT)
        posix_spawnattr_setsigmask(&attr, &empty)
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var child: pid_t = 0
        let rc = posix_spawn(&child, executable, &actions, &attr, argv, envp)
        for fd in [inPipe[0], outPipe[1], errPipe[1]] where fd >= 0 { close(fd) }
        guard rc == 0 else {
            for fd in [inPipe[1], outPipe[0], errPipe[0]] where fd >= 0 { close(fd) }
            throw ChildProcessError("cannot start \(executable): \(String(cString: strerror(rc)))")
        }
        pid = child
        stdin = inPipe[1]
        stdout = outPipe[0]
        stderrFD = errPipe[0]
        // A bigger pipe means fewer wake-ups per megabyte streamed.
        if stdout >= 0 { _ = fcntl(stdout, 1031 /* F_SETPIPE_SZ */, 1 << 20) }
        let thread = Thread { [self] in collectStderr() }
        thread.stackSize = 256 << 10
        thread.start()
    }

    deinit {
        closeStdin()
        closeStdout()
    }

    private func collectStderr() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        var kept = [UInt8]()
        while true {
            let n = read(stderrFD, &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            onStderr?(buffer[0..<n])
            if kept.count < 8192 { kept += buffer[0..<min(n, 8192 - kept.count)] }
        }
        close(stderrFD)
        stderrLock.lock()
        stderrText = String(decoding: kept, as: UTF8.self)
        stderrLock.unlock()
        stderrDone.signal()
    }

    /// Writes all of `bytes` to the child's stdin (blocking); false when the child stopped reading.
    @discardableResult
    public func writeStdin(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = write(stdin, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }

    public func closeStdin() {
        if stdin >= 0 { close(stdin); stdin = -1 }
    }

    public func closeStdout() {
        if stdout >= 0 { close(stdout); stdout = -1 }
    }

    public func kill(_ signal: Int32 = SIGTERM) {
        _ = Foundation.kill(pid, signal)
    }

    /// Waits for the child; its exit code (128 + signal when killed) and what it wrote to stderr.
    public func wait() -> (status: Int32, stderr: String) {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        stderrDone.wait()
        stderrDone.signal()
        stderrLock.lock()
        defer { stderrLock.unlock() }
        let sig = status & 0x7f
        return (sig == 0 ? (status >> 8) & 0xff : 128 + sig, stderrText)
    }

    /// The path of `name` on PATH (or the usual places), for git.
    public static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        for dir in path.split(separator: ":").map(String.init) + ["/usr/bin", "/usr/local/bin", "/bin"] {
            let candidate = dir + "/" + name
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}

/// Why a child process could not be started.
public struct ChildProcessError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

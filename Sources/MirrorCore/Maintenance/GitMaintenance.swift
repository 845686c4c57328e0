import Foundation

/// Runs git's own maintenance on one bare mirror: `git repack -a -d -b --cruft` (one pack with a
/// reachability bitmap, unreachable objects in a cruft pack until the grace period ends), `git pack-refs`
/// and `git commit-graph write`, with `gc.auto=0` so git never collects behind MirrorDeck's back.
///
/// git writes the new pack completely before it removes the old ones, and readers that lose a pack retry
/// with the new list, so clones running through a repack succeed. Blocking: call from a thread of its own.
public struct GitMaintenance: Sendable {
    public let path: String
    public let graceSeconds: Int

    public init(path: String, graceSeconds: Int) {
        self.path = path
        self.graceSeconds = graceSeconds
    }

    /// The steps, as git command lines (without `git -C path`), in the order they run.
    public func commands(now: Date = Date()) -> [[String]] {
        let expiry = Int(now.timeIntervalSince1970) - graceSeconds
        var repack = ["-c", "gc.auto=0", "repack", "-a", "-d", "-b", "-q", "--cruft", "--cruft-expiration=@\(expiry)"]
        // Deltas of many small incremental packs are poor: recompute them when most objects sit there.
        if GitStorageStats.read(path: path, bytes: false).recomputeDeltasReason != nil { repack.insert("-f", at: 5) }
        // A multi-pack index left by someone else would go stale: keep it current instead.
        if FileManager.default.fileExists(atPath: path + "/objects/pack/multi-pack-index") { repack.append("--write-midx") }
        return [
            ["config", "gc.auto", "0"],
            ["config", "maintenance.auto", "false"],
            repack,
            ["-c", "gc.auto=0", "pack-refs", "--all"],
            ["-c", "gc.auto=0", "commit-graph", "write", "--reachable", "--no-progress"],
        ]
    }

    /// Runs every step; stops at the first failure. `onStep` names each step as it starts.
    public func run(now: Date = Date(), onStep: (String) -> Void = { _ in }, isCancelled: @escaping () -> Bool = { false }) throws {
        guard let git = Self.gitExecutable() else { throw MaintenanceError.gitMissing }
        for command in commands(now: now) {
            if isCancelled() { throw MaintenanceError.cancelled }
            let step = command.first(where: { !$0.hasPrefix("-") && !$0.contains("=") }) ?? "git"
            onStep(step == "config" ? "configuring" : step == "repack" ? "repacking" : step)
            try Self.run(git: git, arguments: ["-C", path] + command, isCancelled: isCancelled)
        }
        if Self.packDirectoryNeedsCompacting(path + "/objects/pack") {
            onStep("compacting")
            Self.compactPackDirectory(path + "/objects/pack")
        }
    }

    /// ext4 never shrinks a directory: after a mirror's 1,000 incremental packs are repacked into one,
    /// `objects/pack` keeps the size it grew to for their 3,000 entries (172 KiB in the storage benchmark, 4 %
    /// of that mirror). Past 16 KiB it is worth replacing.
    static func packDirectoryNeedsCompacting(_ dir: String) -> Bool {
        var st = stat()
        return stat(dir, &st) == 0 && st.st_size > 16 << 10
    }

    /// Replaces `dir` by a fresh directory holding hard links to the same files, swapped in with
    /// `renameat2(RENAME_EXCHANGE)`: a reader listing the directory sees the old one or the new one, each
    /// with every file, and open files are the same inodes. The caller holds the mirror's lock, so no pack is
    /// being added meanwhile; one that appears anyway is linked into the new directory before the old goes.
    /// A crash leaves `<dir>.compact` (the fresh or the old directory, its files linked in `dir` too), which
    /// the next compaction removes. Anything unexpected leaves `dir` as it was.
    static func compactPackDirectory(_ dir: String) {
        let fm = FileManager.default
        let other = dir + ".compact"
        try? fm.removeItem(atPath: other)
        var st = stat()
        guard stat(dir, &st) == 0, mkdir(other, st.st_mode & 0o7777) == 0 else { return }
        guard let names = try? fm.contentsOfDirectory(atPath: dir),
              names.allSatisfy({ link(dir + "/" + $0, other + "/" + $0) == 0 }),
              exchange(other, dir) else {
            try? fm.removeItem(atPath: other)
            return
        }
        // `other` is the old directory now.
        for name in (try? fm.contentsOfDirectory(atPath: other)) ?? [] {
            if !fm.fileExists(atPath: dir + "/" + name) { _ = link(other + "/" + name, dir + "/" + name) }
            unlink(other + "/" + name)
        }
        rmdir(other)
    }

    /// glibc's `renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE)`, looked up at run time (the Glibc module
    /// does not export it); false where the kernel or filesystem cannot exchange.
    private static func exchange(_ a: String, _ b: String) -> Bool {
        typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32
        guard let symbol = dlsym(nil, "renameat2") else { return false } // nil: RTLD_DEFAULT
        let renameat2 = unsafeBitCast(symbol, to: RenameAt2.self)
        let AT_FDCWD: Int32 = -100, RENAME_EXCHANGE: UInt32 = 1 << 1
        return renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) == 0
    }

    /// The `git` on the PATH (or /usr/bin/git).
    public static func gitExecutable(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        let dirs = (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map(String.init) + ["/usr/bin"]
        return dirs.map { $0 + "/git" }.first { access($0, X_OK) == 0 }
    }

    /// Runs git, polling `isCancelled` (SIGTERM stops it; git removes its temporary files). Its stderr goes
    /// to a temporary file, read for the error's last line.
    static func run(git: String, arguments: [String], isCancelled: () -> Bool) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: git)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["GIT_TERMINAL_PROMPT"] = "0"
        env["LC_ALL"] = "C"
        process.environment = env
        let errPath = NSTemporaryDirectory() + "/mirrordeck-git-\(UUID().uuidString).err"
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: errPath) }
        let errHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        process.standardError = errHandle
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        var cancelled = false
        while process.isRunning {
            if !cancelled, isCancelled() {
                cancelled = true
                process.terminate()
            }
            usleep(20_000)
        }
        process.waitUntilExit()
        try? errHandle.close()
        if cancelled { throw MaintenanceError.cancelled }
        guard process.terminationStatus == 0 else {
            let text = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
            let last = text.split(separator: "\n").last.map(String.init) ?? ""
            let name = arguments.drop { $0 != "-C" }.dropFirst(2).filter { !$0.hasPrefix("-") && !$0.contains("=") }.prefix(2).joined(separator: " ")
            throw MaintenanceError.gitFailed(command: "git " + name, status: process.terminationStatus, detail: Redactor.redact(String(last.prefix(300))))
        }
    }
}

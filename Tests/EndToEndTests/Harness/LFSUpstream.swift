import Foundation

/// An upstream whose large files are Git LFS objects, made with the real `git lfs`: a working clone that
/// commits and pushes git objects to `<servedRoot>/<name>.git` and LFS objects to `lfsURL`.
final class LFSUpstream {
    let work: String
    let bare: String
    let name: String
    private let gitHome: String

    init(env: TestEnv, servedRoot: String, name: String, lfsURL: String?) throws {
        self.name = name
        work = env.path("lfs-work/\(name)")
        bare = servedRoot + "/\(name).git"
        gitHome = env.path("git-home")
        let fm = FileManager.default
        try fm.createDirectory(atPath: work, withIntermediateDirectories: true)
        try fm.createDirectory(atPath: gitHome, withIntermediateDirectories: true)
        try fm.createDirectory(atPath: servedRoot, withIntermediateDirectories: true)
        try git(["init", "-q", "-b", "main", work])
        try git(["init", "-q", "--bare", "-b", "main", bare])
        _ = fm.createFile(atPath: bare + "/git-daemon-export-ok", contents: nil)
        try git(["config", "http.receivepack", "false"], cwd: bare)
        try git(["lfs", "install", "--local"], cwd: work)
        if let lfsURL { try git(["config", "lfs.url", lfsURL], cwd: work) }
        try git(["config", "lfs.locksverify", "false"], cwd: work)
        try git(["lfs", "track", "*.bin"], cwd: work)
        try git(["add", ".gitattributes"], cwd: work)
        try git(["commit", "-q", "-m", "track *.bin with LFS"], cwd: work)
    }

    /// The environment every git call here gets: a private HOME, no system config, never a prompt.
    var environment: [String: String] {
        ["HOME": gitHome, "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0",
         "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.org",
         "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.org"]
    }

    @discardableResult
    func git(_ arguments: [String], cwd: String? = nil) throws -> String {
        let r = try Shell.run("/usr/bin/git", arguments, cwd: cwd, environment: environment)
        guard r.status == 0 else { throw TestFailure.message("git \(arguments.joined(separator: " ")) failed: \(r)") }
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Writes `data` to `path` in the working clone and stages it (an LFS object for `*.bin`); returns its oid.
    @discardableResult
    func add(_ path: String, _ data: Data) throws -> String {
        let full = work + "/" + path
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try data.write(to: URL(fileURLWithPath: full))
        try git(["add", path], cwd: work)
        return try Self.sha256(file: full)
    }

    /// Writes a plain (non-LFS) text file, e.g. a hand-made pointer or `.lfsconfig`, and stages it.
    func addText(_ path: String, _ text: String) throws {
        let full = work + "/" + path
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: full, atomically: true, encoding: .utf8)
        try git(["add", path], cwd: work)
    }

    func commit(_ message: String) throws {
        try git(["commit", "-q", "-m", message], cwd: work)
    }

    /// Pushes refs (the pre-push hook uploads their LFS objects to the LFS server).
    func push(_ args: [String]) throws {
        try git(["push", "-q", bare] + args, cwd: work)
    }

    /// The SHA-256 of a file (an LFS object id), by coreutils.
    static func sha256(file: String) throws -> String {
        let r = try Shell.run("/usr/bin/sha256sum", [file])
        guard r.status == 0, let hex = r.stdout.split(separator: " ").first else { throw TestFailure.message("sha256sum failed: \(r)") }
        return String(hex)
    }

    static func random(_ count: Int) -> Data {
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: count)
        for i in stride(from: 0, to: count, by: 8) {
            var word = generator.next() as UInt64
            withUnsafeBytes(of: &word) { raw in
                for j in 0..<min(8, count - i) { bytes[i + j] = raw[j] }
            }
        }
        return Data(bytes)
    }

    /// A pointer file's text, by the spec.
    static func pointer(oid: String, size: Int64) -> String {
        "version https://git-lfs.github.com/spec/v1\noid sha256:\(oid)\nsize \(size)\n"
    }

    /// Every file under `<repo>/lfs/objects`: relative path → content.
    static func objects(in repo: String) -> [String: Data] {
        let root = repo + "/lfs/objects"
        var out: [String: Data] = [:]
        guard let walker = FileManager.default.enumerator(atPath: root) else { return out }
        for case let rel as String in walker {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root + "/" + rel, isDirectory: &isDir), !isDir.boolValue,
                  let data = FileManager.default.contents(atPath: root + "/" + rel) else { continue }
            out[rel] = data
        }
        return out
    }
}

extension TestEnv {
    /// Runs `mirrordeck lfs SUB --home <home> ARGS` (the home flag goes after the second-level subcommand).
    @discardableResult
    func lfs(_ sub: String, _ args: String..., home: String? = nil) throws -> ProcessResult {
        try Shell.run(TestEnv.binary, ["lfs", sub, "--home", home ?? self.home] + args)
    }

    /// Starts `mirrordeck lfs SUB ARGS` in the background.
    func lfsStart(_ sub: String, _ args: [String]) throws -> RunningProcess {
        try Shell.start(TestEnv.binary, ["lfs", sub, "--home", home] + args)
    }
}

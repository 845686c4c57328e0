import Foundation

/// A generated upstream: a working clone to commit in, pushed to a bare repo that servers publish.
final class Upstream {
    let work: String
    let bare: String
    let name: String

    /// Creates `<servedRoot>/<name>.git` with a few commits on main, a `dev` branch and a tag `v1`.
    init(env: TestEnv, servedRoot: String, name: String, commits: Int = 3) throws {
        self.name = name
        work = env.path("work/\(name)")
        bare = servedRoot + "/\(name).git"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: servedRoot, withIntermediateDirectories: true)
        try Shell.git(["init", "-q", "-b", "main", work])
        try Shell.git(["init", "-q", "--bare", "-b", "main", bare])
        FileManager.default.createFile(atPath: bare + "/git-daemon-export-ok", contents: nil)
        try Shell.git(["config", "http.receivepack", "false"], cwd: bare)
        for i in 1...commits { try commit("file\(i).txt", "content \(i)\n") }
        try Shell.git(["branch", "dev"], cwd: work)
        try Shell.git(["tag", "-a", "v1", "-m", "release 1"], cwd: work)
        try push(["--all"])
        try push(["--tags"])
    }

    /// Commits one file change in the working clone.
    func commit(_ file: String, _ content: String, message: String? = nil) throws {
        try content.write(toFile: work + "/" + file, atomically: true, encoding: .utf8)
        try Shell.git(["add", file], cwd: work)
        try Shell.git(["commit", "-q", "-m", message ?? "change \(file)"], cwd: work)
    }

    /// Pushes to the served bare repo.
    func push(_ args: [String]) throws {
        try Shell.git(["push", "-q", bare] + args, cwd: work)
    }

    /// `git for-each-ref` lines of a repository, sorted (what "identical refs" means in these tests).
    static func refs(of repo: String) throws -> String {
        try Shell.git(["for-each-ref", "--format=%(objectname) %(refname)"], cwd: repo)
    }

    static func head(of repo: String) throws -> String {
        try Shell.git(["symbolic-ref", "HEAD"], cwd: repo)
    }
}

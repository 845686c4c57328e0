/// The git commands an SSH client sends on its own (`git clone ssh://mirror@host/org/model.git`):
/// `git-upload-pack '/org/model.git'`, `git-lfs-authenticate 'org/model.git' download`, and pushes,
/// which a mirror always refuses. Parsed strictly, without a shell, as gitolite does.
public enum GitSSHCommand: Sendable, Equatable {
    case uploadPack(mirror: String)
    case receivePack(mirror: String)
    case lfsAuthenticate(mirror: String, operation: String)

    /// nil when `text` is not a git command at all (then the MirrorDeck grammar applies); throws
    /// `AccessError.refused` for a git command with a bad path or operation.
    public static func parse(_ text: String) throws -> GitSSHCommand? {
        let words = text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard let first = words.first else { return nil }
        var verb = first
        var rest = Array(words.dropFirst())
        if first == "git", let second = rest.first, ["upload-pack", "receive-pack", "lfs-authenticate"].contains(second) {
            verb = "git-" + second
            rest.removeFirst()
        }
        switch verb {
        case "git-upload-pack", "git-receive-pack":
            guard rest.count == 1 else { throw AccessError.refused("\(verb) takes one repository path") }
            let name = try mirrorName(rest[0])
            return verb == "git-upload-pack" ? .uploadPack(mirror: name) : .receivePack(mirror: name)
        case "git-lfs-authenticate":
            guard rest.count == 2 else { throw AccessError.refused("git-lfs-authenticate takes a repository path and an operation") }
            let name = try mirrorName(rest[0])
            guard rest[1] == "download" || rest[1] == "upload" else {
                throw AccessError.refused("git-lfs-authenticate operation must be download or upload")
            }
            return .lfsAuthenticate(mirror: name, operation: rest[1])
        default:
            return nil
        }
    }

    /// `'/org/model.git'` → `org/model`: one pair of single quotes at most, one leading `/` or `~/`, `.git` optional.
    static func mirrorName(_ word: String) throws -> String {
        var path = Substring(word)
        if path.hasPrefix("'") || path.hasSuffix("'") {
            guard path.count >= 2, path.hasPrefix("'"), path.hasSuffix("'") else { throw AccessError.refused("unbalanced quotes in the repository path") }
            path = path.dropFirst().dropLast()
        }
        if path.hasPrefix("~/") { path = path.dropFirst(2) } else if path.hasPrefix("/") { path = path.dropFirst() }
        if path.hasSuffix("/") { path = path.dropLast() }
        if path.hasSuffix(".git") { path = path.dropLast(4) }
        let name = String(path)
        guard MirrorName.isValid(name) else { throw AccessError.refused("no mirror path \(Redactor.quote(word)): use NAME.git as listed by 'status'") }
        return name
    }
}

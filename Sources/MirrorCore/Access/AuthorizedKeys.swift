import Foundation

/// The managed block of a service account's `authorized_keys`: one forced-command line per granted key.
/// Lines outside the block are kept exactly as they are; the file is replaced atomically.
public enum AuthorizedKeys {
    public static let begin = "# BEGIN MIRRORDECK MANAGED BLOCK: changed by 'mirrordeck access'; edits here are overwritten"
    public static let end = "# END MIRRORDECK MANAGED BLOCK"

    /// The line sshd reads for one grant: no forwarding, a pty allowed, and the session forced.
    public static func line(for grant: Grant, binary: String, home: String) -> String {
        "restrict,pty,command=\"\(binary) ssh-session --home \(home) --user \(grant.user)\" \(grant.key)"
    }

    /// `existing` with its managed block replaced (or appended) by one holding `grants`.
    public static func render(existing: String, grants: [Grant], binary: String, home: String) -> String {
        var outside: [Substring] = []
        var inBlock = false
        var insertAt: Int?
        for line in existing.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == begin { inBlock = true; insertAt = insertAt ?? outside.count; continue }
            if line == end { inBlock = false; continue }
            if !inBlock { outside.append(line) }
        }
        if outside.last == "" { outside.removeLast() }
        let block = [begin] + grants.map { line(for: $0, binary: binary, home: home) } + [end]
        var lines = outside.map(String.init)
        lines.insert(contentsOf: block, at: insertAt ?? lines.count)
        return lines.joined(separator: "\n") + "\n"
    }

    /// Rewrites the file at `path` (temp file in the same directory, fsync, rename; mode 0600).
    public static func write(path: String, grants: [Grant], binary: String, home: String) throws {
        guard binary.hasPrefix("/"), home.hasPrefix("/"), !binary.contains("\""), !home.contains("\""), !binary.contains(" "), !home.contains(" ") else {
            throw AccessError.authorizedKeys(path: path, reason: "the mirrordeck and home paths must be absolute, without spaces or quotes")
        }
        let existing: String
        if FileManager.default.fileExists(atPath: path) {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw AccessError.authorizedKeys(path: path, reason: "it is not readable")
            }
            existing = String(decoding: data, as: UTF8.self)
        } else {
            existing = ""
            let dir = (path as NSString).deletingLastPathComponent
            try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        let text = render(existing: existing, grants: grants, binary: binary, home: home)
        let temp = path + ".mirrordeck-\(getpid()).tmp"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw AccessError.authorizedKeys(path: path, reason: String(cString: strerror(errno))) }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd)
        close(fd)
        guard written == bytes.count, synced == 0, rename(temp, path) == 0 else {
            unlink(temp)
            throw AccessError.authorizedKeys(path: path, reason: String(cString: strerror(errno)))
        }
    }
}

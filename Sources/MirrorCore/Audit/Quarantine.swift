import Foundation

/// Moves bad data aside, never deleting it: `quarantine/<date>/<mirror>/…` inside the home, each item with
/// a note saying what it is, what was expected, what was found, when, and which audit moved it.
///
/// A move is crash-safe: the note is first written durably as `<item>.note.pending`, then the item is
/// renamed (atomically, within the home's file system, never replacing anything), then the note is renamed
/// to `<item>.note`. `recover` finishes or undoes what a killed audit left: a pending note whose item
/// arrived becomes the note; a pending note whose item never moved, or one killed while being written
/// (`<item>.note.pending.tmp-<pid>`), is dropped (the item is still in place, and the next audit checks it again).
struct Quarantine: Sendable {
    let home: Home
    let mirror: String
    let auditId: Int64
    let actor: String
    /// `YYYY-MM-DD` (UTC) of the audit's start.
    let day: String

    static let pendingSuffix = ".note.pending"
    static let noteSuffix = ".note"

    init(home: Home, mirror: String, auditId: Int64, actor: String, started: Date) {
        self.home = home
        self.mirror = mirror
        self.auditId = auditId
        self.actor = actor
        day = Self.day(started)
    }

    static func day(_ date: Date) -> String { String(TimeFormat.iso(date)?.prefix(10) ?? "unknown-date") }

    /// A mirror name as one directory level ("owner/repo" → "owner%2Frepo").
    static func directoryName(_ mirror: String) -> String { mirror.replacingOccurrences(of: "/", with: "%2F") }

    /// This audit's quarantine directory for the mirror.
    var directory: String { home.quarantineDirectory + "/" + day + "/" + Self.directoryName(mirror) }

    /// Moves `source` (a file, symlink, special file or directory) to `<directory>/<relative>` with a note.
    /// `facts` are the note's lines after the standard ones. Returns the new path relative to the home.
    /// With `root` (a directory `source` is inside, such as the mirror), the way from `root` to `source` is
    /// opened directory by directory without following a symlink, so a tree changed meanwhile cannot make
    /// the move reach outside it.
    func move(_ source: String, to relative: String, within root: String? = nil, facts: [(String, String)], now: Date = Date()) throws -> String {
        var parent: (fd: Int32, name: String)?
        if let root {
            guard source.hasPrefix(root + "/"), let opened = SafeFS.openParent(root: root, relative: String(source.dropFirst(root.count + 1))) else {
                throw AuditError.io(path: source, message: "cannot reach it without following a symlink: \(SafeFS.errorText); left in place")
            }
            parent = opened
        }
        defer { if let parent { close(parent.fd) } }
        let base = directory + "/" + relative
        try SafeFS.makeDirectories((base as NSString).deletingLastPathComponent)
        var attempt = 1
        while true {
            let target = attempt == 1 ? base : base + ".\(attempt)"
            attempt += 1
            var st = stat()
            if lstat(target, &st) == 0 || lstat(target + Self.noteSuffix, &st) == 0 || lstat(target + Self.pendingSuffix, &st) == 0 {
                continue
            }
            let relativeToHome = String(target.dropFirst(home.root.count + 1))
            var lines: [(String, String)] = [
                ("mirror", mirror),
                ("original-path", String(source.hasPrefix(home.root + "/") ? source.dropFirst(home.root.count + 1) : Substring(source))),
                ("quarantine-path", relativeToHome),
            ]
            lines += facts
            lines += [("quarantined-at", TimeFormat.iso(now) ?? ""), ("audit", "#\(auditId)"), ("actor", actor)]
            let note = lines.map { "\($0.0): \($0.1)" }.joined(separator: "\n") + "\n"
            try SafeFS.writeDurably(note, to: target + Self.pendingSuffix)
            let moved = parent.map { SafeFS.moveNoReplace($0.fd, $0.name, target) } ?? SafeFS.moveNoReplace(source, target)
            guard moved else {
                let err = errno
                unlink(target + Self.pendingSuffix)
                if err == EEXIST { continue }
                throw AuditError.io(path: source, message: "cannot move it to quarantine: \(String(cString: strerror(err)))")
            }
            SafeFS.syncDirectory((source as NSString).deletingLastPathComponent)
            SafeFS.syncDirectory((target as NSString).deletingLastPathComponent)
            if rename(target + Self.pendingSuffix, target + Self.noteSuffix) != 0 {
                throw AuditError.io(path: target + Self.noteSuffix, message: "moved to quarantine, but its note could not be finished: \(SafeFS.errorText)")
            }
            return relativeToHome
        }
    }

    /// Finishes quarantine moves of `mirror` that a killed audit left half done; returns how many notes it fixed.
    @discardableResult
    static func recover(home: Home, mirror: String) -> Int {
        var fixed = 0
        let root = home.quarantineDirectory
        for day in SafeFS.directoryEntries(root) {
            let dir = root + "/" + day + "/" + directoryName(mirror)
            SafeFS.walk(dir) { path, kind in
                guard kind == .regular else { return }
                // A pending note is written as `<item>.note.pending.tmp-<pid>` and renamed: a kill before the
                // rename leaves that temporary behind, and the item was never moved.
                if let range = path.range(of: pendingSuffix + ".tmp-", options: .backwards),
                   path[range.upperBound...].allSatisfy(\.isNumber) {
                    if unlink(path) == 0 { fixed += 1 }
                    return
                }
                guard path.hasSuffix(pendingSuffix) else { return }
                let item = String(path.dropLast(pendingSuffix.count))
                var st = stat()
                if lstat(item, &st) == 0 {
                    if rename(path, item + noteSuffix) == 0 { fixed += 1 }
                } else if unlink(path) == 0 {
                    fixed += 1
                }
            }
        }
        return fixed
    }
}

extension SafeFS {
    /// Names in a directory (not `.` or `..`); empty when it cannot be read.
    static func directoryEntries(_ path: String) -> [String] {
        let fd = openDirectory(AT_FDCWD, path)
        guard fd >= 0 else { return [] }
        return entries(fd: fd, closing: true)
    }

    /// Names in the open directory `fd`; the fd is closed when `closing`, else left open (a dup is read).
    static func entries(fd: Int32, closing: Bool = false) -> [String] {
        let readable = closing ? fd : dup(fd)
        guard readable >= 0, let dir = fdopendir(readable) else {
            if closing || readable >= 0 { close(readable) }
            return []
        }
        defer { closedir(dir) }
        if !closing { rewinddir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Visits every entry below `root` (depth first), never following symlinks.
    static func walk(_ root: String, _ visit: (String, Kind) -> Void) {
        for name in directoryEntries(root) {
            let path = root + "/" + name
            var st = stat()
            guard lstat(path, &st) == 0 else { continue }
            let k = kind(st)
            visit(path, k)
            if k == .directory { walk(path, visit) }
        }
    }
}

import Foundation

/// What is under a mirror's `lfs/objects`, read without following a single symlink.
///
/// The git-lfs layout is `lfs/objects/ab/cd/<oid>` with `ab`, `cd` the oid's first four hex digits. Files at
/// exactly that place are `placed` (whatever their kind); everything else is a `Stray`: a name that is not an
/// OID or a shard, a valid OID in the wrong directory, or a symlink or special file at any level. A stray
/// that stands where a directory of the layout belongs (`ab`, `ab/cd`, or `lfs/objects` itself) also blocks
/// the objects below it.
///
/// Filled by `read` on one thread, then only read (opening objects is safe from any thread).
final class LFSTree: @unchecked Sendable {
    struct Entry: Sendable, Equatable {
        var kind: SafeFS.Kind
        var size: Int64
        var device: UInt64
        var inode: UInt64
        var links: UInt64
    }

    struct Stray: Sendable, Equatable {
        /// Relative to the mirror repository: `lfs/objects/ab/notes.txt`.
        var path: String
        var kind: SafeFS.Kind
        var verdict: AuditVerdict
        var detail: String
        var size: Int64
    }

    let mirrorPath: String
    /// The open `lfs/objects` directory (nil when there is none, or it is not a real directory).
    private(set) var objectsFD: Int32 = -1
    private(set) var placed: [String: Entry] = [:]
    private(set) var strays: [Stray] = []
    /// Strays that block a part of the layout: key "" (`lfs/objects` itself), "ab" or "ab/cd".
    private(set) var blockers: [String: Stray] = [:]

    init(mirrorPath: String) {
        self.mirrorPath = mirrorPath
    }

    deinit { if objectsFD >= 0 { close(objectsFD) } }

    /// Reads the tree. Returns false when the mirror repository itself cannot be opened.
    func read() -> Bool {
        let repo = open(mirrorPath, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard repo >= 0 else { return false }
        defer { close(repo) }
        guard let lfsFD = descend(repo, "lfs", relative: "lfs", blockKey: "") else { return true }
        defer { close(lfsFD) }
        guard let objects = descend(lfsFD, "objects", relative: "lfs/objects", blockKey: "") else { return true }
        objectsFD = objects
        for first in SafeFS.entries(fd: objects) {
            let rel1 = "lfs/objects/" + first
            guard let st = SafeFS.lstatAt(objects, first) else { continue }
            guard Self.isShard(first) else {
                addStray(rel1, st, detail: SafeFS.kind(st) == .directory ? "a directory that is not part of the git-lfs layout" : "not part of the git-lfs layout (lfs/objects/ab/cd/<oid>)")
                continue
            }
            guard let fd1 = descend(objects, first, relative: rel1, blockKey: first) else { continue }
            defer { close(fd1) }
            for second in SafeFS.entries(fd: fd1) {
                let rel2 = rel1 + "/" + second
                guard let st2 = SafeFS.lstatAt(fd1, second) else { continue }
                guard Self.isShard(second) else {
                    addStray(rel2, st2, detail: "not part of the git-lfs layout (lfs/objects/ab/cd/<oid>)")
                    continue
                }
                guard let fd2 = descend(fd1, second, relative: rel2, blockKey: first + "/" + second) else { continue }
                defer { close(fd2) }
                for name in SafeFS.entries(fd: fd2) {
                    guard let st3 = SafeFS.lstatAt(fd2, name) else { continue }
                    let rel3 = rel2 + "/" + name
                    if let oid = LFSOID(name), oid.hex.hasPrefix(first + second) {
                        placed[oid.hex] = Entry(kind: SafeFS.kind(st3), size: Int64(st3.st_size), device: UInt64(st3.st_dev),
                                                inode: UInt64(st3.st_ino), links: UInt64(st3.st_nlink))
                    } else if LFSOID(name) != nil {
                        addStray(rel3, st3, detail: "a valid OID in the wrong directory (it belongs in lfs/objects/\(name.prefix(2))/\(name.dropFirst(2).prefix(2)))")
                    } else {
                        addStray(rel3, st3, detail: "its name is not an LFS object id (64 lowercase hex digits)")
                    }
                }
            }
        }
        return true
    }

    /// Opens `name` below `dirfd` as a directory of the layout; records a blocking stray when it is a
    /// symlink, a file or a special file. Nil when missing or blocked.
    private func descend(_ dirfd: Int32, _ name: String, relative: String, blockKey: String) -> Int32? {
        guard let st = SafeFS.lstatAt(dirfd, name) else { return nil }
        guard SafeFS.kind(st) == .directory else {
            let stray = makeStray(relative, st, detail: "stands where the directory \(relative) belongs")
            strays.append(stray)
            blockers[blockKey] = stray
            return nil
        }
        let fd = SafeFS.openDirectory(dirfd, name)
        return fd >= 0 ? fd : nil
    }

    private func addStray(_ rel: String, _ st: stat, detail: String) {
        strays.append(makeStray(rel, st, detail: detail))
    }

    private func makeStray(_ rel: String, _ st: stat, detail: String) -> Stray {
        let kind = SafeFS.kind(st)
        switch kind {
        case .symlink:
            let target = SafeFS.linkTarget(AT_FDCWD, mirrorPath + "/" + rel) ?? "?"
            return Stray(path: rel, kind: kind, verdict: .symlink, detail: "a symlink to \(Redactor.quote(target)) (not followed); \(detail)", size: 0)
        case let .special(what):
            return Stray(path: rel, kind: kind, verdict: .special, detail: "a \(what) (never opened); \(detail)", size: 0)
        default:
            return Stray(path: rel, kind: kind, verdict: .foreign, detail: detail, size: kind == .regular ? Int64(st.st_size) : 0)
        }
    }

    /// The stray that keeps `oid`'s place from being reached without following a link, if any.
    func blocker(of oid: LFSOID) -> Stray? {
        let hex = oid.hex
        let ab = String(hex.prefix(2))
        return blockers[""] ?? blockers[ab] ?? blockers[ab + "/" + String(hex.dropFirst(2).prefix(2))]
    }

    /// Opens a placed object for reading, never through a symlink; -1 with errno on failure.
    func openObject(_ oid: LFSOID) -> Int32 {
        guard objectsFD >= 0 else {
            errno = ENOENT
            return -1
        }
        let hex = oid.hex
        let d1 = SafeFS.openDirectory(objectsFD, String(hex.prefix(2)))
        guard d1 >= 0 else { return -1 }
        defer { close(d1) }
        let d2 = SafeFS.openDirectory(d1, String(hex.dropFirst(2).prefix(2)))
        guard d2 >= 0 else { return -1 }
        defer { close(d2) }
        return SafeFS.openRegularFile(d2, hex)
    }

    /// Two lowercase hex digits.
    static func isShard(_ name: String) -> Bool {
        let u = Array(name.utf8)
        return u.count == 2 && u.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }
}

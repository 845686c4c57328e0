import CGit2
import Foundation

/// Writing a sync's refs in bulk: one `packed-refs` rewrite instead of a lock, a directory and a rename
/// per ref.
///
/// git's own protocol, in an order that keeps every ref at its old or its new value whenever the process
/// dies: the complete new ref set goes to `packed-refs.lock` (created exclusively), is fsynced and renamed
/// over `packed-refs`; only then are the loose ref files removed. A loose file still present shadows the
/// packed value with the ref's old value (or keeps a deleted ref at its old value), which is consistent;
/// removing it exposes the new value (or the deletion). A lock left by a killed writer is removed by the
/// next sync (`removeStaleFiles`), which then writes the whole set again.
extension GitRepository {
    /// Makes the repository's refs under `refs/` exactly `target` (name → oid). `peeled` gives the peeled
    /// oid of annotated tags as upstream advertised them (name → oid); refs missing there are peeled here.
    /// `previous` is the ref set read before (its loose files are removed once the new set is in place).
    func replaceRefs(with target: [String: String], peeled: [String: String], previous: [String: String]) throws {
        let lockPath = path + "/packed-refs.lock"
        let text = try packedRefsText(target, peeled: peeled)
        RefWriteFault.begin()
        let fd = Glibc.open(lockPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            let err = errno
            throw GitError.repository(path: path, message: err == EEXIST
                ? "packed-refs.lock exists: another git process is writing refs; try again when it is done"
                : "cannot create packed-refs.lock: \(String(cString: strerror(err)))")
        }
        var written = false
        defer { if !written { unlink(lockPath) } }
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + (64 << 10))
            let n = bytes[offset..<end].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let err = errno
                close(fd)
                throw GitError.repository(path: path, message: "cannot write packed-refs.lock: \(String(cString: strerror(err)))")
            }
            offset += n
            RefWriteFault.pause()
        }
        let synced = fsync(fd) == 0
        close(fd)
        guard synced else {
            throw GitError.repository(path: path, message: "cannot write packed-refs.lock: \(String(cString: strerror(errno)))")
        }
        RefWriteFault.pause()
        guard rename(lockPath, path + "/packed-refs") == 0 else {
            throw GitError.repository(path: path, message: "cannot replace packed-refs: \(String(cString: strerror(errno)))")
        }
        written = true
        Self.fsyncDirectory(path)
        RefWriteFault.pause()
        removeLooseRefs(names: Set(previous.keys).union(target.keys))
        RefWriteFault.end()
    }

    /// The `packed-refs` file for `refs`: sorted by name bytewise, fully peeled, as `git pack-refs` writes it.
    func packedRefsText(_ refs: [String: String], peeled: [String: String]) throws -> String {
        let names = refs.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        var out = "# pack-refs with: peeled fully-peeled sorted \n"
        out.reserveCapacity(names.count * 100)
        for name in names {
            let oid = refs[name]!
            out += oid + " " + name + "\n"
            if let peel = try peeledTarget(name: name, oid: oid, advertised: peeled) { out += "^" + peel + "\n" }
        }
        return out
    }

    /// The oid an annotated tag finally points at, or nil when `oid` is not a tag.
    private func peeledTarget(name: String, oid: String, advertised: [String: String]) throws -> String? {
        if let peel = advertised[name] { return peel == oid ? nil : peel }
        var id = git_oid()
        guard git_oid_fromstr(&id, oid) == 0 else {
            throw GitError.repository(path: path, message: "ref \(name) has a malformed target \(oid)")
        }
        var object: OpaquePointer?
        var rc = git_object_lookup(&object, handle, &id, GIT_OBJECT_ANY)
        guard rc == 0, let object else {
            throw GitError.repository(path: path, message: "ref \(name) points at \(oid), which is missing: \(GitError.lastMessage(rc))")
        }
        defer { git_object_free(object) }
        guard git_object_type(object) == GIT_OBJECT_TAG else { return nil }
        var target: OpaquePointer?
        rc = git_tag_peel(&target, object)
        guard rc == 0, let target else {
            throw GitError.repository(path: path, message: "tag \(name) cannot be peeled: \(GitError.lastMessage(rc))")
        }
        defer { git_object_free(target) }
        return Git2.hex(git_object_id(target).pointee)
    }

    /// Removes the loose files of `names` (now in packed-refs, or deleted), then the directories left empty
    /// (refs/heads and refs/tags stay: git expects them). One walk of refs/ finds them: after the first bulk
    /// write it holds almost nothing, so this costs a few `getdents`, not a syscall per ref.
    private func removeLooseRefs(names: Set<String>) {
        var files: [String] = []
        var dirs: [String] = []
        func walk(_ rel: String) {
            guard let dir = opendir(path + "/" + rel) else { return }
            defer { closedir(dir) }
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
                }
                if name == "." || name == ".." { continue }
                let child = rel + "/" + name
                var isDir = entry.pointee.d_type == UInt8(DT_DIR)
                if entry.pointee.d_type == UInt8(DT_UNKNOWN) {
                    var st = stat()
                    isDir = lstat(path + "/" + child, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
                }
                if isDir {
                    dirs.append(child)
                    walk(child)
                } else if names.contains(child) {
                    files.append(child)
                }
            }
        }
        walk("refs")
        for (i, file) in files.enumerated() {
            unlink(path + "/" + file)
            if i % 50 == 49 { RefWriteFault.pause() }
        }
        // Deepest first, so a parent is tried after its children; rmdir leaves non-empty ones alone.
        for dir in dirs.reversed() where dir != "refs/heads" && dir != "refs/tags" {
            rmdir(path + "/" + dir)
        }
    }

    private static func fsyncDirectory(_ path: String) {
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }

    /// Whether `name` is a ref name git accepts (upstream names are checked before they are written).
    static func isValidRefName(_ name: String) -> Bool {
        var valid: Int32 = 0
        return git_reference_name_is_valid(&valid, name) == 0 && valid == 1
    }

    /// Whether every oid is an object in the repository (a ref is never written to a missing object).
    func missingObjects(_ oids: some Sequence<String>) throws -> [String] {
        var odb: OpaquePointer?
        let rc = git_repository_odb(&odb, handle)
        guard rc == 0, let odb else { throw GitError.repository(path: path, message: GitError.lastMessage(rc)) }
        defer { git_odb_free(odb) }
        // One look at objects/pack now, not one per missing object: `git_odb_exists` rescans the pack
        // directory on every miss, and for a new mirror every ref's object is missing (2,000 refs: 3,868
        // directory scans, most of the sync's time).
        _ = git_odb_refresh(odb)
        var missing: [String] = []
        for oid in oids {
            var id = git_oid()
            if git_oid_fromstr(&id, oid) != 0 || git_odb_exists_ext(odb, &id, UInt32(GIT_ODB_LOOKUP_NO_REFRESH.rawValue)) != 1 { missing.append(oid) }
        }
        return missing
    }
}

/// A test-only slowdown of the bulk ref write (`MIRRORDECK_FAULT_REF_WRITE_PAUSE_MS`), so a crash test can
/// SIGKILL a sync at random points inside the write. Unset (always, outside tests) it costs nothing.
enum RefWriteFault {
    static let pauseMicroseconds: UInt32 = {
        guard let raw = ProcessInfo.processInfo.environment["MIRRORDECK_FAULT_REF_WRITE_PAUSE_MS"], let ms = UInt32(raw) else { return 0 }
        return ms * 1000
    }()

    static func pause() {
        if pauseMicroseconds > 0 { usleep(pauseMicroseconds) }
    }

    /// Tells the test (on stderr) that the write starts now.
    static func begin() {
        guard pauseMicroseconds > 0 else { return }
        FileHandle.standardError.write(Data("mirrordeck: fault point: bulk ref write begins\n".utf8))
    }

    /// Holds the process for 40 pauses after the write, so a kill the test aims at the write's tail lands in a
    /// live process however the machine schedules the test's timer (a kill after the write proves nothing).
    static func end() {
        guard pauseMicroseconds > 0 else { return }
        FileHandle.standardError.write(Data("mirrordeck: fault point: bulk ref write ends\n".utf8))
        usleep(pauseMicroseconds * 40)
    }
}

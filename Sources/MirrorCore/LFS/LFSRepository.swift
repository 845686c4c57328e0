import CGit2
import Foundation

/// Read-only libgit2 access to a mirror for LFS: ref tips, files on the default branch, and the pointer scan.
/// Confine an instance to one thread (libgit2 errors are thread-local).
final class LFSRepository {
    let path: String
    let handle: OpaquePointer
    let odb: OpaquePointer

    private init(path: String, handle: OpaquePointer, odb: OpaquePointer) {
        self.path = path
        self.handle = handle
        self.odb = odb
    }

    deinit {
        git_odb_free(odb)
        git_repository_free(handle)
    }

    /// Opens an existing bare repository; never creates one.
    static func open(path: String) throws -> LFSRepository {
        Git2.ensureInitialized()
        var repo: OpaquePointer?
        var rc = git_repository_open_bare(&repo, path)
        guard rc == 0, let repo else { throw LFSError.repository(path: path, message: GitError.lastMessage(rc)) }
        var odb: OpaquePointer?
        rc = git_repository_odb(&odb, repo)
        guard rc == 0, let odb else {
            let message = GitError.lastMessage(rc)
            git_repository_free(repo)
            throw LFSError.repository(path: path, message: message)
        }
        return LFSRepository(path: path, handle: repo, odb: odb)
    }

    /// What a ref finally points at, after peeling tags.
    struct Tip: Hashable {
        var oid: git_oid
        var kind: git_object_t
        var hex: String { Git2.hex(oid) }

        static func == (a: Tip, b: Tip) -> Bool { OIDKey(a.oid) == OIDKey(b.oid) }
        func hash(into hasher: inout Hasher) { hasher.combine(OIDKey(oid)) }
    }

    /// The peeled targets of every ref under `refs/` (branches, tags, and any other refs the mirror holds).
    func tips() throws -> [Tip] {
        var out = Set<Tip>()
        try forEachRef { _, _, tip in out.insert(tip) }
        return Array(out)
    }

    /// One ref under `refs/`: its name, what it finally points at, and its date (the tagger's for an
    /// annotated tag, else the committer's of the commit it peels to; 0 when neither exists).
    struct NamedTip {
        var name: String
        var tip: Tip
        var date: Int64
    }

    /// Every ref under `refs/` with its peeled target and date (dangling refs are left out).
    func namedTips() throws -> [NamedTip] {
        var out: [NamedTip] = []
        try forEachRef { name, ref, tip in
            var date: Int64 = 0
            var tag: OpaquePointer?
            if git_reference_peel(&tag, ref, GIT_OBJECT_TAG) == 0, let tag {
                if let signature = git_tag_tagger(tag) { date = Int64(signature.pointee.when.time) }
                git_object_free(tag)
            } else {
                git_error_clear()
            }
            if date == 0 {
                var commit: OpaquePointer?
                if git_reference_peel(&commit, ref, GIT_OBJECT_COMMIT) == 0, let commit {
                    date = Int64(git_commit_time(commit))
                    git_object_free(commit)
                } else {
                    git_error_clear()
                }
            }
            out.append(NamedTip(name: name, tip: tip, date: date))
        }
        return out
    }

    /// Calls `body` with the name, the reference and the peeled target of every ref under `refs/`; dangling
    /// refs (nothing to scan behind them) are skipped.
    private func forEachRef(_ body: (String, OpaquePointer, Tip) throws -> Void) throws {
        var iter: OpaquePointer?
        var rc = git_reference_iterator_new(&iter, handle)
        guard rc == 0, let iter else { throw LFSError.repository(path: path, message: GitError.lastMessage(rc)) }
        defer { git_reference_iterator_free(iter) }
        while true {
            var ref: OpaquePointer?
            rc = git_reference_next(&ref, iter)
            if rc == GIT_ITEROVER.rawValue { break }
            guard rc == 0, let ref else { throw LFSError.repository(path: path, message: GitError.lastMessage(rc)) }
            defer { git_reference_free(ref) }
            let name = String(cString: git_reference_name(ref))
            // The hidden refs of an unfinished stepwise fetch are not the mirror's (yet).
            guard name.hasPrefix("refs/"), !name.hasPrefix(FetchSteps.hiddenPrefix) else { continue }
            var object: OpaquePointer?
            guard git_reference_peel(&object, ref, GIT_OBJECT_ANY) == 0, let object else {
                git_error_clear()
                continue
            }
            let tip = Tip(oid: git_object_id(object).pointee, kind: git_object_type(object))
            git_object_free(object)
            try body(name, ref, tip)
        }
    }

    /// The content of a file at the root of the tree HEAD points at, or nil (no HEAD, no such file, too big).
    func fileOnDefaultBranch(_ name: String, maxSize: Int = 64 << 10) -> [UInt8]? {
        var commit: OpaquePointer?
        guard git_revparse_single(&commit, handle, "HEAD^{commit}") == 0, let commit else {
            git_error_clear()
            return nil
        }
        defer { git_object_free(commit) }
        var tree: OpaquePointer?
        guard git_commit_tree(&tree, commit) == 0, let tree else { git_error_clear(); return nil }
        defer { git_tree_free(tree) }
        guard let entry = git_tree_entry_byname(tree, name), git_tree_entry_type(entry) == GIT_OBJECT_BLOB else { return nil }
        return readBlob(git_tree_entry_id(entry), size: 0..<(maxSize + 1))
    }

    /// Reads a blob when its size is in `size` (the size comes from the object header, so other blobs
    /// are never inflated).
    func readBlob(_ id: UnsafePointer<git_oid>, size: Range<Int>) -> [UInt8]? {
        var len = 0
        var type = GIT_OBJECT_INVALID
        guard git_odb_read_header(&len, &type, odb, id) == 0 else { git_error_clear(); return nil }
        guard type == GIT_OBJECT_BLOB, size.contains(len) else { return nil }
        var object: OpaquePointer?
        guard git_odb_read(&object, odb, id) == 0, let object else { git_error_clear(); return nil }
        defer { git_odb_object_free(object) }
        let size = git_odb_object_size(object)
        guard let data = git_odb_object_data(object) else { return [] }
        return Array(UnsafeRawBufferPointer(start: data, count: size))
    }
}

/// A git oid as a cheap hashable key (20 bytes in three integers).
struct OIDKey: Hashable {
    let a: UInt64
    let b: UInt64
    let c: UInt32

    init(_ oid: git_oid) {
        var oid = oid
        (a, b, c) = withUnsafeBytes(of: &oid.id) { raw in
            (raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self),
             raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
             raw.loadUnaligned(fromByteOffset: 16, as: UInt32.self))
        }
    }
}

import CGit2
import Foundation

/// What one pointer scan saw.
struct PointerScan {
    /// Every ref tip now (hex), to store as the cursor for the next scan.
    var tips: [String] = []
    /// Pointers found in the commits scanned (first size seen per oid).
    var pointers: [LFSOID: Int64] = [:]
    /// True when no ref moved to an unscanned commit: nothing was walked.
    var upToDate = false
    /// True when history was not walked because no object in the database can be a pointer (see
    /// `PointerCandidates`); `commitsScanned` then counts the commits that covers.
    var census = false
    var commitsScanned = 0
    var blobsChecked = 0
    var malformedCount = 0
    /// The first few malformed pointers: blob id and what is wrong.
    var malformed: [(blob: String, reason: String)] = []
}

/// Finds Git LFS pointers reachable from a mirror's refs, looking only at what is new.
///
/// The cursor is the set of ref tips scanned last time. Only commits reachable from the current tips and
/// not from those are walked; in each, only tree entries that differ from the first parent's are visited
/// (unchanged ones were seen when the parent was scanned), each tree and blob at most once, and only blobs
/// smaller than 1024 bytes (size from the object header) are read and parsed.
final class PointerScanner {
    private let repo: LFSRepository
    private var seenTrees = Set<OIDKey>()
    private var seenBlobs = Set<OIDKey>()
    private var result = PointerScan()
    private var cancelled = false
    private let isCancelled: () -> Bool

    static let maxExamples = 5

    init(repository: LFSRepository, isCancelled: @escaping () -> Bool = { false }) {
        self.repo = repository
        self.isCancelled = isCancelled
    }

    /// Scans what is reachable from the refs but not from `previousTips` (all of history when empty).
    func scan(previousTips: Set<String>) throws -> PointerScan {
        let tips = try repo.tips()
        result = PointerScan()
        result.tips = tips.map(\.hex).sorted()
        let fresh = tips.filter { !previousTips.contains($0.hex) }
        if fresh.isEmpty {
            result.upToDate = true
            return result
        }
        if previousTips.isEmpty, noPointerAnywhere() { return result }
        var walk: OpaquePointer?
        let rc = git_revwalk_new(&walk, repo.handle)
        guard rc == 0, let walk else { throw LFSError.repository(path: repo.path, message: GitError.lastMessage(rc)) }
        defer { git_revwalk_free(walk) }
        var pushed = 0
        for tip in fresh {
            var oid = tip.oid
            switch tip.kind {
            case GIT_OBJECT_COMMIT:
                if git_revwalk_push(walk, &oid) == 0 { pushed += 1 } else { git_error_clear() }
            case GIT_OBJECT_TREE:
                // A tag pointing straight at a tree: scan it whole.
                var tree: OpaquePointer?
                if git_tree_lookup(&tree, repo.handle, &oid) == 0, let tree {
                    if seenTrees.insert(OIDKey(oid)).inserted { walkTree(tree, base: nil) }
                    git_tree_free(tree)
                } else {
                    git_error_clear()
                }
            case GIT_OBJECT_BLOB:
                if seenBlobs.insert(OIDKey(oid)).inserted { check(&oid) }
            default:
                continue
            }
        }
        for hex in previousTips {
            var oid = git_oid()
            guard git_oid_fromstr(&oid, hex) == 0 else { git_error_clear(); continue }
            // A previous tip that is gone (history rewritten and collected) or not a commit hides nothing.
            if git_revwalk_hide(walk, &oid) != 0 { git_error_clear() }
        }
        guard pushed > 0 else { return result }
        var oid = git_oid()
        while !cancelled, git_revwalk_next(&oid, walk) == 0 {
            let (commit, tree) = try commitAndTree(&oid)
            defer {
                git_tree_free(tree)
                git_commit_free(commit)
            }
            var baseTree: OpaquePointer?
            if git_commit_parentcount(commit) > 0 {
                var parent: OpaquePointer?
                if git_commit_parent(&parent, commit, 0) == 0, let parent {
                    if git_commit_tree(&baseTree, parent) != 0 { baseTree = nil; git_error_clear() }
                    git_commit_free(parent)
                } else {
                    git_error_clear() // shallow or missing parent: scan the whole tree
                }
            }
            walkTree(tree, base: baseTree)
            if let baseTree { git_tree_free(baseTree) }
            result.commitsScanned += 1
            if result.commitsScanned % 256 == 0, isCancelled() { cancelled = true }
        }
        if git_error_last() != nil { git_error_clear() }
        if cancelled { throw LFSError.cancelled }
        return result
    }

    /// The pointers in the trees at `tips` only (what a checkout of each has), not in their history: what a
    /// retention policy keeps. Trees and blobs shared between tips are read once.
    func scanSnapshots(of tips: [LFSRepository.Tip]) throws -> PointerScan {
        result = PointerScan()
        result.tips = tips.map(\.hex).sorted()
        for tip in tips {
            if isCancelled() { throw LFSError.cancelled }
            var oid = tip.oid
            switch tip.kind {
            case GIT_OBJECT_COMMIT:
                let (commit, tree) = try commitAndTree(&oid)
                if seenTrees.insert(OIDKey(git_tree_id(tree).pointee)).inserted { walkTree(tree, base: nil) }
                git_tree_free(tree)
                git_commit_free(commit)
                result.commitsScanned += 1
            case GIT_OBJECT_TREE:
                var tree: OpaquePointer?
                guard git_tree_lookup(&tree, repo.handle, &oid) == 0, let tree else {
                    throw LFSError.repository(path: repo.path, message: GitError.lastMessage(-1))
                }
                if seenTrees.insert(OIDKey(oid)).inserted { walkTree(tree, base: nil) }
                git_tree_free(tree)
            case GIT_OBJECT_BLOB:
                if seenBlobs.insert(OIDKey(oid)).inserted { check(&oid) }
            default:
                continue
            }
        }
        return result
    }

    /// The commit `oid` and its tree; free both.
    private func commitAndTree(_ oid: inout git_oid) throws -> (commit: OpaquePointer, tree: OpaquePointer) {
        var commit: OpaquePointer?
        guard git_commit_lookup(&commit, repo.handle, &oid) == 0, let commit else {
            throw LFSError.repository(path: repo.path, message: GitError.lastMessage(-1))
        }
        var tree: OpaquePointer?
        guard git_commit_tree(&tree, commit) == 0, let tree else {
            let message = GitError.lastMessage(-1)
            git_commit_free(commit)
            throw LFSError.repository(path: repo.path, message: message)
        }
        return (commit, tree)
    }

    /// A first scan covers all of history. When no object in the database is a pointer (or a malformed
    /// one), there is nothing to walk for: true, with the census recorded in the result.
    private func noPointerAnywhere() -> Bool {
        let sizes = LFSPointer.minBlobSize..<LFSPointer.maxBlobSize
        guard let found = PointerCandidates.find(objectsDirectory: repo.path + "/objects", sizes: sizes) else { return false }
        for id in found.ids {
            var oid = id.gitOID
            guard let bytes = repo.readBlob(&oid, size: sizes) else { continue }
            if case .notAPointer = LFSPointer.parse(bytes) { continue }
            return false
        }
        result.census = true
        result.commitsScanned = found.commits
        result.blobsChecked = found.ids.count
        return true
    }

    /// Visits the entries of `tree` that differ from `base` (the same directory in the first parent).
    private func walkTree(_ tree: OpaquePointer, base: OpaquePointer?) {
        let count = git_tree_entrycount(tree)
        for i in 0..<count {
            guard let entry = git_tree_entry_byindex(tree, i), let id = git_tree_entry_id(entry) else { continue }
            let baseEntry = base.flatMap { git_tree_entry_byname($0, git_tree_entry_name(entry)) }
            if let baseEntry, let baseID = git_tree_entry_id(baseEntry), git_oid_equal(baseID, id) != 0 { continue }
            switch git_tree_entry_type(entry) {
            case GIT_OBJECT_TREE:
                guard seenTrees.insert(OIDKey(id.pointee)).inserted else { continue }
                var sub: OpaquePointer?
                guard git_tree_lookup(&sub, repo.handle, id) == 0, let sub else { git_error_clear(); continue }
                var subBase: OpaquePointer?
                if let baseEntry, git_tree_entry_type(baseEntry) == GIT_OBJECT_TREE {
                    if git_tree_lookup(&subBase, repo.handle, git_tree_entry_id(baseEntry)) != 0 { subBase = nil; git_error_clear() }
                }
                walkTree(sub, base: subBase)
                if let subBase { git_tree_free(subBase) }
                git_tree_free(sub)
            case GIT_OBJECT_BLOB:
                guard seenBlobs.insert(OIDKey(id.pointee)).inserted else { continue }
                check(id)
            default:
                continue // submodule commits
            }
        }
    }

    /// Reads a blob that is small enough to be a pointer and records what it is.
    private func check(_ id: UnsafePointer<git_oid>) {
        result.blobsChecked += 1
        guard let bytes = repo.readBlob(id, size: LFSPointer.minBlobSize..<LFSPointer.maxBlobSize) else { return }
        switch LFSPointer.parse(bytes) {
        case let .pointer(pointer):
            if result.pointers[pointer.oid] == nil { result.pointers[pointer.oid] = pointer.size }
        case .notAPointer:
            break
        case let .malformed(reason):
            result.malformedCount += 1
            if result.malformed.count < Self.maxExamples { result.malformed.append((Git2.hex(id.pointee), reason)) }
        }
    }
}

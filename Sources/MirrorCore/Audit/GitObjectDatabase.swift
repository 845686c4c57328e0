import CGit2
import Foundation

/// One thread's handle on a git object database: a whole repository's, or a single container's (one pack,
/// or the loose objects only) so each stored copy of an object can be checked on its own.
///
/// Reads verify the object's SHA-1 against its id (libgit2's strict hash verification, on by default).
/// Confine an instance to one thread: libgit2 errors are thread-local.
final class GitObjectDatabase {
    let odb: OpaquePointer
    private let repo: OpaquePointer?
    let label: String

    private init(odb: OpaquePointer, repo: OpaquePointer?, label: String) {
        self.odb = odb
        self.repo = repo
        self.label = label
    }

    deinit {
        git_odb_free(odb)
        if let repo { git_repository_free(repo) }
    }

    /// The object database of the bare repository at `path` (and the repository, for refs).
    static func repository(path: String) throws -> GitObjectDatabase {
        Git2.ensureInitialized()
        var repo: OpaquePointer?
        var rc = git_repository_open_bare(&repo, path)
        guard rc == 0, let repo else { throw AuditError.repository(path: path, message: GitError.lastMessage(rc)) }
        var odb: OpaquePointer?
        rc = git_repository_odb(&odb, repo)
        guard rc == 0, let odb else {
            let message = GitError.lastMessage(rc)
            git_repository_free(repo)
            throw AuditError.repository(path: path, message: message)
        }
        return GitObjectDatabase(odb: odb, repo: repo, label: path)
    }

    /// Only the objects of one pack (`idxPath` is its `.idx`).
    static func pack(idxPath: String) throws -> GitObjectDatabase {
        try single(label: idxPath) { backend in git_odb_backend_one_pack(&backend, idxPath) }
    }

    /// Only the loose objects below `objectsDirectory`.
    static func loose(objectsDirectory: String) throws -> GitObjectDatabase {
        try single(label: objectsDirectory) { backend in git_odb_backend_loose(&backend, objectsDirectory, -1, 0, 0, 0) }
    }

    private static func single(label: String, _ make: (inout UnsafeMutablePointer<git_odb_backend>?) -> Int32) throws -> GitObjectDatabase {
        Git2.ensureInitialized()
        var odb: OpaquePointer?
        var rc = git_odb_new(&odb)
        guard rc == 0, let odb else { throw AuditError.repository(path: label, message: GitError.lastMessage(rc)) }
        var backend: UnsafeMutablePointer<git_odb_backend>?
        rc = make(&backend)
        if rc == 0, let backend {
            rc = git_odb_add_backend(odb, backend, 1)
        }
        guard rc == 0 else {
            let message = GitError.lastMessage(rc)
            git_odb_free(odb)
            throw AuditError.repository(path: label, message: message)
        }
        return GitObjectDatabase(odb: odb, repo: nil, label: label)
    }

    enum ReadFailure: Error, Equatable {
        case notFound
        /// Unreadable or not matching its id; libgit2's words.
        case corrupt(String)
    }

    /// Reads and verifies one object, handing its type and content to `body`.
    func read<T>(_ id: GitOID, _ body: (git_object_t, UnsafeRawBufferPointer) -> T) -> Result<T, ReadFailure> {
        var oid = id.gitOID
        var object: OpaquePointer?
        let rc = git_odb_read(&object, odb, &oid)
        guard rc == 0, let object else {
            if rc == GIT_ENOTFOUND.rawValue {
                git_error_clear()
                return .failure(.notFound)
            }
            return .failure(.corrupt(GitError.lastMessage(rc)))
        }
        defer { git_odb_object_free(object) }
        let bytes = UnsafeRawBufferPointer(start: git_odb_object_data(object), count: git_odb_object_size(object))
        return .success(body(git_odb_object_type(object), bytes))
    }

    func exists(_ id: GitOID) -> Bool {
        var oid = id.gitOID
        return git_odb_exists(odb, &oid) == 1
    }

    /// Writes an object (as a loose object, atomically) and returns its id.
    @discardableResult
    func write(type: git_object_t, _ bytes: UnsafeRawBufferPointer) throws -> GitOID {
        var oid = git_oid()
        let rc = git_odb_write(&oid, odb, bytes.baseAddress, bytes.count, type)
        guard rc == 0 else { throw AuditError.repository(path: label, message: GitError.lastMessage(rc)) }
        return GitOID(oid)
    }

    /// Every object id in the database (each once per container that holds it).
    func allObjects() throws -> [GitOID] {
        final class Box { var ids: [GitOID] = [] }
        let box = Box()
        let rc = git_odb_foreach(odb, { id, payload in
            guard let id, let payload else { return 0 }
            Unmanaged<Box>.fromOpaque(payload).takeUnretainedValue().ids.append(GitOID(id.pointee))
            return 0
        }, Unmanaged.passUnretained(box).toOpaque())
        guard rc == 0 else { throw AuditError.repository(path: label, message: GitError.lastMessage(rc)) }
        return box.ids
    }

    /// One ref as stored: a direct target, or the name a symbolic ref points at.
    struct Ref: Sendable, Equatable {
        var name: String
        var target: GitOID?
        var symbolic: String?
    }

    /// The repository's refs (HEAD included), unresolved. Throws when the refs cannot be read at all.
    func refs() throws -> [Ref] {
        guard let repo else { return [] }
        var out: [Ref] = []
        var head: OpaquePointer?
        if git_reference_lookup(&head, repo, "HEAD") == 0, let head {
            if git_reference_type(head) == GIT_REFERENCE_DIRECT, let oid = git_reference_target(head) {
                out.append(Ref(name: "HEAD", target: GitOID(oid.pointee)))
            }
            git_reference_free(head)
        } else {
            git_error_clear()
        }
        var iter: OpaquePointer?
        var rc = git_reference_iterator_new(&iter, repo)
        guard rc == 0, let iter else { throw AuditError.repository(path: label, message: GitError.lastMessage(rc)) }
        defer { git_reference_iterator_free(iter) }
        while true {
            var ref: OpaquePointer?
            rc = git_reference_next(&ref, iter)
            if rc == GIT_ITEROVER.rawValue { break }
            guard rc == 0, let ref else { throw AuditError.repository(path: label, message: GitError.lastMessage(rc)) }
            defer { git_reference_free(ref) }
            let name = String(cString: git_reference_name(ref))
            if git_reference_type(ref) == GIT_REFERENCE_DIRECT, let oid = git_reference_target(ref) {
                out.append(Ref(name: name, target: GitOID(oid.pointee)))
            } else if let target = git_reference_symbolic_target(ref) {
                out.append(Ref(name: name, symbolic: String(cString: target)))
            }
        }
        return out
    }
}

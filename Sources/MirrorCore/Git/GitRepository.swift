import CGit2
import Foundation

/// A bare mirror repository opened with libgit2. Confine an instance to one thread.
final class GitRepository {
    let path: String
    let handle: OpaquePointer

    private init(path: String, handle: OpaquePointer) {
        self.path = path
        self.handle = handle
    }

    deinit { git_repository_free(handle) }

    /// Opens the bare repository at `path`, creating it (bare, mirror config) when missing.
    static func openOrCreateMirror(path: String) throws -> GitRepository {
        Git2.ensureInitialized()
        var repo: OpaquePointer?
        if FileManager.default.fileExists(atPath: path + "/HEAD"),
           git_repository_open_bare(&repo, path) == 0, let repo {
            return GitRepository(path: path, handle: repo)
        }
        // Missing or half-created (a crash during creation): (re)initialize in place, which keeps any objects.
        var opts = git_repository_init_options()
        git_repository_init_options_init(&opts, UInt32(GIT_REPOSITORY_INIT_OPTIONS_VERSION))
        opts.flags = GIT_REPOSITORY_INIT_BARE.rawValue | GIT_REPOSITORY_INIT_MKPATH.rawValue
        let rc = git_repository_init_ext(&repo, path, &opts)
        guard rc == 0, let repo else {
            throw GitError.repository(path: path, message: GitError.lastMessage(rc))
        }
        let created = GitRepository(path: path, handle: repo)
        try created.setConfig("remote.origin.fetch", "+refs/*:refs/*")
        try created.setConfig("remote.origin.mirror", "true")
        try created.setConfig("uploadpack.hideRefs", FetchSteps.hiddenPrefix)
        return created
    }

    /// Sets a string in the repository's config.
    func setConfig(_ key: String, _ value: String) throws {
        var config: OpaquePointer?
        var rc = git_repository_config(&config, handle)
        guard rc == 0, let config else { throw GitError.repository(path: path, message: GitError.lastMessage(rc)) }
        defer { git_config_free(config) }
        rc = git_config_set_string(config, key, value)
        guard rc == 0 else { throw GitError.repository(path: path, message: GitError.lastMessage(rc)) }
    }

    /// Every ref under refs/ with the oid it points at (symbolic refs resolved), but for MirrorDeck's own
    /// hidden refs (`FetchSteps.hiddenPrefix`): the refs the mirror serves.
    func refs() throws -> [String: String] {
        try refs(glob: nil).filter { !$0.key.hasPrefix(FetchSteps.hiddenPrefix) }
    }

    /// MirrorDeck's hidden refs (the completed steps of a stepwise fetch).
    func hiddenRefs() throws -> [String: String] {
        try refs(glob: FetchSteps.hiddenPrefix + "*")
    }

    /// The refs matching `glob` (every ref when nil).
    func refs(glob: String?) throws -> [String: String] {
        var iter: OpaquePointer?
        var rc = glob.map { git_reference_iterator_glob_new(&iter, handle, $0) } ?? git_reference_iterator_new(&iter, handle)
        guard rc == 0, let iter else { throw GitError.repository(path: path, message: GitError.lastMessage(rc)) }
        defer { git_reference_iterator_free(iter) }
        var out: [String: String] = [:]
        while true {
            var ref: OpaquePointer?
            rc = git_reference_next(&ref, iter)
            if rc == GIT_ITEROVER.rawValue { break }
            guard rc == 0, let ref else { throw GitError.repository(path: path, message: GitError.lastMessage(rc)) }
            defer { git_reference_free(ref) }
            let name = String(cString: git_reference_name(ref))
            if git_reference_type(ref) == GIT_REFERENCE_DIRECT, let oid = git_reference_target(ref) {
                out[name] = Git2.hex(oid.pointee)
            } else {
                var resolved: OpaquePointer?
                if git_reference_resolve(&resolved, ref) == 0, let resolved {
                    if let oid = git_reference_target(resolved) { out[name] = Git2.hex(oid.pointee) }
                    git_reference_free(resolved)
                }
            }
        }
        return out
    }

    /// Keeps MirrorDeck's hidden refs out of what the mirror serves (`uploadpack.hideRefs`), also in mirrors
    /// created before hidden refs existed. Call before writing the first (`writeHiddenRef`).
    func hideHiddenRefs() throws {
        if configString("uploadpack.hideRefs") != FetchSteps.hiddenPrefix {
            try setConfig("uploadpack.hideRefs", FetchSteps.hiddenPrefix)
        }
    }

    /// Keeps `oid`'s objects under a hidden ref (`hideHiddenRefs` first).
    func writeHiddenRef(_ name: String, oid: String) throws {
        precondition(name.hasPrefix(FetchSteps.hiddenPrefix))
        try writeRef(name, oid: oid)
    }

    /// Points ref `name` at `oid` (a loose ref; libgit2 writes it through a lock file).
    func writeRef(_ name: String, oid: String) throws {
        var id = git_oid()
        guard git_oid_fromstr(&id, oid) == 0 else { throw GitError.repository(path: path, message: "not an object id: \(oid)") }
        var ref: OpaquePointer?
        let rc = git_reference_create(&ref, handle, name, &id, 1, "mirrordeck: fetch step")
        guard rc == 0 else { throw GitError.repository(path: path, message: GitError.lastMessage(rc)) }
        git_reference_free(ref)
    }

    func deleteRef(_ name: String) throws {
        var ref: OpaquePointer?
        guard git_reference_lookup(&ref, handle, name) == 0, let ref else { git_error_clear(); return }
        defer { git_reference_free(ref) }
        let rc = git_reference_delete(ref)
        guard rc == 0 else { throw GitError.repository(path: path, message: GitError.lastMessage(rc)) }
    }

    /// Removes every hidden ref (after the served refs took over their objects).
    func removeHiddenRefs() throws {
        for name in try hiddenRefs().keys { try deleteRef(name) }
        try? FileManager.default.removeItem(atPath: path + "/" + FetchSteps.hiddenPrefix)
    }

    /// A string from the repository's config, or nil.
    func configString(_ key: String) -> String? {
        var config: OpaquePointer?
        guard git_repository_config_snapshot(&config, handle) == 0, let config else { git_error_clear(); return nil }
        defer { git_config_free(config) }
        var value: UnsafePointer<CChar>?
        guard git_config_get_string(&value, config, key) == 0, let value else { git_error_clear(); return nil }
        return String(cString: value)
    }

    /// The ref HEAD points at (e.g. `refs/heads/main`), or nil when HEAD is detached or missing.
    func headTarget() -> String? {
        var ref: OpaquePointer?
        guard git_reference_lookup(&ref, handle, "HEAD") == 0, let ref else { return nil }
        defer { git_reference_free(ref) }
        guard git_reference_type(ref) == GIT_REFERENCE_SYMBOLIC, let target = git_reference_symbolic_target(ref) else {
            return nil
        }
        return String(cString: target)
    }

    /// Points HEAD at `target` (a ref name), as upstream's default branch.
    func setHead(_ target: String) throws {
        var ref: OpaquePointer?
        let rc = git_reference_symbolic_create(&ref, handle, "HEAD", target, 1, "mirrordeck: HEAD follows upstream")
        guard rc == 0 else { throw GitError.repository(path: path, message: GitError.lastMessage(rc)) }
        git_reference_free(ref)
    }

    /// Removes lock and temporary files a killed process left behind. Call only while holding the mirror lock.
    static func removeStaleFiles(path: String) {
        let fm = FileManager.default
        for top in ["HEAD.lock", "config.lock", "packed-refs.lock", "index.lock", "shallow.lock"] {
            try? fm.removeItem(atPath: path + "/" + top)
        }
        if let walker = fm.enumerator(atPath: path + "/refs") {
            for case let rel as String in walker where rel.hasSuffix(".lock") {
                try? fm.removeItem(atPath: path + "/refs/" + rel)
            }
        }
        if let packs = try? fm.contentsOfDirectory(atPath: path + "/objects/pack") {
            for file in packs where file.hasPrefix("pack_git2_") || file.hasPrefix("tmp_") {
                try? fm.removeItem(atPath: path + "/objects/pack/" + file)
            }
        }
    }
}

import CGit2
import Foundation

/// Counts from libgit2 while a pack is received and indexed.
public struct TransferProgress: Sendable, Equatable {
    public var receivedObjects: Int = 0
    public var totalObjects: Int = 0
    public var indexedObjects: Int = 0
    public var totalDeltas: Int = 0
    public var indexedDeltas: Int = 0
    public var receivedBytes: Int64 = 0
}

/// What the remote advertises: its refs, the peeled targets of its annotated tags, and its default branch.
struct RemoteListing {
    var refs: [String: String]
    var peeled: [String: String] = [:]
    var defaultBranch: String?
}

/// A download the link ended (cut, reset, stalled, truncated pack), as opposed to one the upstream refused:
/// what a stepwise fetch retries.
struct TransferCut: Error, CustomStringConvertible {
    let error: GitError
    var description: String { error.description }
    /// The upstream went silent rather than away: the job fails within the stall timeout (a job slot is not
    /// held by an upstream that hangs), and the next sync goes in steps.
    var isStall: Bool { description.contains("stalled: ") }
}

/// State the C callbacks reach through their payload pointer.
final class CallbackContext {
    let onProgress: (TransferProgress) -> Bool
    let insecureTLS: Bool
    var credentialAttempts = 0

    init(insecureTLS: Bool, onProgress: @escaping (TransferProgress) -> Bool) {
        self.insecureTLS = insecureTLS
        self.onProgress = onProgress
    }
}

/// One connection to an upstream through an in-memory remote with the mirror refspec.
/// Confine an instance to the thread that created it (libgit2 errors are thread-local).
final class RemoteSession {
    let url: String
    private let repo: GitRepository
    private let remote: OpaquePointer
    private let context: CallbackContext
    private var contextPointer: UnsafeMutableRawPointer { Unmanaged.passUnretained(context).toOpaque() }

    init(repository: GitRepository, url: String, context: CallbackContext) throws {
        self.repo = repository
        self.url = url
        self.context = context
        var opts = git_remote_create_options()
        git_remote_create_options_init(&opts, UInt32(GIT_REMOTE_CREATE_OPTIONS_VERSION))
        opts.repository = repository.handle
        var remote: OpaquePointer?
        let rc = "+refs/*:refs/*".withCString { spec -> Int32 in
            opts.fetchspec = spec
            return git_remote_create_with_opts(&remote, url, &opts)
        }
        guard rc == 0, let remote else { throw GitError.upstream(url: url, code: rc) }
        self.remote = remote
    }

    deinit {
        git_remote_disconnect(remote)
        git_remote_free(remote)
    }

    private func callbacks() -> git_remote_callbacks {
        // One try per kind of credential per connection: each step of a stepwise fetch connects anew.
        context.credentialAttempts = 0
        var cb = git_remote_callbacks()
        git_remote_init_callbacks(&cb, UInt32(GIT_REMOTE_CALLBACKS_VERSION))
        cb.payload = contextPointer
        cb.transfer_progress = { stats, payload in
            guard let stats, let payload else { return 0 }
            let ctx = Unmanaged<CallbackContext>.fromOpaque(payload).takeUnretainedValue()
            let s = stats.pointee
            let progress = TransferProgress(
                receivedObjects: Int(s.received_objects), totalObjects: Int(s.total_objects),
                indexedObjects: Int(s.indexed_objects), totalDeltas: Int(s.total_deltas),
                indexedDeltas: Int(s.indexed_deltas), receivedBytes: Int64(s.received_bytes))
            return ctx.onProgress(progress) ? 0 : GIT_EUSER.rawValue
        }
        cb.credentials = { out, url, usernameFromURL, allowed, payload in
            guard let out, let payload else { return GIT_PASSTHROUGH.rawValue }
            let ctx = Unmanaged<CallbackContext>.fromOpaque(payload).takeUnretainedValue()
            ctx.credentialAttempts += 1
            // One try per kind of credential: a wrong password must not loop.
            guard ctx.credentialAttempts <= 1 else { return GIT_EAUTH.rawValue }
            if allowed & GIT_CREDENTIAL_SSH_KEY.rawValue != 0 {
                let user = usernameFromURL.map { String(cString: $0) } ?? "git"
                return git_credential_ssh_key_from_agent(out, user)
            }
            if allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT.rawValue != 0,
               let url, let host = URLComponents(string: String(cString: url))?.host,
               let entry = Netrc.load().entry(for: host) {
                return git_credential_userpass_plaintext_new(out, entry.login, entry.password)
            }
            return GIT_PASSTHROUGH.rawValue
        }
        if context.insecureTLS {
            cb.certificate_check = { _, _, _, _ in 0 }
        }
        return cb
    }

    /// Connects for fetching and lists the remote's refs and default branch.
    func list() throws -> RemoteListing {
        var cb = callbacks()
        var proxy = git_proxy_options()
        git_proxy_options_init(&proxy, UInt32(GIT_PROXY_OPTIONS_VERSION))
        proxy.type = GIT_PROXY_AUTO
        var rc = git_remote_connect(remote, GIT_DIRECTION_FETCH, &cb, &proxy, nil)
        guard rc == 0 else { throw GitError.upstream(url: url, code: rc) }
        var heads: UnsafeMutablePointer<UnsafePointer<git_remote_head>?>?
        var count = 0
        rc = git_remote_ls(&heads, &count, remote)
        guard rc == 0 else { throw GitError.upstream(url: url, code: rc) }
        var refs: [String: String] = [:]
        var peeled: [String: String] = [:]
        refs.reserveCapacity(count)
        for i in 0..<count {
            guard let head = heads?[i]?.pointee, let cname = head.name else { continue }
            let name = String(cString: cname)
            guard name.hasPrefix("refs/") else { continue }
            if name.hasSuffix("^{}") {
                peeled[String(name.dropLast(3))] = Git2.hex(head.oid)
            } else if GitRepository.isValidRefName(name) {
                // A name git would refuse (an upstream's hostile or broken ref) is never written.
                refs[name] = Git2.hex(head.oid)
            }
        }
        var buf = git_buf()
        defer { git_buf_dispose(&buf) }
        var defaultBranch: String?
        if git_remote_default_branch(&buf, remote) == 0, let ptr = buf.ptr {
            defaultBranch = String(cString: ptr)
        } else {
            git_error_clear()
        }
        return RemoteListing(refs: refs, peeled: peeled, defaultBranch: defaultBranch)
    }

    /// Downloads the objects the mirror refspec needs and that the repository lacks, without touching any
    /// ref: the caller writes the new refs in one piece (`GitRepository.replaceRefs`), where libgit2's
    /// `update_tips` would write each as a loose file and look the ref store up again for every one.
    /// The pack goes to git's `index-pack` (`IndexPackReceiver`). Returns the counts of what was received.
    /// `refs` names the refs to fetch (a filtered mirror's); nil fetches by the mirror refspec.
    func download(refs: [String]? = nil) throws -> TransferProgress {
        var opts = git_fetch_options()
        git_fetch_options_init(&opts, UInt32(GIT_FETCH_OPTIONS_VERSION))
        opts.callbacks = callbacks()
        opts.prune = GIT_FETCH_NO_PRUNE
        opts.update_fetchhead = 0
        opts.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE
        opts.proxy_opts.type = GIT_PROXY_AUTO
        opts.follow_redirects = GIT_REMOTE_REDIRECT_INITIAL
        try IndexPackReceiver.install(on: repo.handle, path: repo.path)
        let rc: Int32
        if let refs {
            let specs = refs.map { strdup("+" + $0 + ":" + $0) }
            defer { specs.forEach { free($0) } }
            var pointers: [UnsafeMutablePointer<CChar>?] = specs
            rc = pointers.withUnsafeMutableBufferPointer { buffer in
                var array = git_strarray(strings: buffer.baseAddress, count: buffer.count)
                return git_remote_download(remote, &array, &opts)
            }
        } else {
            rc = git_remote_download(remote, nil, &opts)
        }
        guard rc == 0 else {
            let error = GitError.upstream(url: url, code: rc)
            if case let .upstream(_, message, _) = error, FetchSteps.isTransferFailure(message) { throw TransferCut(error: error) }
            throw error
        }
        let s = git_remote_stats(remote).pointee
        return TransferProgress(
            receivedObjects: Int(s.received_objects), totalObjects: Int(s.total_objects),
            indexedObjects: Int(s.indexed_objects), totalDeltas: Int(s.total_deltas),
            indexedDeltas: Int(s.indexed_deltas), receivedBytes: Int64(s.received_bytes))
    }
}

/// Git LFS problems, phrased so the operator knows what to do next.
///
/// Messages never contain credentials: URLs are shown without their query string or user part, and
/// header values from a server's actions never appear.
public enum LFSError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The mirror has no repository yet, so there is nothing to scan.
    case notSynced(name: String)
    /// Another process is fetching this mirror's LFS objects.
    case busy(name: String)
    /// No usable LFS endpoint; `reason` says why and what to set.
    case endpoint(reason: String)
    /// The LFS server refused our credentials (401/403).
    case credentials(endpoint: String, status: Int)
    /// The batch request failed for good; `message` is the server's or curl's.
    case batch(endpoint: String, message: String)
    /// The repository could not be read.
    case repository(path: String, message: String)
    /// The fetch's missing bytes do not fit in the free space beyond the reserve: nothing was fetched.
    case diskBudget(DiskBudget)
    /// The LFS server's host is rate-limiting us (429, or 403 with `X-RateLimit-Remaining: 0`).
    case rateLimited(HostRateLimit)
    case cancelled

    public var description: String {
        switch self {
        case let .notSynced(name):
            return "mirror \(Redactor.quote(name)) has no repository yet: run 'mirrordeck sync \(name)' first"
        case let .busy(name):
            return "LFS objects of \(Redactor.quote(name)) are being fetched by another process: wait for it or cancel that job"
        case let .endpoint(reason):
            return "LFS endpoint: \(reason)"
        case let .credentials(endpoint, status):
            return "LFS server \(endpoint) answered \(status): it needs credentials this host does not have; put them in ~/.netrc (machine, login, password) or set --lfs-url"
        case let .batch(endpoint, message):
            return "LFS batch request to \(endpoint) failed: \(message)"
        case let .repository(path, message):
            return "mirror repository \(path): \(message)"
        case let .diskBudget(budget):
            return "not enough disk space for the LFS fetch: \(budget.shortfall); nothing was fetched: free space or lower --disk-reserve"
        case let .rateLimited(limit):
            return "LFS server \(limit.description); the LFS fetch waits for the reset"
        case .cancelled:
            return "cancelled"
        }
    }
}

/// Why one object could not be fetched; recorded on its catalog row.
public enum LFSObjectError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The server says it does not have the object (404, 410) or cannot serve it (422).
    case unavailable(code: Int, message: String)
    /// The server's answer for this object was unusable (bad href, wrong size, invalid oid…).
    case badAnswer(String)
    /// The download failed, after retries where a retry could help.
    case transfer(String)
    /// The bytes received do not hash to the object id; the partial file was discarded.
    case hashMismatch(got: String)
    /// The body was longer than the pointer's size; it was cut off and discarded.
    case tooLong(size: Int64)
    /// The home's filesystem cannot hold the object.
    case noSpace(size: Int64, free: Int64)
    /// The download's host is rate-limiting us: the object is not failed, the fetch waits for the reset.
    case rateLimited(HostRateLimit)
    /// Writing to the home failed.
    case local(String)
    case cancelled

    public var description: String {
        switch self {
        case let .unavailable(code, message):
            return "not available upstream (\(code) \(message.isEmpty ? "no message" : message))"
        case let .badAnswer(message):
            return message
        case let .transfer(message):
            return message
        case let .hashMismatch(got):
            return "downloaded bytes hash to \(got.prefix(12))…, not the object id: discarded (the server sent wrong data)"
        case let .tooLong(size):
            return "the server sent more than the declared \(size) bytes: cut off and discarded"
        case let .noSpace(size, free):
            return "the object declares \(ByteFormat.format(size)) but the home's filesystem has \(ByteFormat.format(free)) free: free space or check the pointer"
        case let .local(message):
            return message
        case let .rateLimited(limit):
            return "download host \(limit.description)"
        case .cancelled:
            return "cancelled"
        }
    }

    /// Whether the server said the object does not exist (as opposed to a failed transfer).
    public var isUnavailable: Bool {
        if case .unavailable = self { return true }
        return false
    }
}

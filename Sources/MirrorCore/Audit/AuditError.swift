/// Why an audit could not run (or could not finish), phrased so the operator knows what to do next.
public enum AuditError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The mirror has no repository yet: nothing to verify.
    case notSynced(name: String)
    /// Another process is syncing the mirror or fetching its LFS objects.
    case busy(name: String, what: String)
    /// A value given to verify (on the command line or in a job) is unusable.
    case invalidOption(option: String, value: String, hint: String)
    /// The mirror's repository could not be read.
    case repository(path: String, message: String)
    /// Reading or moving files in the home failed.
    case io(path: String, message: String)
    case cancelled

    public var description: String {
        switch self {
        case let .notSynced(name):
            return "mirror \(Redactor.quote(name)) has no repository yet: run 'mirrordeck sync \(name)' first"
        case let .busy(name, what):
            return "mirror \(Redactor.quote(name)) is busy (\(what) in another process): wait for it or cancel that job, then verify again"
        case let .invalidOption(option, value, hint):
            return "invalid \(option) \(Redactor.quote(value)): \(hint)"
        case let .repository(path, message):
            return "mirror repository \(path): \(message)"
        case let .io(path, message):
            return "\(path): \(message)"
        case .cancelled:
            return "cancelled"
        }
    }
}

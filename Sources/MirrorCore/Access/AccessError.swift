/// Access-management and SSH-session problems, phrased for the operator.
public enum AccessError: Error, CustomStringConvertible, Equatable, Sendable {
    case badRole(String)
    case badUser(String)
    case badKey(String)
    case keyTaken(fingerprint: String, user: String)
    case unknownUser(String)
    case denied(Permission, role: Role)
    case refused(String)
    case authorizedKeys(path: String, reason: String)

    public var description: String {
        switch self {
        case let .badRole(text): return "unknown role \(Redactor.quote(text)): use viewer, operator or admin"
        case let .badUser(text): return "invalid user name \(Redactor.quote(text)): use 1–32 of a-z, 0-9, '_', '.', '-', starting with a letter or '_'"
        case let .badKey(reason): return "not a usable SSH public key: \(reason); give one line as in id_ed25519.pub"
        case let .keyTaken(fp, user): return "key \(fp) is already granted to \(Redactor.quote(user)): revoke it there first"
        case let .unknownUser(user): return "no access grant for \(Redactor.quote(user)): run 'mirrordeck access list'"
        case let .denied(permission, role):
            return "permission denied: '\(permission.rawValue)' needs the \(permission.requiredRole.rawValue) role (you are \(role.rawValue))"
        case let .refused(reason): return "refused: \(reason)"
        case let .authorizedKeys(path, reason): return "cannot update \(path): \(reason)"
        }
    }
}

import Foundation

/// Why maintenance of a mirror could not run or did not finish; each case says what to do.
public enum MaintenanceError: Error, CustomStringConvertible, Equatable, Sendable {
    case gitMissing
    case gitFailed(command: String, status: Int32, detail: String)
    case busy(name: String)
    case notSynced(name: String)
    case cancelled

    public var description: String {
        switch self {
        case .gitMissing:
            return "git maintenance needs the git command-line tool and none is on the PATH: install git (apt-get install git)"
        case let .gitFailed(command, status, detail):
            return "\(command) failed (exit \(status))\(detail.isEmpty ? "" : ": \(detail)"); the mirror was left as it was"
        case let .busy(name):
            return "\(name) is being synced or maintained by another process; try again when it has finished"
        case let .notSynced(name):
            return "\(name) has never been synced: nothing to maintain yet (run 'mirrordeck sync \(name)' first)"
        case .cancelled:
            return "cancelled; the mirror was left as it was"
        }
    }
}

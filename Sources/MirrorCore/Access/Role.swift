/// What an SSH identity may do. Each role includes the ones below it.
public enum Role: String, Codable, Sendable, CaseIterable, Comparable {
    /// Sees everything, changes nothing.
    case viewer
    /// Also syncs, verifies, pauses, resumes and cancels.
    case `operator`
    /// Also adds, removes and edits mirrors, and manages access.
    case admin

    private var rank: Int { Role.allCases.firstIndex(of: self)! }
    public static func < (a: Role, b: Role) -> Bool { a.rank < b.rank }

    /// Parses viewer, operator or admin; throws a `ConfigError` naming the choices.
    public static func parse(_ text: String) throws -> Role {
        guard let role = Role(rawValue: text.lowercased()) else { throw AccessError.badRole(text) }
        return role
    }
}

/// Every action a remote identity can attempt, with the role it needs. Checked where the action happens.
public enum Permission: String, Sendable, CaseIterable {
    case view, sync, verify, maintain, pause, resume, cancel, add, remove, edit, access

    public var requiredRole: Role {
        switch self {
        case .view: return .viewer
        case .sync, .verify, .maintain, .pause, .resume, .cancel: return .operator
        case .add, .remove, .edit, .access: return .admin
        }
    }
}

extension Role {
    /// Whether this role may perform `permission`.
    public func allows(_ permission: Permission) -> Bool { self >= permission.requiredRole }

    /// Throws `AccessError.denied` unless this role may perform `permission`.
    public func check(_ permission: Permission) throws {
        guard allows(permission) else { throw AccessError.denied(permission, role: self) }
    }
}

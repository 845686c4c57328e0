import Foundation
import GRDB

/// One SSH key granted to a user with a role.
public struct Grant: Sendable, Equatable {
    public var fingerprint: String
    public var user: String
    public var role: Role
    public var keyType: String
    public var keyBase64: String
    public var comment: String
    public var createdAt: Date
    public var createdBy: String

    public var key: String { comment.isEmpty ? "\(keyType) \(keyBase64)" : "\(keyType) \(keyBase64) \(comment)" }

    /// User names: what gitolite accepts, minus anything that could confuse a shell or a path.
    public static func validateUser(_ user: String) throws {
        let ok = !user.isEmpty && user.utf8.count <= 32 && user.unicodeScalars.enumerated().allSatisfy { i, c in
            (c >= "a" && c <= "z") || c == "_" || (i > 0 && ((c >= "0" && c <= "9") || c == "." || c == "-"))
        }
        guard ok else { throw AccessError.badUser(user) }
    }
}

extension Grant: CatalogRecord {
    public static let databaseTableName = "access_grant"
}

import Crypto
import Foundation
import HTTPTypes
import MirrorCore

/// Who a request comes from, decided from its `Authorization` header alone.
struct ServeIdentity: Sendable, Equatable {
    var user: String
    /// Set for a signed token from `git-lfs-authenticate`: it is good for this mirror only.
    var onlyMirror: String?

    func mayRead(_ mirror: String) -> Bool { onlyMirror == nil || onlyMirror == mirror }
}

/// Checks credentials: `Bearer <token>` or `Basic <base64(user:token)>`, where the token is an access
/// token minted by `mirrordeck access token` or a signed token from `git-lfs-authenticate` over SSH.
struct ServeAuth: @unchecked Sendable { // SymmetricKey is immutable once made
    let catalog: Catalog
    let key: SymmetricKey

    enum Outcome: Equatable {
        case anonymous
        case user(ServeIdentity)
        /// Credentials were sent and are not valid (unknown, expired, revoked, malformed).
        case invalid
    }

    func identify(_ headers: HTTPFields, now: Date = Date()) -> Outcome {
        guard let value = headers[.authorization] else { return .anonymous }
        guard value.utf8.count <= 1024 else { return .invalid }
        let token: String
        if value.hasPrefix("Bearer ") || value.hasPrefix("RemoteAuth ") {
            token = String(value[value.index(after: value.firstIndex(of: " ")!)...]).trimmingCharacters(in: .whitespaces)
        } else if value.hasPrefix("Basic ") {
            guard let decoded = Data(base64Encoded: String(value.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
                  let text = String(data: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":") else { return .invalid }
            token = String(text[text.index(after: colon)...])
        } else {
            return .invalid
        }
        if token.hasPrefix(ServeToken.signedPrefix) {
            guard let (user, mirror) = ServeToken.verify(token, key: key, now: now) else { return .invalid }
            return .user(ServeIdentity(user: user, onlyMirror: mirror))
        }
        guard let user = try? catalog.tokenUser(token, now: now) else { return .invalid }
        return .user(ServeIdentity(user: user, onlyMirror: nil))
    }
}

import Crypto
import Foundation

/// An OpenSSH public key line (`type base64 [comment]`), validated before it is ever written anywhere.
public struct PublicKey: Sendable, Equatable {
    public static let allowedTypes: Set<String> = [
        "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com",
    ]

    public let type: String
    public let base64: String
    public let comment: String
    /// `SHA256:…` as `ssh-keygen -lf` prints it.
    public let fingerprint: String

    /// Parses one key line; options before the type (as in authorized_keys) are refused.
    public init(line text: String) throws {
        let line = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !line.isEmpty else { throw AccessError.badKey("it is empty") }
        guard !line.contains("\n"), !line.contains("\r"), !line.contains("\0") else { throw AccessError.badKey("give exactly one line") }
        guard line.utf8.count <= 16384 else { throw AccessError.badKey("it is too long") }
        let fields = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true).map(String.init)
        guard fields.count >= 2 else { throw AccessError.badKey("expected 'type base64 [comment]'") }
        guard Self.allowedTypes.contains(fields[0]) else {
            throw AccessError.badKey("unsupported key type \(Redactor.quote(String(fields[0].prefix(40))))")
        }
        guard let blob = Data(base64Encoded: fields[1]), blob.count >= 4 else { throw AccessError.badKey("the key data is not valid base64") }
        // The blob starts with the key type as an SSH string (4-byte big-endian length, then bytes).
        let bytes = [UInt8](blob)
        let length = Int(bytes[0]) << 24 | Int(bytes[1]) << 16 | Int(bytes[2]) << 8 | Int(bytes[3])
        guard length > 0, 4 + length <= bytes.count, String(decoding: bytes[4..<(4 + length)], as: UTF8.self) == fields[0] else {
            throw AccessError.badKey("the key data does not match its type \(fields[0])")
        }
        let comment = fields.count > 2 ? fields[2] : ""
        guard comment.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7f && $0 != "\"" }) else {
            throw AccessError.badKey("the comment contains control characters or quotes")
        }
        type = fields[0]
        base64 = fields[1]
        self.comment = comment
        let digest = SHA256.hash(data: blob)
        fingerprint = "SHA256:" + Data(digest).base64EncodedString().replacingOccurrences(of: "=", with: "")
    }

    /// The key as it appears after the options in authorized_keys.
    public var line: String { comment.isEmpty ? "\(type) \(base64)" : "\(type) \(base64) \(comment)" }
}

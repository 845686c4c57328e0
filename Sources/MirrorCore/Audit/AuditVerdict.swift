import Foundation
import GRDB

/// Which half of a mirror a finding is about.
public enum AuditArea: String, Codable, Sendable {
    case lfs, git
}

/// What an audit concluded about one thing it looked at (an LFS object, a file, a git object, a ref, a pack).
public enum AuditVerdict: String, Codable, Sendable, CaseIterable {
    /// Size and SHA-256 (or git object id) match.
    case ok
    /// Referenced, but not in the mirror.
    case missing
    /// The right size, but the bytes hash to something else.
    case corrupt
    /// Shorter than the size its pointer declares.
    case truncated
    /// Longer than the size its pointer declares.
    case wrongSize = "wrong-size"
    /// A symbolic link inside `lfs/objects` (reported and moved aside, never followed).
    case symlink
    /// A FIFO, socket, device or directory where a file belongs (never opened).
    case special
    /// A well-named, well-placed object file no ref points at (kept; a notice, not a problem).
    case orphan
    /// A file or directory inside `lfs/objects` whose name is not an OID or that sits in the wrong place.
    case foreign
    /// The file could not be read (an I/O error): the disk may be failing.
    case unreadable
    /// A git object whose content does not match its id, or that cannot be read (inflate, delta, CRC).
    case corruptObject = "corrupt-object"
    /// A git object the refs reach that is not in the object database.
    case missingObject = "missing-object"
    /// A ref pointing at an object that does not exist.
    case brokenRef = "broken-ref"
    /// A pack or pack index whose checksum does not match, or that cannot be read at all.
    case badPack = "bad-pack"

    /// Whether this verdict makes an audit's result "problems" (everything but ok and orphan).
    public var isProblem: Bool { self != .ok && self != .orphan }

    /// LFS verdicts whose bytes must not be served: moved to quarantine by every audit.
    var quarantinesLFSObject: Bool {
        switch self {
        case .corrupt, .truncated, .wrongSize, .symlink, .special: return true
        default: return false
        }
    }
}

/// What an audit did about a finding.
public enum AuditAction: String, Codable, Sendable {
    /// Reported only (left in place).
    case reported
    /// Moved to quarantine (and, for an LFS object, marked missing).
    case quarantined
    /// Fetched again from upstream (or the LFS server) and verified.
    case repaired
    /// `--repair` could not fix it: upstream no longer has it, or the fetch failed.
    case unrecoverable
}

/// One thing an audit found wrong (or noteworthy), as stored in `audit_finding`.
public struct AuditFinding: Sendable, Equatable {
    public var id: Int64?
    public var auditId: Int64?
    public var area: AuditArea
    public var verdict: AuditVerdict
    /// An LFS OID, a path relative to the mirror, a git object id, a ref name or a pack file name.
    public var subject: String
    public var size: Int64?
    /// One line for the operator: what was expected, what was found.
    public var detail: String
    public var action: AuditAction
    /// Where the bad copy went, relative to the home.
    public var quarantinePath: String?

    public init(area: AuditArea, verdict: AuditVerdict, subject: String, size: Int64? = nil, detail: String,
                action: AuditAction = .reported, quarantinePath: String? = nil) {
        self.area = area
        self.verdict = verdict
        self.subject = subject
        self.size = size
        self.detail = detail
        self.action = action
        self.quarantinePath = quarantinePath
    }
}

extension AuditFinding: CatalogRecord {
    public static let databaseTableName = "audit_finding"
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

import CGit2

/// One-time libgit2 set-up, shared by every git user in the process.
enum Git2 {
    private static let initialized: Bool = {
        git_libgit2_init()
        return true
    }()

    /// Ensures libgit2 is initialized; cheap after the first call.
    static func ensureInitialized() {
        _ = initialized
    }

    /// The hex form of an oid.
    static func hex(_ oid: git_oid) -> String {
        var oid = oid
        var buf = [UInt8](repeating: 0, count: Int(GIT_OID_HEXSZ))
        buf.withUnsafeMutableBufferPointer { ptr in
            ptr.baseAddress!.withMemoryRebound(to: CChar.self, capacity: ptr.count) { _ = git_oid_fmt($0, &oid) }
        }
        return String(decoding: buf, as: UTF8.self)
    }
}

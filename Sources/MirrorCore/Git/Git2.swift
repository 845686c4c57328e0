import CGit2

/// One-time libgit2 set-up, shared by every git user in the process.
enum Git2 {
    private static let initialized: Bool = {
        git_libgit2_init()
        // Pack files are read through mmap'd windows. libgit2's 64-bit defaults (1 GiB windows, up to
        // 8 GiB mapped) map a whole pack at once, so an audit of a 48 MiB pack kept all of it resident in
        // the process (and every sync kept the pack it indexes). Smaller windows and a process-wide cap
        // bound that; a window costs one mmap, so sequential reads stay as fast.
        _ = mirrordeck_git_opts_size_t(Int32(GIT_OPT_SET_MWINDOW_SIZE.rawValue), mwindowSize)
        _ = mirrordeck_git_opts_size_t(Int32(GIT_OPT_SET_MWINDOW_MAPPED_LIMIT.rawValue), mwindowMappedLimit)
        return true
    }()

    /// Bytes of a pack mapped at once per window.
    static let mwindowSize = 4 << 20
    /// Bytes of pack windows mapped at once across the process (a soft limit: windows in use stay mapped).
    static let mwindowMappedLimit = 16 << 20

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

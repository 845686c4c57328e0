import CGit2

/// One-time libgit2 set-up, shared by every git user in the process.
enum Git2 {
    private static let initialized: Bool = {
        git_libgit2_init()
        // Pack files are read through mmap'd windows. libgit2's 64-bit defaults (1 GiB windows, up to
        // 8 GiB mapped) map a whole pack at once, so an audit of a large pack kept all of it resident in
        // the process. Windows of 32 MiB under a process-wide cap of 256 MiB bound that; much smaller ones
        // (4 MiB under 16 MiB) made a walk of a 100 MB pack remap a window every few objects: 53,000
        // mmap/munmap pairs and 1.3 s of system time for a 20,000-commit history.
        _ = mirrordeck_git_opts_size_t(Int32(GIT_OPT_SET_MWINDOW_SIZE.rawValue), mwindowSize)
        _ = mirrordeck_git_opts_size_t(Int32(GIT_OPT_SET_MWINDOW_MAPPED_LIMIT.rawValue), mwindowMappedLimit)
        // Connections with connect and stall timeouts (libgit2 1.5 has none).
        GitSocketStream.register()
        return true
    }()

    /// Bytes of a pack mapped at once per window.
    static let mwindowSize = 32 << 20
    /// Bytes of pack windows mapped at once across the process (a soft limit: windows in use stay mapped).
    static let mwindowMappedLimit = 256 << 20

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

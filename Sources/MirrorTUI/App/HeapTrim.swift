/// Keeps the dashboard's heap close to what it holds: a dashboard lives for days, and glibc malloc would
/// otherwise keep the megabytes of every dropped snapshot (and of every finished job of the embedded
/// engine) in its free lists.
enum HeapTrim {
    /// Large blocks (whole mirror lists, row arrays, libgit2's object buffers) get pages of their own that
    /// go back to the system when freed. glibc's default raises this threshold to the largest block ever
    /// freed, after which such blocks stay in the heap for good.
    static func configure() {
        #if os(Linux)
        _ = glibcMallopt(mmapThreshold, 256 << 10)
        #endif
    }

    /// Returns the free pages malloc still holds to the system (after a large snapshot was dropped).
    static func releaseFreeMemory() {
        #if os(Linux)
        _ = glibcMallocTrim(0)
        #endif
    }
}

#if os(Linux)
/// `M_MMAP_THRESHOLD` from <malloc.h>.
private let mmapThreshold: Int32 = -3

// glibc's malloc tuning (declared in <malloc.h>, which the Glibc module does not bring in).
@_silgen_name("mallopt")
private func glibcMallopt(_ param: Int32, _ value: Int32) -> Int32

@_silgen_name("malloc_trim")
private func glibcMallocTrim(_ pad: Int) -> Int32
#endif

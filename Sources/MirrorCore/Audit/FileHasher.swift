import Crypto
import Foundation

/// What hashing one file gave.
struct FileHash: Sendable, Equatable {
    /// Lowercase hex SHA-256 of the whole file.
    var sha256: String
    var size: Int64
}

/// Hashes whole files with SHA-256 in large sequential reads. One per thread: it owns its read buffer.
///
/// Reads go through `read(2)` into one reusable buffer (4 MiB by default), after telling the kernel the
/// access is sequential (`posix_fadvise`), so the page cache reads ahead; with a rate limit every read
/// first takes its bytes from the shared token bucket.
final class FileHasher {
    static let defaultChunk = 4 << 20
    let chunk: Int
    private let buffer: UnsafeMutableRawBufferPointer
    private let bucket: TokenBucket?
    private let isCancelled: @Sendable () -> Bool

    init(chunk: Int = FileHasher.defaultChunk, bucket: TokenBucket?, isCancelled: @escaping @Sendable () -> Bool) {
        self.chunk = max(4096, chunk)
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: self.chunk, alignment: 4096)
        self.bucket = bucket
        self.isCancelled = isCancelled
    }

    deinit { buffer.deallocate() }

    /// The chunk size for a rate limit: smaller reads under a low limit keep the bucket smooth.
    static func chunk(forRate rate: Int64?) -> Int {
        guard let rate else { return defaultChunk }
        let sixteenth = Int(min(Int64(defaultChunk), rate / 16))
        return max(64 << 10, sixteenth & ~4095)
    }

    enum Failure: Error, Equatable {
        case cancelled
        /// errno of the failed read.
        case io(Int32)
    }

    /// Hashes the open file `fd` from offset 0 to its end; `progress` gets the bytes of each read.
    func hash(fd: Int32, sizeHint: Int64, progress: (Int64) -> Void) -> Result<FileHash, Failure> {
        if sizeHint > 0 { _ = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL) }
        var hasher = SHA256()
        var total: Int64 = 0
        while true {
            if isCancelled() { return .failure(.cancelled) }
            if let bucket, !bucket.take(chunk, isCancelled: isCancelled) { return .failure(.cancelled) }
            let n = read(fd, buffer.baseAddress, chunk)
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(.io(errno))
            }
            if n == 0 { break }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            total += Int64(n)
            progress(Int64(n))
        }
        return .success(FileHash(sha256: LFSStore.hex(hasher.finalize()), size: total))
    }
}

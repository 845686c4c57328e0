import Dispatch
import Foundation
import NIOCore

/// Reads a file descriptor in chunks off Swift's cooperative pool: each `next()` runs one blocking
/// `read`/`pread` on the reader's own serial queue and hands the bytes back as a `ByteBuffer`. The next
/// chunk is read while the current one is written to the client (one chunk ahead, no more), so a slow
/// client holds at most two chunks of memory and a fast one never waits for the disk or the pipe.
final class ChunkReader: @unchecked Sendable {
    private let fd: Int32
    private let queue = DispatchQueue(label: "mirrordeck.serve.reader")
    private let chunkSize: Int
    private let allocator = ByteBufferAllocator()
    /// For files: the next offset to `pread`; nil for pipes (plain `read`).
    private var offset: Int64?
    private var remaining: Int64
    private var ahead: Task<ByteBuffer?, Error>?

    /// A reader of a pipe until EOF.
    init(pipe fd: Int32, chunkSize: Int = 64 << 10) {
        self.fd = fd
        self.chunkSize = chunkSize
        offset = nil
        remaining = .max
    }

    /// A reader of `count` bytes of a file from `offset`.
    init(file fd: Int32, offset: Int64, count: Int64, chunkSize: Int = 1 << 20) {
        self.fd = fd
        self.chunkSize = chunkSize
        self.offset = offset
        remaining = count
    }

    struct ReadError: Error, CustomStringConvertible {
        let errno: Int32
        var description: String { "read failed: \(String(cString: strerror(errno)))" }
    }

    /// The next chunk, or nil at the end (EOF for a pipe, `count` bytes for a file).
    func next() async throws -> ByteBuffer? {
        let current = ahead ?? Task { try await self.readOne() }
        ahead = nil
        guard let chunk = try await current.value else { return nil }
        if remaining > 0 { ahead = Task { try await self.readOne() } }
        return chunk
    }

    private func readOne() async throws -> ByteBuffer? {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try self.readBlocking() })
            }
        }
    }

    private func readBlocking() throws -> ByteBuffer? {
        guard remaining > 0 else { return nil }
        let want = Int(min(Int64(chunkSize), remaining))
        var buffer = allocator.buffer(capacity: want)
        var failure: Int32 = 0
        let n = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: want) { raw -> Int in
            while true {
                let got = offset.map { pread(fd, raw.baseAddress, want, off_t($0)) } ?? read(fd, raw.baseAddress, want)
                if got < 0 && errno == EINTR { continue }
                if got < 0 { failure = errno; return 0 }
                return got
            }
        }
        if failure != 0 { throw ReadError(errno: failure) }
        if n == 0 {
            remaining = 0
            // A file that ends before `count` bytes was cut short under us.
            if offset != nil { throw ReadError(errno: EIO) }
            return nil
        }
        if let o = offset { offset = o + Int64(n) }
        if remaining != .max { remaining -= Int64(n) }
        return buffer
    }

    /// Waits for a read still in flight (call before closing the descriptor).
    func drain() async {
        _ = try? await ahead?.value
        ahead = nil
    }
}

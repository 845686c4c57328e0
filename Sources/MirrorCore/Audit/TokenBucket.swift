import Foundation

/// A token bucket shared by every hashing thread of an audit, so `--max-rate` caps their total read rate.
///
/// Tokens are bytes; the bucket refills at `rate` bytes a second and holds at most a quarter second's
/// worth (but never less than one read), so a paused audit cannot burst far above the rate when it resumes.
/// It starts empty: the limit holds from the first byte, and the rate a job shows early on is not a burst.
final class TokenBucket: @unchecked Sendable {
    let rate: Double
    private let capacity: Double
    private let lock = NSLock()
    private var tokens: Double
    private var last: TimeInterval

    init(bytesPerSecond: Int64, burst: Int) {
        rate = Double(max(1, bytesPerSecond))
        capacity = max(rate / 4, Double(burst))
        tokens = 0
        last = Self.now()
    }

    /// Takes `bytes` tokens, sleeping until they are there; false when `isCancelled` says stop first.
    func take(_ bytes: Int, isCancelled: () -> Bool) -> Bool {
        let want = min(Double(bytes), capacity)
        while true {
            lock.lock()
            let now = Self.now()
            tokens = min(capacity, tokens + (now - last) * rate)
            last = now
            if tokens >= want {
                tokens -= want
                lock.unlock()
                return true
            }
            let wait = (want - tokens) / rate
            lock.unlock()
            if isCancelled() { return false }
            usleep(UInt32(min(0.05, max(0.0005, wait)) * 1_000_000))
        }
    }

    private static func now() -> TimeInterval {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return TimeInterval(ts.tv_sec) + TimeInterval(ts.tv_nsec) / 1e9
    }
}

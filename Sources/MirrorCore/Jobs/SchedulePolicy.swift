import Foundation

/// When a mirror syncs next: its interval plus jitter after a success; exponential backoff after a
/// failure (first retry after `retryBaseSeconds`, doubling, capped at the interval); paused after
/// `pauseAfterFailures` consecutive failures.
public struct SchedulePolicy: Sendable, Equatable {
    public var retryBaseSeconds = 60
    public var pauseAfterFailures = 10
    /// Jitter spreads mirrors added together: up to this fraction of the interval, at most `maxJitterSeconds`.
    public var jitterFraction = 0.1
    public var maxJitterSeconds = 300.0

    public init() {}

    /// Seconds from a success to the next scheduled sync.
    public func nextDelay(intervalSeconds: Int) -> TimeInterval {
        let jitter = min(Double(intervalSeconds) * jitterFraction, maxJitterSeconds)
        return TimeInterval(intervalSeconds) + (jitter > 0 ? Double.random(in: 0...jitter) : 0)
    }

    /// Seconds from the `failures`-th consecutive failure to the retry.
    public func retryDelay(failures: Int, intervalSeconds: Int) -> TimeInterval {
        let doubled = retryBaseSeconds << min(max(failures - 1, 0), 30)
        return TimeInterval(min(doubled, intervalSeconds))
    }
}

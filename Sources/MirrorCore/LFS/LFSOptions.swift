import Foundation

/// Knobs of an LFS fetch. The defaults suit production; tests shorten the timeouts.
public struct LFSOptions: Sendable, Equatable {
    /// Objects transferred at once.
    public var parallel = 8
    /// Objects per batch API request (the spec's limit is 100).
    public var batchSize = 100
    /// Extra attempts after the first, for batch requests and for each download (429, 5xx, dropped or stalled connections).
    public var retries = 4
    /// First backoff delay; it doubles each retry up to `backoffMax`, unless the server sends `Retry-After`.
    public var backoffBase: TimeInterval = 1
    public var backoffMax: TimeInterval = 30
    /// The longest `Retry-After` honoured; longer requests end the attempt.
    public var retryAfterMax: TimeInterval = 300
    /// Seconds to wait for a TCP/TLS connection.
    public var connectTimeout = 30
    /// Seconds without a single byte before a transfer counts as stalled.
    public var stallTimeout = 60
    /// Bytes a second a download must keep up over `stallTimeout` seconds, or it is aborted and resumed
    /// with `Range` on a new connection (`--min-rate`, `[engine] min_rate`); nil: no such limit.
    public var minRate: Int64?
    /// A failed attempt that still brought at least this many new bytes is resumed at once and does not
    /// count against `retries` (a far link that cuts connections every few megabytes).
    public var progressResetBytes: Int64 = 64 << 10
    /// HTTP redirects followed per request (http and https only).
    public var maxRedirects = 5
    /// Space kept free on the home's filesystem: a fetch whose missing bytes would eat into it fails
    /// before it fetches anything (`--disk-reserve`, `[storage] disk_reserve`).
    public var reserve = DiskReserve.default
    /// How often `progress` is called (the job row takes at most 4 writes a second).
    public var progressInterval: TimeInterval = 0.25

    public init(parallel: Int = 8) {
        self.parallel = parallel
    }

    /// The delay before retry number `attempt` (1-based): `Retry-After` when the server gave one, else
    /// exponential backoff with a little jitter. Nil when the server asks for longer than we wait.
    func delay(attempt: Int, retryAfter: String?) -> TimeInterval? {
        if let retryAfter, let seconds = Self.parseRetryAfter(retryAfter) {
            return seconds <= retryAfterMax ? max(0, seconds) : nil
        }
        let base = min(backoffMax, backoffBase * pow(2, Double(max(0, attempt - 1))))
        return base * Double.random(in: 0.8...1.0)
    }

    /// `Retry-After` as seconds (a number) or an HTTP date.
    static func parseRetryAfter(_ text: String, now: Date = Date()) -> TimeInterval? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let n = Double(trimmed), n.isFinite { return n }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        if let date = formatter.date(from: trimmed) { return date.timeIntervalSince(now) }
        return nil
    }
}

extension LFSOptions {
    /// Parses a `--min-rate` / `min_rate` value: bytes a second with optional units (`500KB/s`, `1MiB/s`).
    public static func parseMinRate(_ text: String) -> Int64? {
        try? AuditOptions.parseRate(text)
    }
}

/// Sleeps up to `seconds` in short steps; returns false as soon as `isCancelled` says so.
func cancellableSleep(_ seconds: TimeInterval, isCancelled: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if isCancelled() { return false }
        usleep(UInt32(min(50_000, max(1_000, deadline.timeIntervalSinceNow * 1_000_000))))
    }
    return !isCancelled()
}

import Foundation

/// An upstream host that said "too many requests": every job to it waits until `until`.
///
/// A rate limit is a state of the host, not a failure of a mirror: it is recorded once in the catalog
/// (`host_state`), queued jobs to the host wait for the reset, scheduled checks of its mirrors are not
/// started before it, and the run that met it ends `rate-limited`, which counts toward no backoff or pause.
public struct HostRateLimit: Sendable, Equatable {
    /// The host, lowercased, as `UpstreamURL` reads it (`github.com`).
    public var host: String
    /// When requests to the host may start again.
    public var until: Date
    /// The HTTP status that said so (429, or 403 with `X-RateLimit-Remaining: 0`).
    public var status: Int
    /// Which header gave the reset time (`Retry-After 30 s`, `X-RateLimit-Reset`, or the default wait).
    public var source: String

    /// The wait when a 429 names no reset time.
    public static let defaultWait: TimeInterval = 60
    /// The longest wait taken from a header: a bogus reset years ahead must not stop a host for good.
    public static let maximumWait: TimeInterval = 6 * 3600

    public init(host: String, until: Date, status: Int, source: String) {
        self.host = host
        self.until = until
        self.status = status
        self.source = source
    }

    /// Reads GitHub's shape of a rate-limit answer: a 429, or a 403 with `X-RateLimit-Remaining: 0`; the reset
    /// comes from `Retry-After` (seconds or an HTTP date), else `X-RateLimit-Reset` (epoch seconds), else one
    /// minute. Any other answer (a 403 without `Remaining: 0` is a refusal) gives nil. `headers` has lowercased keys.
    public static func parse(status: Int, headers: [String: String], host: String, now: Date = Date()) -> HostRateLimit? {
        let remaining = headers["x-ratelimit-remaining"]?.trimmingCharacters(in: .whitespaces)
        guard status == 429 || (status == 403 && remaining == "0") else { return nil }
        var until = now.addingTimeInterval(defaultWait)
        var source = "no reset time given: waiting \(Int(defaultWait)) s"
        if let text = headers["retry-after"], let seconds = LFSOptions.parseRetryAfter(text, now: now) {
            until = now.addingTimeInterval(seconds)
            source = "Retry-After " + text.trimmingCharacters(in: .whitespaces)
        } else if let text = headers["x-ratelimit-reset"], let epoch = Double(text.trimmingCharacters(in: .whitespaces)), epoch.isFinite {
            until = Date(timeIntervalSince1970: epoch)
            source = "X-RateLimit-Reset " + text.trimmingCharacters(in: .whitespaces)
        }
        // A reset already past (clocks differ) still waits a moment; one far ahead is capped.
        let wait = min(max(until.timeIntervalSince(now), 1), maximumWait)
        return HostRateLimit(host: host.lowercased(), until: now.addingTimeInterval(wait), status: status, source: source)
    }

    /// Longest wait of a 429 that a request may sit out in place (retried) instead of making the host wait.
    public static let briefWait: TimeInterval = 10

    /// A 429 asking for a wait of a few seconds, without quota headers (`X-RateLimit-Remaining: 0` or
    /// `X-RateLimit-Reset`): an overloaded server's "try again in a moment", which an LFS batch request
    /// retries in place before treating it as the host's state.
    public static func isBrief(_ limit: HostRateLimit, headers: [String: String], now: Date = Date()) -> Bool {
        limit.status == 429 && headers["x-ratelimit-remaining"]?.trimmingCharacters(in: .whitespaces) != "0"
            && headers["x-ratelimit-reset"] == nil && limit.until.timeIntervalSince(now) <= briefWait
    }

    /// "github.com rate-limited until 12:03 (429, Retry-After 30)".
    public var description: String {
        "\(host) rate-limited until \(TimeFormat.clock(until)) (\(status), \(source))"
    }
}

/// The hosts a mirror's transfers go to: its upstream's, and its LFS endpoint's when set apart.
public enum MirrorHosts {
    /// The upstream's host, lowercased (`local` for paths and file:// URLs).
    public static func upstream(_ mirror: Mirror) -> String {
        (try? UpstreamURL(mirror.upstream))?.host?.lowercased() ?? "local"
    }

    /// The upstream's host and, when `--lfs-url` names another, that one.
    public static func all(_ mirror: Mirror) -> [String] {
        let git = upstream(mirror)
        guard let lfs = mirror.lfsURL.flatMap({ URLComponents(string: $0)?.host?.lowercased() }), lfs != git else { return [git] }
        return [git, lfs]
    }

    /// The first active limit among a mirror's hosts.
    public static func limit(for mirror: Mirror, in limits: [HostRateLimit]) -> HostRateLimit? {
        guard !limits.isEmpty else { return nil }
        let hosts = all(mirror)
        return limits.first { hosts.contains($0.host) }
    }
}

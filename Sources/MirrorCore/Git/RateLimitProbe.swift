import Foundation

/// Tells a rate-limited git upstream from a failing one.
///
/// libgit2 1.5 reports an HTTP 429 or 403 only as "unexpected http status code: 429", without the answer's
/// headers, so it cannot say until when the host is limited. When a sync over http(s) fails that way, one
/// request with libcurl to the same ref advertisement (`GET <url>/info/refs?service=git-upload-pack`, with the
/// mirror's TLS setting, `~/.netrc` and the proxy environment, as libgit2 uses them) reads the status and
/// GitHub's headers (`Retry-After`, `X-RateLimit-Remaining`, `X-RateLimit-Reset`). A 429 is a rate limit even
/// when the probe no longer gets one (then the wait is one minute); a 403 is one only when the probe shows
/// `X-RateLimit-Remaining: 0`, otherwise it stays the credentials failure it was.
enum RateLimitProbe {
    /// Turns a failed sync's outcome into a rate-limited one when the upstream is rate-limiting this host.
    static func classify(_ outcome: inout SyncOutcome, mirror: Mirror, now: Date = Date()) {
        guard outcome.result == .failed, let error = outcome.error, let status = httpStatus(in: error),
              status == 429 || status == 403,
              let url = URLComponents(string: mirror.upstream), let scheme = url.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let host = url.host?.lowercased() else { return }
        let answer = probe(upstream: mirror.upstream, insecureTLS: mirror.insecureTLS)
        var limit = answer.flatMap { HostRateLimit.parse(status: $0.status, headers: $0.headers, host: host, now: now) }
        if limit == nil, status == 429 {
            limit = HostRateLimit.parse(status: 429, headers: [:], host: host, now: now)
        }
        guard let limit else { return }
        outcome.result = .rateLimited
        outcome.rateLimit = limit
        outcome.error = "\(limit.description); its mirrors' syncs wait for the reset"
    }

    /// The status in libgit2's "unexpected http status code: 429".
    static func httpStatus(in message: String) -> Int? {
        guard let range = message.range(of: "unexpected http status code: ") else { return nil }
        return Int(message[range.upperBound...].prefix { $0.isNumber })
    }

    /// The status and headers of the upstream's ref advertisement; nil when no answer came.
    static func probe(upstream: String, insecureTLS: Bool) -> (status: Int, headers: [String: String])? {
        var base = upstream
        while base.hasSuffix("/") { base.removeLast() }
        var request = CurlHandle.Request(url: base + "/info/refs?service=git-upload-pack")
        request.insecureTLS = insecureTLS
        request.netrc = true
        request.connectTimeout = 15
        request.stallTimeout = 15
        // Only the status line and headers matter: the body is not read.
        let callbacks = CurlHandle.Callbacks(isCancelled: { false }) { _, _ in false }
        let response = CurlHandle().perform(request, callbacks: callbacks)
        guard response.status > 0 else { return nil }
        return (response.status, response.headers)
    }
}

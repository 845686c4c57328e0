import CCurl
import Foundation

/// One libcurl easy handle, reused request after request so connections (and TLS sessions) stay open.
/// Blocking: confine an instance to one dedicated thread.
final class CurlHandle {
    private let easy: UnsafeMutableRawPointer
    private let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)

    private static let globalInit: Bool = {
        curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK
    }()

    static let userAgent = "mirrordeck-lfs/0.1 (git-lfs/3 compatible)"

    init() {
        _ = Self.globalInit
        easy = curl_easy_init()
    }

    deinit {
        curl_easy_cleanup(easy)
        errorBuffer.deallocate()
    }

    /// One HTTP request. Header values given here are sent but never logged.
    struct Request {
        var url: String
        var method = "GET"
        var headers: [(String, String)] = []
        var body: [UInt8]?
        /// Ask for the bytes from this offset on (`Range: bytes=N-`).
        var rangeStart: Int64?
        var insecureTLS = false
        /// Use ~/.netrc (or `$NETRC`) for credentials to this host.
        var netrc = false
        var connectTimeout = 30
        /// Abort when fewer than one byte a second arrives for this many seconds.
        var stallTimeout = 60
        /// Abort when the body arrives slower than this many bytes a second over `stallTimeout` seconds
        /// (nil: no low-speed limit). Time the caller spends in its own bandwidth caps does not count.
        var minRate: Int64?
        var maxRedirects = 5
    }

    /// What came back: the final response's status and headers (keys lowercased), or curl's error.
    struct Response {
        var status = 0
        var headers: [String: String] = [:]
        var code: CURLcode = CURLE_OK
        var curlMessage = ""
        /// No byte moved for the stall timeout, so the transfer was aborted.
        var stalled = false
        /// The transfer moved, but slower than the request's `minRate` for the stall timeout: aborted.
        var tooSlow = false
        var ok: Bool { code == CURLE_OK }
    }

    /// Receives the response as it streams: `onBody` returns false to abort the transfer; `isCancelled`
    /// is polled about once a second and between chunks.
    final class Callbacks {
        var status = 0
        var headers: [String: String] = [:]
        let onBody: (Callbacks, UnsafeRawBufferPointer) -> Bool
        let isCancelled: () -> Bool
        /// Set when no byte moved for the stall timeout (curl's own low-speed check averages over
        /// several seconds, so a trickle then silence would go unnoticed for too long).
        private(set) var stalled = false
        /// Set when the body came slower than the minimum rate for the stall timeout. Done here rather than
        /// with curl's CURLOPT_LOW_SPEED_LIMIT because the bandwidth caps sleep inside the write callback:
        /// curl would count that sleep as a slow link, while here it is subtracted (`throttled`).
        private(set) var tooSlow = false
        fileprivate var stallNanoseconds: UInt64 = 60_000_000_000
        fileprivate var minRate: Int64?
        /// Nanoseconds the body callback spent waiting for the caller's own bandwidth caps.
        var throttled: UInt64 = 0
        private var lastMoved: UInt64 = 0
        private var lastBytes: Int64 = -1
        /// (time, bytes, throttled) about every half second, for the low-speed check's window.
        private var samples: [(at: UInt64, bytes: Int64, throttled: UInt64)] = []

        /// Called by curl at least once a second: false aborts the transfer.
        fileprivate func keepGoing(bytes: Int64) -> Bool {
            if isCancelled() { return false }
            let now = DispatchTime.now().uptimeNanoseconds
            if bytes != lastBytes {
                lastBytes = bytes
                lastMoved = now
            } else if now - lastMoved > stallNanoseconds {
                stalled = true
                return false
            }
            if let minRate, status != 0 { return fastEnough(now: now, bytes: bytes, minRate: minRate) }
            return true
        }

        /// The low-speed check, once the response has begun: over the last stall-timeout seconds (less the
        /// time spent in our own caps), at least `minRate` bytes a second.
        private func fastEnough(now: UInt64, bytes: Int64, minRate: Int64) -> Bool {
            if samples.isEmpty || now - samples[samples.count - 1].at >= 500_000_000 {
                samples.append((now, bytes, throttled))
            }
            // The newest sample at least a window old is where the window starts; older ones are not needed.
            guard let start = samples.lastIndex(where: { now - $0.at >= stallNanoseconds }) else { return true }
            if start > 0 { samples.removeFirst(start) }
            let first = samples[0]
            let elapsed = now - first.at
            let own = throttled - first.throttled
            // Mostly waiting on our own caps: the link was not given the chance to show its speed.
            guard elapsed > own, elapsed - own >= stallNanoseconds / 2 else { return true }
            let rate = Double(bytes - first.bytes) / (Double(elapsed - own) / 1e9)
            if rate < Double(minRate) {
                tooSlow = true
                return false
            }
            return true
        }

        init(isCancelled: @escaping () -> Bool, onBody: @escaping (Callbacks, UnsafeRawBufferPointer) -> Bool) {
            self.isCancelled = isCancelled
            self.onBody = onBody
        }

        func headerLine(_ raw: String) {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.hasPrefix("HTTP/") {
                // A new response (after a redirect or a 100 Continue): forget the previous one's headers.
                let parts = line.split(separator: " ")
                status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
                headers = [:]
            } else if let colon = line.firstIndex(of: ":") {
                let key = line[..<colon].lowercased()
                headers[key] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
    }

    /// Runs `request` to the end (following at most `maxRedirects` http(s) redirects).
    func perform(_ request: Request, callbacks: Callbacks) -> Response {
        curl_easy_reset(easy)
        errorBuffer[0] = 0
        var headerList: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(headerList) }
        for (name, value) in request.headers {
            headerList = curl_slist_append(headerList, "\(name): \(value)")
        }
        if request.body != nil { headerList = curl_slist_append(headerList, "Expect:") }

        _ = mdk_curl_setopt_str(easy, CURLOPT_URL, request.url)
        _ = mdk_curl_setopt_long(easy, CURLOPT_NOSIGNAL, 1)
        _ = mdk_curl_setopt_str(easy, CURLOPT_PROTOCOLS_STR, "http,https")
        _ = mdk_curl_setopt_str(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
        _ = mdk_curl_setopt_long(easy, CURLOPT_FOLLOWLOCATION, 1)
        _ = mdk_curl_setopt_long(easy, CURLOPT_MAXREDIRS, request.maxRedirects)
        _ = mdk_curl_setopt_long(easy, CURLOPT_CONNECTTIMEOUT, request.connectTimeout)
        callbacks.stallNanoseconds = UInt64(max(1, request.stallTimeout)) * 1_000_000_000
        callbacks.minRate = request.minRate
        _ = mdk_curl_setopt_long(easy, CURLOPT_BUFFERSIZE, 512 << 10)
        _ = mdk_curl_setopt_long(easy, CURLOPT_TCP_KEEPALIVE, 1)
        _ = mdk_curl_setopt_str(easy, CURLOPT_USERAGENT, Self.userAgent)
        _ = mdk_curl_setopt_ptr(easy, CURLOPT_ERRORBUFFER, errorBuffer)
        if request.insecureTLS {
            _ = mdk_curl_setopt_long(easy, CURLOPT_SSL_VERIFYPEER, 0)
            _ = mdk_curl_setopt_long(easy, CURLOPT_SSL_VERIFYHOST, 0)
        }
        if request.netrc {
            _ = mdk_curl_setopt_long(easy, CURLOPT_NETRC, Int(CURL_NETRC_OPTIONAL.rawValue))
            if let file = ProcessInfo.processInfo.environment["NETRC"], !file.isEmpty {
                _ = mdk_curl_setopt_str(easy, CURLOPT_NETRC_FILE, file)
            }
        }
        if let start = request.rangeStart, start > 0 {
            _ = mdk_curl_setopt_str(easy, CURLOPT_RANGE, "\(start)-")
        }
        if let body = request.body {
            _ = mdk_curl_setopt_off(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
            body.withUnsafeBytes { raw in
                _ = mdk_curl_setopt_ptr(easy, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: raw.baseAddress))
            }
        }
        if request.method != "GET" && request.method != "POST" {
            _ = mdk_curl_setopt_str(easy, CURLOPT_CUSTOMREQUEST, request.method)
        }
        _ = mdk_curl_setopt_slist(easy, CURLOPT_HTTPHEADER, headerList)

        let context = Unmanaged.passRetained(callbacks)
        defer { context.release() }
        let opaque = context.toOpaque()
        _ = mdk_curl_setopt_ptr(easy, CURLOPT_HEADERDATA, opaque)
        _ = mdk_curl_setopt_write(easy, CURLOPT_HEADERFUNCTION) { buffer, size, count, user in
            guard let buffer, let user else { return 0 }
            let n = size * count
            let cb = Unmanaged<Callbacks>.fromOpaque(user).takeUnretainedValue()
            cb.headerLine(String(decoding: UnsafeRawBufferPointer(start: buffer, count: n), as: UTF8.self))
            return n
        }
        _ = mdk_curl_setopt_ptr(easy, CURLOPT_WRITEDATA, opaque)
        _ = mdk_curl_setopt_write(easy, CURLOPT_WRITEFUNCTION) { buffer, size, count, user in
            guard let user else { return 0 }
            let n = size * count
            let cb = Unmanaged<Callbacks>.fromOpaque(user).takeUnretainedValue()
            if cb.isCancelled() { return 0 }
            return cb.onBody(cb, UnsafeRawBufferPointer(start: buffer, count: n)) ? n : 0
        }
        _ = mdk_curl_setopt_long(easy, CURLOPT_NOPROGRESS, 0)
        _ = mdk_curl_setopt_ptr(easy, CURLOPT_XFERINFODATA, opaque)
        _ = mdk_curl_setopt_xferinfo(easy) { user, _, downloaded, _, uploaded in
            guard let user else { return 0 }
            return Unmanaged<Callbacks>.fromOpaque(user).takeUnretainedValue().keepGoing(bytes: Int64(downloaded) + Int64(uploaded)) ? 0 : 1
        }

        let code = curl_easy_perform(easy)
        var response = Response(code: code)
        response.stalled = callbacks.stalled
        response.tooSlow = callbacks.tooSlow
        var status = 0
        _ = mdk_curl_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
        response.status = status != 0 ? status : callbacks.status
        response.headers = callbacks.headers
        if code != CURLE_OK {
            let detail = String(cString: errorBuffer)
            response.curlMessage = LFSEndpoint.display(detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail)
        }
        return response
    }
}

/// How curl's failures read to an operator, and which ones a retry may cure.
enum CurlErrors {
    /// Dropped, refused, stalled or cut-short connections: worth another attempt (resuming where possible).
    static func isTransient(_ response: CurlHandle.Response) -> Bool {
        response.stalled || response.tooSlow || isTransient(response.code)
    }

    static func isTransient(_ code: CURLcode) -> Bool {
        code == CURLE_COULDNT_CONNECT || code == CURLE_OPERATION_TIMEDOUT || code == CURLE_PARTIAL_FILE
            || code == CURLE_RECV_ERROR || code == CURLE_SEND_ERROR || code == CURLE_GOT_NOTHING
            || code == CURLE_HTTP2 || code == CURLE_HTTP2_STREAM || code == CURLE_SSL_CONNECT_ERROR
    }

    /// A one-line explanation of a failed transfer.
    static func describe(_ response: CurlHandle.Response, stallTimeout: Int, maxRedirects: Int, minRate: Int64? = nil) -> String {
        if response.stalled { return "the connection stalled (no data for \(stallTimeout) s)" }
        if response.tooSlow, let minRate {
            return "the transfer was slower than the minimum rate (\(ByteFormat.rate(Double(minRate))) for \(stallTimeout) s)"
        }
        switch response.code {
        case CURLE_OPERATION_TIMEDOUT:
            return "the connection stalled (no data for \(stallTimeout) s)"
        case CURLE_TOO_MANY_REDIRECTS:
            return "too many redirects (more than \(maxRedirects))"
        case CURLE_UNSUPPORTED_PROTOCOL:
            return "redirected to a URL that is not http(s): refused"
        case CURLE_PARTIAL_FILE:
            return "the server closed the connection before the end of the body"
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE:
            return "TLS verification failed (\(response.curlMessage)): fix the server's certificate or its CA on this host"
        default:
            return response.curlMessage
        }
    }
}

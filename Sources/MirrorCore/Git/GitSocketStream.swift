import CGit2
import Foundation

/// What git transfers started on the current thread may do: how long an upstream may stay silent, how
/// long a connection may take, and when to give up because the job was cancelled.
///
/// libgit2 1.5 has no socket timeouts: a fetch whose upstream stops sending mid-pack waits in `recv`
/// forever, and its progress callback is never called again to notice. MirrorDeck's own socket stream
/// (`GitSocketStream`) waits with `poll` instead and ends such a read as stalled.
public struct GitTransferLimits: Sendable {
    /// Seconds without a byte from the upstream (while one is expected) before the transfer is stalled.
    public var stallTimeout: TimeInterval
    /// Seconds a TCP connection may take to be set up.
    public var connectTimeout: TimeInterval
    /// Bandwidth caps every byte received takes from (`TransferBudget`).
    var buckets: [TokenBucket] = []
    /// Where a plain-http upstream's connections really go (`PlainHTTPProxy`).
    var plainHTTPProxy: PlainHTTPProxy?
    /// Counts every byte received from the upstream, the ref listing included (what the link carried).
    var received: ByteCounter?

    public static let defaultStallTimeout: TimeInterval = 60

    public init(stallTimeout: TimeInterval = GitTransferLimits.defaultStallTimeout, connectTimeout: TimeInterval = 30) {
        self.stallTimeout = stallTimeout
        self.connectTimeout = connectTimeout
    }

    private static let key = "mirrordeck.git-transfer"

    /// Runs `body` with these limits (and `isCancelled`) applied to every connection it opens on this thread.
    func apply<T>(isCancelled: @escaping () -> Bool = { false }, _ body: () throws -> T) rethrows -> T {
        let dictionary = Thread.current.threadDictionary
        let previous = dictionary[Self.key]
        dictionary[Self.key] = GitSocketStream.Settings(limits: self, isCancelled: isCancelled)
        defer { dictionary[Self.key] = previous }
        return try body()
    }

    /// The settings of the current thread (the defaults outside `apply`).
    static var current: GitSocketStream.Settings {
        Thread.current.threadDictionary[key] as? GitSocketStream.Settings ?? GitSocketStream.Settings(limits: GitTransferLimits(), isCancelled: { false })
    }
}

/// Bytes received on the connections of one sync (on its thread only, as libgit2 reads on the caller's).
final class ByteCounter: @unchecked Sendable {
    private(set) var total: Int64 = 0
    func add(_ n: Int64) { total += n }
}

/// The TCP connections of libgit2's git://, http:// and https:// (under TLS) and ssh:// transports, with
/// timeouts: registered once as libgit2's standard stream.
///
/// Connecting waits at most the connect timeout; every read and write waits in `poll` for at most the stall
/// timeout (checking for a cancelled job four times a second) and then fails with "stalled: no data from
/// HOST for N s", which ends the fetch as a transfer error. The memory layout is libgit2 1.5's own socket
/// stream's (`mirrordeck_socket_stream` in the C shim), whose SSH transport hands the socket to libssh2.
final class GitSocketStream {
    /// The limits a stream was opened under.
    final class Settings {
        let limits: GitTransferLimits
        let isCancelled: () -> Bool
        init(limits: GitTransferLimits, isCancelled: @escaping () -> Bool) {
            self.limits = limits
            self.isCancelled = isCancelled
        }
    }

    let host: String
    let port: String
    let settings: Settings
    /// Whether this plain-http connection goes to the upstream's proxy (`PlainHTTPProxy`).
    private(set) var proxied = false
    /// Whether the last call was a read: the next write starts a new request.
    var lastWasRead = false

    private init(host: String, port: String, settings: Settings) {
        self.host = host
        self.port = port
        self.settings = settings
    }

    /// Makes these streams libgit2's standard (non-TLS) streams; TLS streams are built on them.
    static func register() {
        var registration = git_stream_registration()
        registration.version = GIT_STREAM_VERSION
        registration.`init` = { out, host, port in
            guard let out, let host else { return GIT_ERROR.rawValue }
            let owner = GitSocketStream(host: String(cString: host), port: port.map { String(cString: $0) } ?? "80",
                                        settings: GitTransferLimits.current)
            out.pointee = GitSocketStream.make(owner)
            return 0
        }
        _ = git_stream_register(GIT_STREAM_STANDARD, &registration)
    }

    private static func make(_ owner: GitSocketStream) -> UnsafeMutablePointer<git_stream> {
        let stream = UnsafeMutablePointer<mirrordeck_socket_stream>.allocate(capacity: 1)
        stream.initialize(to: mirrordeck_socket_stream())
        stream.pointee.s = -1
        stream.pointee.host = strdup(owner.host)
        stream.pointee.port = strdup(owner.port)
        stream.pointee.owner = Unmanaged.passRetained(owner).toOpaque()
        stream.pointee.parent.version = GIT_STREAM_VERSION
        stream.pointee.parent.connect = { stream in
            guard let stream else { return GIT_ERROR.rawValue }
            return GitSocketStream.outer(stream) { s, owner in owner.connect(s) }
        }
        stream.pointee.parent.read = { stream, data, length in
            guard let stream, let data else { return -1 }
            return GitSocketStream.outer(stream) { s, owner in
                owner.lastWasRead = true
                return owner.read(s.pointee.s, data, length)
            }
        }
        stream.pointee.parent.write = { stream, data, length, _ in
            guard let stream, let data else { return -1 }
            return GitSocketStream.outer(stream) { s, owner in
                // A new request on a proxy connection the proxy has closed since its last answer (tinyproxy
                // closes after every response without saying so, and libgit2 1.5 does not retry): connect
                // afresh first, as curl does. Only between a response and the next request, only for plain http.
                if owner.lastWasRead, owner.proxied, GitSocketStream.peerClosed(s.pointee.s) {
                    Glibc.close(s.pointee.s)
                    s.pointee.s = -1
                    guard owner.connect(s) == 0 else { return -1 }
                }
                owner.lastWasRead = false
                return owner.write(s.pointee.s, data, length)
            }
        }
        stream.pointee.parent.close = { stream in
            guard let stream else { return 0 }
            return GitSocketStream.outer(stream) { s, _ in
                if s.pointee.s >= 0 { Glibc.close(s.pointee.s) }
                s.pointee.s = -1
                return 0
            }
        }
        stream.pointee.parent.free = { stream in
            guard let stream else { return }
            stream.withMemoryRebound(to: mirrordeck_socket_stream.self, capacity: 1) { s in
                if s.pointee.s >= 0 { Glibc.close(s.pointee.s) }
                free(s.pointee.host)
                free(s.pointee.port)
                Unmanaged<GitSocketStream>.fromOpaque(s.pointee.owner).release()
                s.deallocate()
            }
        }
        return UnsafeMutableRawPointer(stream).assumingMemoryBound(to: git_stream.self)
    }

    private static func outer<T>(_ stream: UnsafeMutablePointer<git_stream>,
                                 _ body: (UnsafeMutablePointer<mirrordeck_socket_stream>, GitSocketStream) -> T) -> T {
        stream.withMemoryRebound(to: mirrordeck_socket_stream.self, capacity: 1) { s in
            body(s, Unmanaged<GitSocketStream>.fromOpaque(s.pointee.owner).takeUnretainedValue())
        }
    }

    private func fail(_ message: String) -> Int32 {
        _ = git_error_set_str(Int32(GIT_ERROR_NET.rawValue), message)
        return GIT_ERROR.rawValue
    }

    /// Resolves the host and connects to the first address that answers within the connect timeout.
    private func connect(_ stream: UnsafeMutablePointer<mirrordeck_socket_stream>) -> Int32 {
        var host = self.host, port = self.port
        if let proxy = settings.limits.plainHTTPProxy, proxy.serverHost == host, proxy.serverPort == port {
            (host, port) = (proxy.proxyHost, proxy.proxyPort)
            proxied = true
        }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var info: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, port, &hints, &info)
        guard rc == 0 else { return fail("failed to resolve address for \(host): \(String(cString: gai_strerror(rc)))") }
        defer { freeaddrinfo(info) }
        var lastError = "failed to connect to \(host)"
        var entry = info
        while let address = entry {
            entry = address.pointee.ai_next
            let fd = socket(address.pointee.ai_family, address.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue),
                            address.pointee.ai_protocol)
            guard fd >= 0 else { continue }
            if Glibc.connect(fd, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 || errno == EINPROGRESS,
               wait(fd, for: Int16(POLLOUT), limit: settings.limits.connectTimeout) {
                var err: Int32 = 0
                var len = socklen_t(MemoryLayout<Int32>.size)
                if getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0, err == 0 {
                    var one: Int32 = 1
                    _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                    stream.pointee.s = fd
                    return 0
                }
                lastError = "failed to connect to \(host): \(String(cString: strerror(err)))"
            } else if settings.isCancelled() {
                Glibc.close(fd)
                return fail("cancelled")
            } else {
                lastError = "failed to connect to \(host): timed out after \(Int(settings.limits.connectTimeout)) s"
            }
            Glibc.close(fd)
        }
        return fail(lastError)
    }

    /// Whether the peer has closed the connection (nothing unread, end of stream).
    static func peerClosed(_ fd: Int32) -> Bool {
        guard fd >= 0 else { return false }
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, Int32(MSG_PEEK) | Int32(MSG_DONTWAIT)) == 0
    }

    /// Waits until `fd` is ready for `events`, at most `limit` seconds; false on a timeout or a cancel.
    private func wait(_ fd: Int32, for events: Int16, limit: TimeInterval) -> Bool {
        let deadline = Self.now() + limit
        var pfd = pollfd(fd: fd, events: events, revents: 0)
        while true {
            let left = deadline - Self.now()
            if left <= 0 || settings.isCancelled() { return false }
            pfd.revents = 0
            let n = poll(&pfd, 1, Int32(min(250, max(1, left * 1000))))
            if n > 0 { return true }
            if n < 0 && errno != EINTR { return true } // let the read or write report the error
        }
    }

    private func read(_ fd: Int32, _ data: UnsafeMutableRawPointer, _ length: Int) -> Int {
        while true {
            let n = recv(fd, data, length, 0)
            if n > 0 { settings.limits.received?.add(Int64(n)) }
            if n > 0, !settings.limits.buckets.isEmpty,
               !TransferBudget.take(n, from: settings.limits.buckets, isCancelled: settings.isCancelled) {
                _ = fail("cancelled")
                return -1
            }
            if n >= 0 { return n }
            guard errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR else {
                _ = fail("error receiving data from \(host): \(String(cString: strerror(errno)))")
                return -1
            }
            if errno == EINTR { continue }
            guard wait(fd, for: Int16(POLLIN), limit: settings.limits.stallTimeout) else { return stalled() }
        }
    }

    private func write(_ fd: Int32, _ data: UnsafePointer<CChar>, _ length: Int) -> Int {
        var written = 0
        while written < length {
            let n = send(fd, data + written, length - written, Int32(MSG_NOSIGNAL))
            if n >= 0 {
                written += n
                continue
            }
            guard errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR else {
                _ = fail("error sending data to \(host): \(String(cString: strerror(errno)))")
                return -1
            }
            if errno == EINTR { continue }
            guard wait(fd, for: Int16(POLLOUT), limit: settings.limits.stallTimeout) else { return stalled() }
        }
        return written
    }

    private func stalled() -> Int {
        if settings.isCancelled() {
            _ = fail("cancelled")
        } else {
            _ = fail("stalled: no data from \(host) for \(Int(settings.limits.stallTimeout)) s")
        }
        return -1
    }

    private static func now() -> TimeInterval {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return TimeInterval(ts.tv_sec) + TimeInterval(ts.tv_nsec) / 1e9
    }
}

/// The HTTP proxy of a plain-http upstream. libgit2 1.5 finds it (the `http_proxy`/`HTTP_PROXY` and
/// `no_proxy`/`NO_PROXY` environment variables) and writes its requests in the absolute form a proxy
/// expects, but then connects to the upstream itself, so the proxy is never used; an `https://` upstream
/// goes through the proxy properly (`CONNECT`). MirrorDeck's stream connects such a plain-http connection to
/// the proxy instead. The environment is read with libgit2's own rules, so both agree on when a proxy applies.
struct PlainHTTPProxy: Sendable, Equatable {
    var serverHost: String
    var serverPort: String
    var proxyHost: String
    var proxyPort: String

    static func find(upstream: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> PlainHTTPProxy? {
        guard let url = URLComponents(string: upstream), url.scheme?.lowercased() == "http", let host = url.host, !host.isEmpty,
              let text = environment["http_proxy"] ?? environment["HTTP_PROXY"], !text.isEmpty,
              let proxy = URLComponents(string: text.contains("://") ? text : "http://" + text),
              proxy.scheme?.lowercased() == "http", let proxyHost = proxy.host, !proxyHost.isEmpty else { return nil }
        let port = url.port.map(String.init) ?? "80"
        let noProxy = environment["no_proxy"] ?? environment["NO_PROXY"] ?? ""
        guard !noProxy.split(separator: ",", omittingEmptySubsequences: true).contains(where: { matches(String($0), host: host, port: port) }) else {
            return nil
        }
        return PlainHTTPProxy(serverHost: host, serverPort: port, proxyHost: proxyHost, proxyPort: proxy.port.map(String.init) ?? "80")
    }

    /// libgit2's `no_proxy` pattern: `*`, `host`, `.domain` or `*.domain` (suffix), each with an optional `:port`.
    static func matches(_ pattern: String, host: String, port: String) -> Bool {
        if pattern == "*" { return true }
        var domain = Substring(pattern)
        var wildcard = false
        if domain.hasPrefix("*.") { domain = domain.dropFirst(2); wildcard = true } else if domain.hasPrefix(".") { domain = domain.dropFirst(); wildcard = true }
        if let colon = domain.firstIndex(of: ":") {
            guard domain[domain.index(after: colon)...] == port else { return false }
            domain = domain[..<colon]
        }
        guard wildcard else { return host == domain }
        return host == domain || host.hasSuffix("." + domain)
    }
}


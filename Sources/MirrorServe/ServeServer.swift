import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import MirrorCore
import NIOCore
import Prometheus
import ServiceLifecycle

/// How `mirrordeck serve` (or `daemon --serve-listen`) serves the mirrors.
public struct ServeOptions: Sendable {
    /// Who may read: everyone (private mirrors still need a token), or only clients with a token.
    public enum Auth: String, Sendable, CaseIterable {
        case anonymous, tokens
    }

    public var host = "127.0.0.1"
    public var port = 8080
    /// The base URL clients reach this server at (for clone commands and LFS hrefs); default `http://HOST:PORT`.
    public var publicURL: String?
    public var auth = Auth.anonymous
    /// Fetch LFS objects a mirror references but does not hold yet when a client asks for them.
    public var pullThrough = true
    /// Seconds a client has to send a complete request head (slowloris clients are cut off).
    public var headerTimeout: TimeInterval = 20
    /// Seconds a connection may sit with nothing read or written.
    public var idleTimeout: TimeInterval = 120
    /// Open connections at most; more wait in the kernel's backlog.
    public var maxConnections = 20_000
    /// A combined-format line per request on stderr.
    public var logToStderr = true
    /// Also answer `/metrics` on this listener (a standalone `serve`; the daemon has its own).
    public var exposeMetrics = false

    public init() {}

    /// Validates a `--public-url`: http(s), a host, no credentials, no query.
    public static func validatePublicURL(_ text: String) throws -> String {
        let trimmed = text.hasSuffix("/") ? String(text.dropLast()) : text
        guard let url = URLComponents(string: trimmed), let scheme = url.scheme, ["http", "https"].contains(scheme),
              url.host?.isEmpty == false, url.user == nil, url.password == nil, url.query == nil, url.fragment == nil else {
            throw ServeError.badOption("--public-url must be http(s)://HOST[:PORT][/PATH] without credentials, e.g. http://mirror.example.org:8080")
        }
        return trimmed
    }
}

/// Problems starting the server, phrased for the operator.
public enum ServeError: Error, CustomStringConvertible, Sendable {
    case badOption(String)
    case noGit

    public var description: String {
        switch self {
        case let .badOption(text): return text
        case .noGit: return "git is not installed: serving runs git's own upload-pack (apt-get install git)"
        }
    }
}

/// `mirrordeck serve`: every mirror of the home, read-only, to stock git and git-lfs clients.
///
/// - `GET /<name>.git/info/refs?service=git-upload-pack` and `POST /<name>.git/git-upload-pack` run git's
///   own `git upload-pack --stateless-rpc` on the mirror (protocol v0, v1 and v2; gzip request bodies);
///   anything that would push answers 403.
/// - `POST /<name>.git/info/lfs/objects/batch`: the LFS batch API (download only), with hrefs back here.
/// - `GET /<name>.git/info/lfs/objects/<oid>`: the object, with `Range`, `ETag` and pull-through.
/// Every request is an access-log row, a line on stderr and a metric.
public final class ServeServer: Sendable {
    public let home: Home
    public let catalog: Catalog
    public let options: ServeOptions
    let logger: Logger
    let metrics: ServeMetrics
    let registry: PrometheusCollectorRegistry
    let accessLog: AccessLogger
    let pullThrough: PullThrough?
    let auth: ServeAuth
    let lookup: ServeLookup
    let git: String

    public init(home: Home, catalog: Catalog, options: ServeOptions, logger: Logger,
                registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) throws {
        guard let git = ChildProcess.which("git") else { throw ServeError.noGit }
        self.git = git
        self.home = home
        self.catalog = catalog
        self.options = options
        self.logger = logger
        self.registry = registry
        metrics = ServeMetrics(registry: registry)
        accessLog = AccessLogger(catalog: catalog, toStderr: options.logToStderr, metrics: metrics)
        pullThrough = options.pullThrough ? PullThrough(sync: LFSSync(home: home, catalog: catalog), metrics: metrics) : nil
        auth = ServeAuth(catalog: catalog, key: try ServeToken.signingKey(home: home))
        lookup = ServeLookup(catalog: catalog)
    }

    /// The HTTP service, for a service group (the daemon runs it beside its own).
    public func makeService(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some Service {
        Self.raiseOpenFileLimit()
        // Chunks are filled on reader threads and freed on NIO's: with glibc's default of one malloc arena
        // per thread, freed chunks pile up in dozens of arenas (480 MB peak under 32 downloads, measured).
        Self.limitMallocArenas(2)
        let deadlines = HeaderDeadlines(timeout: options.headerTimeout)
        let child = ServeHTTP1Channel(responder: ServeListener.responder(ServeResponder(server: self), logger: logger),
                                      idleTimeout: .milliseconds(Int64(options.idleTimeout * 1000)), deadlines: deadlines)
        return ServeListener(
            host: options.host, port: options.port, backlog: 1024, maxConnections: options.maxConnections, child: child,
            logger: logger,
            onRunning: { [self] channel in
                let port = channel.localAddress?.port ?? options.port
                let url = options.publicURL ?? "http://\(Self.hostForURL(options.host)):\(port)"
                try? catalog.setSetting("serve.url", url)
                logger.notice("serving mirrors at \(url) (listening on \(options.host):\(port), auth \(options.auth.rawValue), pull-through \(options.pullThrough ? "on" : "off"))")
                await onRunning(port)
            })
    }

    /// Runs until SIGTERM or SIGINT.
    public func run() async throws {
        let service = makeService()
        let group = ServiceGroup(services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
        shutdown()
    }

    private let discovery = NSLock()

    /// Scans a mirror that has never been scanned for LFS pointers (one scan at a time, off the pool);
    /// whether the mirror has a scan afterwards.
    func discoverOnce(_ mirror: Mirror) async -> Bool {
        let (home, catalog, lock) = (self.home, self.catalog, discovery)
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                lock.lock()
                defer { lock.unlock() }
                if ((try? catalog.lfsScan(mirrorId: mirror.id!)) ?? nil) == nil {
                    _ = try? LFSSync(home: home, catalog: catalog).discover(mirror: mirror, actor: Actor(user: "serve", source: "local"))
                }
                continuation.resume(returning: ((try? catalog.lfsScan(mirrorId: mirror.id!)) ?? nil) != nil)
            }
        }
    }

    /// Writes what the access log still holds.
    public func shutdown() {
        accessLog.stop()
    }

    /// The server's metrics text (for a standalone `serve --metrics`).
    func renderMetrics() -> String { registry.emitToString() }

    private static func hostForURL(_ host: String) -> String {
        host.contains(":") ? "[\(host)]" : (host == "0.0.0.0" ? "127.0.0.1" : host)
    }

    /// glibc's `mallopt(M_ARENA_MAX, n)`, looked up at run time (the Glibc module does not export it).
    static func limitMallocArenas(_ count: Int32) {
        typealias MallOpt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(nil, "mallopt") else { return } // nil: RTLD_DEFAULT
        let M_ARENA_MAX: Int32 = -8
        _ = unsafeBitCast(symbol, to: MallOpt.self)(M_ARENA_MAX, count)
    }

    /// Thousands of idle clients each hold a descriptor: take what the hard limit allows.
    static func raiseOpenFileLimit() {
        var limit = rlimit()
        guard getrlimit(RLIMIT_NOFILE_VALUE, &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = min(limit.rlim_max, 1 << 20)
        _ = setrlimit(RLIMIT_NOFILE_VALUE, &limit)
    }
}

#if canImport(Glibc)
import Glibc
let RLIMIT_NOFILE_VALUE = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
#else
let RLIMIT_NOFILE_VALUE = RLIMIT_NOFILE
#endif

/// Request context that knows the client's address (for the access log).
public struct ServeRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    /// The connection, for bodies sent as file regions (``FileBodyHandler``).
    let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
        channel = source.channel
    }
}

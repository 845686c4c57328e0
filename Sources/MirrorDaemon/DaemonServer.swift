import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MirrorCore
import NIOCore
import ServiceLifecycle

/// `mirrordeck daemon`: the engine (with scheduler) plus HTTP for /metrics, /healthz and /webhook/github.
public struct DaemonServer: Sendable {
    public struct Options: Sendable {
        public var host = "127.0.0.1"
        public var port = 9477
        public var webhookSecret: String?
        public init() {}
    }

    public let home: Home
    public let catalog: Catalog
    public let engineConfig: EngineConfig
    public let options: Options
    /// The daemon's metrics (a server run beside it registers its own in the same registry).
    public let metrics: Metrics
    let logger: Logger

    public init(home: Home, catalog: Catalog, engineConfig: EngineConfig, options: Options, logger: Logger) {
        self.home = home
        self.catalog = catalog
        self.engineConfig = engineConfig
        self.options = options
        self.logger = logger
        metrics = Metrics(catalog: catalog)
    }

    /// Runs until SIGTERM or SIGINT; then running jobs are put back in the queue and the lease released.
    public func run(services: [any Service] = [], configureEngine: @escaping @Sendable (Engine) -> Void = { _ in }) async throws {
        var engineConfig = self.engineConfig
        engineConfig.runsScheduler = true
        let config = engineConfig
        let engine = Engine(home: home, catalog: catalog, config: config, kind: .daemon, logger: logger)
        configureEngine(engine)
        let metrics = self.metrics
        engine.observe { metrics.record($0) }
        let webhook = Webhook(secret: options.webhookSecret, catalog: catalog)

        let router = Router(context: DaemonRequestContext.self)
        router.get("/healthz") { _, _ -> Response in
            let live = (try? catalog.liveEngine(timeout: config.leaseTimeout))?.owner == engine.id
            return Self.text(live ? "ok\n" : "engine not running\n", status: live ? .ok : .serviceUnavailable)
        }
        router.get("/metrics") { _, _ -> Response in
            do {
                return Self.text(try metrics.render(), contentType: "text/plain; version=0.0.4; charset=utf-8")
            } catch {
                return Self.text("catalog unavailable: \(error)\n", status: .internalServerError)
            }
        }
        router.post("/webhook/github") { request, context -> Response in
            let source = context.remoteAddress?.ipAddress ?? "unknown"
            if let length = request.headers[.contentLength].flatMap(Int.init), length > Webhook.maxBodyBytes {
                try? catalog.record(Event(actor: Actor(user: "github-webhook", source: source), action: "webhook", mirror: nil,
                                          message: "rejected: body of \(length) bytes is over the limit"))
                return Self.text("body too large\n", status: .contentTooLarge)
            }
            let buffer: ByteBuffer
            do {
                buffer = try await request.body.collect(upTo: Webhook.maxBodyBytes)
            } catch {
                return Self.text("body too large\n", status: .contentTooLarge)
            }
            let header = { (name: String) in HTTPField.Name(name).flatMap { request.headers[$0] } }
            let outcome = try webhook.handle(event: header("X-GitHub-Event"), delivery: header("X-GitHub-Delivery"),
                                             signature: header("X-Hub-Signature-256"), body: Array(buffer.readableBytesView), source: source)
            switch outcome {
            case let .queued(names):
                engine.poke()
                return Self.text("queued sync of \(names.joined(separator: ", "))\n", status: .accepted)
            case let .ignored(why): return Self.text("\(why)\n")
            case let .unauthorized(why): return Self.text("\(why)\n", status: .unauthorized)
            case let .notFound(why): return Self.text("\(why)\n", status: .notFound)
            case let .badRequest(why): return Self.text("\(why)\n", status: .badRequest)
            case .disabled: return Self.text("webhook disabled: start the daemon with a webhook secret\n", status: .serviceUnavailable)
            }
        }

        // Wait for the lease (an embedded engine may be finishing its work).
        var waited = false
        while try !engine.start() {
            if !waited {
                let holder = try catalog.liveEngine(timeout: config.leaseTimeout)
                logger.notice("another engine holds this catalog (\(holder.map { "\($0.kind.rawValue), pid \($0.pid)" } ?? "?")); waiting for it")
                waited = true
            }
            try await Task.sleep(for: .milliseconds(500))
        }

        let app = Application(
            router: router,
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: "mirrordeck"),
            onServerRunning: { [logger, options] channel in
                logger.notice("listening on http://\(options.host):\(channel.localAddress?.port ?? options.port)")
            },
            logger: logger)
        do {
            let group = ServiceGroup(services: [app] + services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
            try await group.run()
        } catch {
            engine.stop()
            throw error
        }
        logger.notice("shutting down: interrupting running jobs, they resume on the next start")
        engine.stop()
    }

    static func text(_ body: String, status: HTTPResponse.Status = .ok, contentType: String = "text/plain; charset=utf-8") -> Response {
        Response(status: status, headers: [.contentType: contentType], body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}

/// Request context that knows the client's address (for the audit log).
struct DaemonRequestContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}

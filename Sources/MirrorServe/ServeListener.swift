import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOExtras
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// The listening socket of `mirrordeck serve`, and what happens between a client connecting and its
/// first request reaching ``ServeResponder``.
///
/// Hummingbird's own server hands every accepted connection through an async sequence to an accept
/// loop on Swift's cooperative pool, and sets the connection up only after a further hop back to its
/// event loop. Measured under 32 downloading clients on two cores (docs/benchmarks.md, Serving), each
/// of those steps waited for a full turn of a busy event loop, and the slowest tenth of requests waited
/// 2.3 × as long for their first byte as nginx's. Here, as in nginx, nothing stands in between:
/// - one thread does nothing but accept, so a new connection is taken at once instead of after the
///   turn of a loop that is busy sending other clients' objects (Netty's "boss" loop; nginx's idle
///   worker wins the accept);
/// - the connection's pipeline is set up on its own event loop as part of accepting it, and its
///   request-handling task starts there (``ServeHTTP1Channel``), with no pool thread in the way.
struct ServeListener: Service {
    let host: String
    let port: Int
    let backlog: Int32
    let maxConnections: Int
    let child: ServeHTTP1Channel
    let logger: Logger
    let onRunning: @Sendable (any Channel) async -> Void

    /// The accepting thread, one per process like NIO's own loops (a listener started again, as in tests,
    /// reuses it).
    static let acceptor = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    /// How long shutdown waits for responses still being sent before it closes their connections (clients
    /// resume with `Range`).
    static let drainGrace = TimeAmount.seconds(5)

    func run() async throws {
        let workers = MultiThreadedEventLoopGroup.singleton
        let acceptLoop = Self.acceptor.next()
        let quiescing = ServerQuiescingHelper(group: acceptLoop)
        let open = OpenConnections()
        let (child, logger, maxConnections) = (self.child, self.logger, self.maxConnections)
        let bootstrap = ServerBootstrap(group: acceptLoop, childGroup: workers)
            .serverChannelOption(ChannelOptions.backlog, value: backlog)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // At most `maxConnections` open: beyond that the listener stops accepting and new
                    // clients wait in the kernel's backlog.
                    try channel.pipeline.syncOperations.addHandler(AvailableConnectionsChannelHandler(maxConnections: maxConnections))
                    try channel.pipeline.syncOperations.addHandler(quiescing.makeServerChannelHandler(channel: channel))
                }
            }
            .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                open.add(channel)
                return child.setup(channel: channel, logger: logger).map { _ in }
            }
        let channel = try await bootstrap.bind(host: host, port: port).get()
        await onRunning(channel)
        // Shutdown (SIGTERM, or the service group ending): stop accepting, close idle connections, let the
        // others finish their current response for up to `drainGrace` (the quiescing event reaches each
        // one), then close what is left.
        let drained = acceptLoop.makePromise(of: Void.self)
        await withTaskCancellationOrGracefulShutdownHandler {
            try? await drained.futureResult.get()
        } onCancelOrGracefulShutdown: {
            quiescing.initiateShutdown(promise: drained)
            acceptLoop.scheduleTask(in: Self.drainGrace) { open.closeAll() }
        }
    }
}

/// The connections a listener has open, so that shutdown can close those still busy after its grace.
final class OpenConnections: @unchecked Sendable { // state behind `lock`
    private let lock = NSLock()
    private var channels: [ObjectIdentifier: any Channel] = [:]

    func add(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        lock.lock()
        channels[id] = channel
        lock.unlock()
        channel.closeFuture.whenComplete { [self] _ in
            lock.lock()
            channels[id] = nil
            lock.unlock()
        }
    }

    func closeAll() {
        lock.lock()
        let all = Array(channels.values)
        lock.unlock()
        for channel in all { channel.close(promise: nil) }
    }
}

extension ServeListener {
    /// The responder every connection calls: ``ServeResponder`` behind the headers every answer carries
    /// (`Date`, `Server`), with an unexpected error answered 500 rather than dropping the connection.
    static func responder(_ serve: ServeResponder, logger: Logger) -> HTTPChannelHandler.Responder {
        let dates = HTTPDateCache()
        return { request, writer, channel in
            let context = ServeRequestContext(source: .init(channel: channel, logger: logger))
            var response: Response
            do {
                response = try await serve.respond(to: request, context: context)
            } catch let error as HTTPParserError {
                throw error
            } catch {
                logger.debug("unexpected error answering a request: \(error)")
                response = Response(status: .internalServerError)
            }
            response.headers[.date] = dates.now()
            response.headers[.server] = "mirrordeck"
            do {
                try await writer.write(response: response.head, body: response.body)
            } catch let error as HTTPParserError {
                // Not as a parser error: the connection handler would answer that with a 400 after this response.
                throw ResponseWriteFailed(reason: "\(error)")
            }
        }
    }
}

/// A response that could not be written; the connection closes.
struct ResponseWriteFailed: Error {
    let reason: String
}

/// `Date` header values (RFC 9110's IMF-fixdate), formatted once a second.
final class HTTPDateCache: @unchecked Sendable { // guarded by `lock`
    /// English month abbreviations, as HTTP dates and the combined log format write them (never localized).
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    private let lock = NSLock()
    private var second = 0
    private var text = ""

    func now() -> String {
        let time = Int(Date().timeIntervalSince1970)
        lock.lock()
        defer { lock.unlock() }
        if time != second {
            second = time
            var t = time_t(time)
            var parts = tm()
            gmtime_r(&t, &parts)
            let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
            func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
            text = "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(Self.months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
                + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
        }
        return text
    }
}

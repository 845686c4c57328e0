import Foundation
import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// A file range to send as a response body with `sendfile(2)`: the kernel copies the file to the socket,
/// so an object download holds no body bytes in this process at all, however many clients there are.
///
/// Hummingbird's response writer only takes byte buffers, so the body travels beside it: the responder
/// marks the response head with ``FileBodyHandler/marker`` and hands the file to the connection's
/// ``FileBodyHandler``, which sits below the HTTP-types codec, where a body part may be a `FileRegion`.
final class FileBody: Sendable {
    let handle: NIOFileHandle
    let offset: Int64
    let count: Int64
    private let done: @Sendable (Result<Int64, FileBodyFailed>) -> Void

    init(handle: NIOFileHandle, offset: Int64, count: Int64, done: @escaping @Sendable (Result<Int64, FileBodyFailed>) -> Void) {
        self.handle = handle
        self.offset = offset
        self.count = count
        self.done = done
    }

    func finish(_ result: Result<Int64, FileBodyFailed>) { done(result) }

    /// Sends `count` bytes of `handle` from `offset` on `channel` after the response head; how many bytes
    /// went to the kernel. Throws ``FileBodyFailed`` (with the bytes sent before it) when the connection ends first.
    static func send(_ handle: NIOFileHandle, offset: Int64, count: Int64, on channel: any Channel) async throws -> Int64 {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int64, Error>) in
            let body = FileBody(handle: handle, offset: offset, count: count) { result in
                continuation.resume(with: result.mapError { $0 as Error })
            }
            let offer: @Sendable () -> Void = {
                guard let handler = try? channel.pipeline.syncOperations.handler(type: FileBodyHandler.self) else {
                    body.finish(.failure(FileBodyFailed(sent: 0, reason: "the connection has no file body handler")))
                    return
                }
                handler.offer(body)
            }
            // Request handling runs on the connection's loop (``EventLoopTaskExecutor``): no hop needed there.
            if channel.eventLoop.inEventLoop { offer() } else { channel.eventLoop.execute(offer) }
        }
    }
}

/// A file body that ended before its last byte, with how many bytes had gone to the kernel.
struct FileBodyFailed: Error, CustomStringConvertible {
    let sent: Int64
    let reason: String
    var description: String { "file body ended after \(sent) bytes: \(reason)" }
}

/// Writes a marked response's body as `FileRegion`s, one region of at most `regionSize` at a time: the
/// next is written when the kernel has taken the last, so a slow client costs no memory and the bytes
/// counted for the access log are exact to a region (8 MiB: larger than a socket's send buffer, see
/// `writeNext`).
final class FileBodyHandler: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// The response header that says "the body comes as a file"; removed before the head goes out.
    static let marker = "x-mirrordeck-file-body"
    static let markerField = HTTPField.Name(marker)!
    static let regionSize: Int64 = 8 << 20

    /// The marked head went out and its body has not arrived yet.
    private var headSent = false
    /// A body that arrived before its head.
    private var waiting: FileBody?
    private var current: FileBody?
    private var sent: Int64 = 0

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case var .head(head) = unwrapOutboundIn(data), head.headers.contains(name: Self.marker) else {
            context.write(data, promise: promise)
            return
        }
        head.headers.remove(name: Self.marker)
        context.write(wrapOutboundOut(.head(head)), promise: promise)
        if let body = waiting {
            waiting = nil
            start(body, context: context)
        } else {
            headSent = true
        }
    }

    /// On the event loop: the body of the marked response (before or after its head was written).
    func offer(_ body: FileBody) {
        guard let context = context else {
            body.finish(.failure(FileBodyFailed(sent: 0, reason: "connection closed")))
            return
        }
        guard current == nil, waiting == nil else {
            body.finish(.failure(FileBodyFailed(sent: 0, reason: "a file body is already being sent")))
            return
        }
        if headSent {
            headSent = false
            start(body, context: context)
        } else {
            waiting = body
        }
    }

    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        let reason = "connection closed"
        waiting?.finish(.failure(FileBodyFailed(sent: 0, reason: reason)))
        waiting = nil
        current?.finish(.failure(FileBodyFailed(sent: sent, reason: reason)))
        current = nil
    }

    private func start(_ body: FileBody, context: ChannelHandlerContext) {
        current = body
        sent = 0
        writeNext(context: context)
    }

    private func writeNext(context: ChannelHandlerContext) {
        guard let body = current else { return }
        let n = min(Self.regionSize, body.count - sent)
        guard n > 0 else {
            current = nil
            body.finish(.success(sent))
            return
        }
        let from = body.offset + sent
        let region = FileRegion(fileHandle: body.handle, readerIndex: Int(from), endIndex: Int(from + n))
        let promise = context.eventLoop.makePromise(of: Void.self)
        promise.futureResult.assumeIsolated().whenComplete { [self] result in
            guard let current, current === body else { return }
            switch result {
            case .success:
                sent += n
                // At once, not as a task: NIO drains its task queue until it is empty before it polls again,
                // so bodies chained through tasks kept one loop writing for ~90 ms at a time under 32 clients
                // while new connections and requests on it waited (measured: 28 polls in 2.5 s). Written from
                // here, the region joins the flush in progress, and a flush ends when the socket is full: a
                // region larger than a socket buffer always ends in one, so every connection gets one turn
                // per poll, as nginx's writes stop at the socket buffer.
                writeNext(context: context)
            case let .failure(error):
                self.current = nil
                current.finish(.failure(FileBodyFailed(sent: sent, reason: "\(error)")))
            }
        }
        context.writeAndFlush(wrapOutboundOut(.body(.fileRegion(region))), promise: promise)
    }
}

/// Hummingbird's HTTP/1 child channel with three changes: a ``FileBodyHandler`` between NIO's HTTP/1 codec
/// and the HTTP-types codec, where response bodies can still be file regions; the header deadline; and the
/// connection's task started by `setup` itself, on the connection's loop (``ServeListener``).
struct ServeHTTP1Channel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>

    let responder: HTTPChannelHandler.Responder
    let idleTimeout: Duration?
    let deadlines: HeaderDeadlines

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            var limits = NIOHTTPDecoderLimitConfiguration()
            limits.maxHeaderFieldSize = 80 << 10
            limits.maxHeaderListSize = 80 << 10
            limits.maxHeaderFieldCount = 1000
            let pipeline = channel.pipeline.syncOperations
            try pipeline.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: false,
                                                     withOutboundHeaderValidation: false, withEncoderConfiguration: .init(),
                                                     withDecoderLimitConfiguration: limits)
            try pipeline.addHandler(FileBodyHandler())
            try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: false))
            try pipeline.addHandler(HeaderTimeoutHandler(deadlines: deadlines))
            try pipeline.addHandler(HTTPConnectionStateHandler(idleTimeout: idleTimeout, logger: logger))
            let asyncChannel = try Value(wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
            // The connection's task starts here, on the connection's own loop, as part of accepting it
            // (``ServeListener``). Graceful shutdown still reaches the connection: the listener's quiescing
            // event closes it after its current response.
            Task(executorPreference: EventLoopTaskExecutor(channel.eventLoop)) {
                await handleHTTP(asyncChannel: asyncChannel, logger: logger)
            }
            return asyncChannel
        }
    }

    /// Nothing left to do: ``setup(channel:logger:)`` started the connection's task (the protocol wants it).
    func handle(value: Value, logger: Logger) async {}
}

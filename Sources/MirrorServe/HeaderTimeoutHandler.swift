import Foundation
import NIOCore
import NIOHTTPTypes

/// Closes a connection whose client has not sent a complete request head within `timeout` of connecting
/// or of the previous response's end: a slowloris client that trickles header bytes (which keeps an idle
/// timer from ever firing) holds a connection for `timeout` at most.
///
/// The deadlines live in one `HeaderDeadlines` table swept once a second, not in a timer per connection:
/// NIO cancels a scheduled task by searching its timer heap, so with 10,000 connections every request
/// head would have cost a scan of 10,000 timers.
final class HeaderTimeoutHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let deadlines: HeaderDeadlines
    private var id: ObjectIdentifier { ObjectIdentifier(self) }

    init(deadlines: HeaderDeadlines) {
        self.deadlines = deadlines
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { deadlines.arm(id, context.channel) }
    }

    func channelActive(context: ChannelHandlerContext) {
        deadlines.arm(id, context.channel)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadlines.disarm(id)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadlines.disarm(id)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) { deadlines.disarm(id) }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { deadlines.arm(id, context.channel) }
        context.write(data, promise: promise)
    }
}

/// The connections still waiting for a request head, and when each must have sent it.
final class HeaderDeadlines: @unchecked Sendable {
    private let timeout: TimeInterval
    private let lock = NSLock()
    private var waiting: [ObjectIdentifier: (deadline: TimeInterval, channel: any Channel)] = [:]
    private var timer: DispatchSourceTimer?

    init(timeout: TimeInterval) {
        self.timeout = timeout
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "mirrordeck.serve.header-deadlines"))
        let interval = min(1.0, max(0.05, timeout / 4))
        timer.schedule(deadline: .now() + interval, repeating: interval)
        timer.setEventHandler { [weak self] in self?.sweep() }
        timer.resume()
        self.timer = timer
    }

    deinit { timer?.cancel() }

    func arm(_ id: ObjectIdentifier, _ channel: any Channel) {
        let deadline = ProcessInfo.processInfo.systemUptime + timeout
        lock.lock()
        waiting[id] = (deadline, channel)
        lock.unlock()
    }

    func disarm(_ id: ObjectIdentifier) {
        lock.lock()
        waiting[id] = nil
        lock.unlock()
    }

    private func sweep() {
        let now = ProcessInfo.processInfo.systemUptime
        lock.lock()
        var expired: [any Channel] = []
        for (id, entry) in waiting where entry.deadline <= now {
            expired.append(entry.channel)
            waiting[id] = nil
        }
        lock.unlock()
        for channel in expired { channel.close(promise: nil) }
    }
}

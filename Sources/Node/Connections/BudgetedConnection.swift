import NIOCore
import NIOHTTP1
import NIOSSL
import NIOTLS

/// The per-connection side of a `ConnectionBudget`, placed after the HTTP decoder (and so after TLS), where
/// it sees the connection become active, the TLS handshake complete and the request end. Deadlines run from
/// accept and are absolute: a client trickling one byte at a time gains nothing, unlike with an idle timer
/// that each byte restarts. The handshake deadline is cancelled by a completed handshake, the request
/// deadline by a complete request (answering it is the server's business).
final class BudgetedConnection: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    private let budget: ConnectionBudget
    /// Whether a completed TLS handshake authenticates the client (mutual TLS whose handshake refuses
    /// clients without a valid certificate).
    private let handshakeAuthenticates: Bool
    private var ticket: ConnectionBudget.Ticket?
    private var started = false
    private var handshakeTimer: Scheduled<Void>?
    private var requestTimer: Scheduled<Void>?

    init(budget: ConnectionBudget, handshakeAuthenticates: Bool) {
        self.budget = budget
        self.handshakeAuthenticates = handshakeAuthenticates
    }

    /// With SwiftNIO's async server bootstrap the pipeline is built after the connection became active:
    /// the budget is then applied here, and `channelActive` below is never seen.
    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    /// Admits the connection or closes it; starts the deadlines (from now, the moment of accept).
    private func start(context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        let channel = context.channel
        switch budget.admit(ConnectionSource(channel.remoteAddress), close: { channel.close(promise: nil) }) {
        case .failure:
            context.close(promise: nil)
            return
        case .success(let ticket):
            self.ticket = ticket
        }
        let budget = self.budget
        if let handshake = budget.limits.handshakeDeadline {
            handshakeTimer = context.eventLoop.scheduleTask(in: handshake) {
                budget.count(.handshakeDeadline)
                channel.close(promise: nil)
            }
        }
        requestTimer = context.eventLoop.scheduleTask(in: budget.limits.requestDeadline) {
            budget.count(.requestDeadline)
            channel.close(promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event {
            handshakeTimer?.cancel()
            handshakeTimer = nil
            if handshakeAuthenticates, let ticket { budget.authenticated(ticket) }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .end = unwrapInboundIn(data) {
            requestTimer?.cancel()
            requestTimer = nil
        }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        finish()
    }

    private func finish() {
        handshakeTimer?.cancel()
        requestTimer?.cancel()
        handshakeTimer = nil
        requestTimer = nil
        if let ticket { budget.release(ticket) }
        ticket = nil
    }
}

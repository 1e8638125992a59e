import NIOCore

/// The per-connection side of a `ConnectionBudget`, placed after the listener's message decoder (and so after
/// TLS), where it sees the connection become active, the TLS handshake complete and the request end. Deadlines
/// run from accept and are absolute: a client trickling one byte at a time gains nothing, unlike with an idle
/// timer that each byte restarts. The handshake deadline is cancelled by a completed handshake, the request
/// deadline by a complete request (answering it is the server's business).
///
/// Generic over the decoded message so that every listener shares it: HTTP request parts for the admin API
/// and metrics (`Node`), whole NTS-KE request messages for NTS-KE (`NTSKE`); the listener says which user
/// event is its completed handshake and which message ends a request.
public final class BudgetedConnection<Message>: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = Message
    public typealias InboundOut = Message

    /// What earns a connection its place for good: it no longer counts against its source, cannot be
    /// evicted and gets its rate token back (`ConnectionBudget.authenticated`).
    public enum Proof: Sendable {
        /// Nothing (metrics: anyone may scrape, nobody is vouched for).
        case none
        /// A completed TLS handshake, when the handshake itself refuses clients without a valid certificate
        /// (the admin API's mutual TLS).
        case handshake
        /// A complete request (NTS-KE: a session being answered is not evicted).
        case request
    }

    private let budget: ConnectionBudget
    private let proof: Proof
    private let isHandshakeCompleted: (Any) -> Bool
    private let isRequestComplete: (Message) -> Bool
    private var ticket: ConnectionBudget.Ticket?
    private var started = false
    private var handshakeDone = false
    private var handshakeTimer: Scheduled<Void>?
    private var requestTimer: Scheduled<Void>?

    /// - Parameters:
    ///   - isHandshakeCompleted: whether a user event says the TLS handshake completed (unused without a
    ///     handshake deadline);
    ///   - isRequestComplete: whether a message ends the request.
    public init(
        budget: ConnectionBudget, proof: Proof, isHandshakeCompleted: @escaping (Any) -> Bool,
        isRequestComplete: @escaping (Message) -> Bool
    ) {
        self.budget = budget
        self.proof = proof
        self.isHandshakeCompleted = isHandshakeCompleted
        self.isRequestComplete = isRequestComplete
    }

    /// With SwiftNIO's async server bootstrap the pipeline is built after the connection became active:
    /// the budget is then applied here, and `channelActive` below is never seen.
    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context: context) }
    }

    public func channelActive(context: ChannelHandlerContext) {
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
        let requestDeadline = budget.limits.requestDeadline
        if let handshake = budget.limits.handshakeDeadline, handshake < requestDeadline {
            handshakeTimer = context.eventLoop.scheduleTask(in: handshake) {
                budget.count(.handshakeDeadline)
                channel.close(promise: nil)
            }
        }
        // One deadline for both (no shorter handshake deadline): counted by the phase the connection is in.
        let handshakePending = budget.limits.handshakeDeadline != nil
        requestTimer = context.eventLoop.assumeIsolated().scheduleTask(in: requestDeadline) { [self] in
            budget.count(handshakePending && !handshakeDone ? .handshakeDeadline : .requestDeadline)
            channel.close(promise: nil)
        }
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if !handshakeDone, isHandshakeCompleted(event) {
            handshakeDone = true
            handshakeTimer?.cancel()
            handshakeTimer = nil
            if proof == .handshake, let ticket { budget.authenticated(ticket) }
        }
        context.fireUserInboundEventTriggered(event)
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if requestTimer != nil, isRequestComplete(unwrapInboundIn(data)) {
            requestTimer?.cancel()
            requestTimer = nil
            if proof == .request, let ticket { budget.authenticated(ticket) }
        }
        context.fireChannelRead(data)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        finish()
        context.fireChannelInactive()
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
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

import NIOCore

/// The first handler of a listener's server channel (before SwiftNIO's accept handler): every accepted
/// connection passes `ConnectionBudget.screen` before a pipeline, TLS state or task is made for it. A
/// connection refused here costs an accept and a close, so a source reconnecting as fast as it can does not
/// slow the listener for everybody else, and the kernel's accept queue keeps draining.
public final class AdmissionScreen: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = Channel
    public typealias InboundOut = Channel

    private let budget: ConnectionBudget

    public init(budget: ConnectionBudget) {
        self.budget = budget
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let accepted = unwrapInboundIn(data)
        if budget.screen(ConnectionSource(accepted.remoteAddress)) != nil {
            // Not yet registered with an event loop: closing it closes the socket (as NIO's accept handler
            // does with a connection whose setup failed).
            accepted.close(promise: nil)
            return
        }
        context.fireChannelRead(data)
    }
}

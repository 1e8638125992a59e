import NIOCore

/// Closes a channel when an `IdleStateHandler` before it reports it idle: the admin API's server drops a
/// silent client, and fleetctl drops a node that stopped answering.
public final class CloseOnIdle: ChannelInboundHandler, Sendable {
    public typealias InboundIn = NIOAny

    public init() {}

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}

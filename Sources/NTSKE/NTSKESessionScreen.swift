import NIOCore

/// `[nts.ratelimit]` at accept, after the connection budget's `AdmissionScreen` in the listener's server
/// channel: a connection from a client over its session rate is closed before any TLS state is made for it,
/// and counted (`refusedRateLimited`). Unlike NTP's rate limit there is no leak: the leak lets a spoofed
/// victim through now and then, and a TCP source cannot be spoofed (ISSUE 14).
final class NTSKESessionScreen: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = Channel
    typealias InboundOut = Channel

    private let shared: NTSKEServer.Shared

    init(shared: NTSKEServer.Shared) {
        self.shared = shared
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let accepted = unwrapInboundIn(data)
        guard shared.withinSessionRate(accepted.remoteAddress) else {
            // Not yet registered with an event loop: closing it closes the socket.
            accepted.close(promise: nil)
            return
        }
        context.fireChannelRead(data)
    }
}

import Logging
import Metrics
import NIOCore
import NIOPosix

/// Counts a listener's failed accepts for want of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM).
/// SwiftNIO's `AcceptBackoffHandler`, which `ServerBootstrap` puts after this handler, then stops accepting
/// for a second instead of retrying at once, which at the descriptor limit would spin a core. Logged on the
/// first failure of a run of them, not on every one.
final class AcceptBackoffCounter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let listener: String
    private let logger: Logger
    private var failing = false

    init(listener: String, logger: Logger) {
        self.listener = listener
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if failing {
            failing = false
            logger.notice("accepting connections again", metadata: ["listener": "\(listener)"])
        }
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let error = error as? IOError, [EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(error.errnoCode) {
            Counter(label: "fleetnode_accept_backoffs_total", dimensions: [("listener", listener)]).increment()
            if !failing {
                failing = true
                logger.error("cannot accept connections: out of descriptors or memory; backing off 1 s between tries (raise LimitNOFILE?)", metadata: [
                    "listener": "\(listener)", "error": "\(error)", "descriptors": "\(DescriptorLimit.current.description)",
                ])
            }
        }
        context.fireErrorCaught(error)
    }
}

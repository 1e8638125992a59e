#if canImport(Glibc)
import Glibc
#endif
import Logging
import Metrics
import NIOCore

/// Counts a listener's failed accepts for want of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM) and
/// stops accepting for a second after one. SwiftNIO's own `AcceptBackoffHandler` does not stop the retries:
/// a failed accept leaves the listening socket registered for readability, and with connections waiting in
/// the accept queue the event loop retries at once (measured: about 40,000 failed accepts a second and a
/// whole core). Turning `autoRead` off unregisters the socket; it is turned on again a second later. Logged
/// on the first failure of a run of them, not on every one. Place it first in a listener's server channel.
public final class AcceptBackoffCounter: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = NIOAny

    private let listener: String
    private let logger: Logger
    private let onFailure: (@Sendable () -> Void)?
    private var failing = false
    private var paused = false
    public static let backoff = TimeAmount.seconds(1)

    /// - Parameter onFailure: told of each accept that failed for want of descriptors or memory (after the
    ///   metric is counted), for a listener's own statistics.
    public init(listener: String, logger: Logger, onFailure: (@Sendable () -> Void)? = nil) {
        self.listener = listener
        self.logger = logger
        self.onFailure = onFailure
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if failing {
            failing = false
            logger.notice("accepting connections again", metadata: ["listener": "\(listener)"])
        }
        context.fireChannelRead(data)
    }

    public func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let error = error as? IOError, [EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(error.errnoCode) {
            Counter(label: "fleetnode_accept_backoffs_total", dimensions: [("listener", listener)]).increment()
            onFailure?()
            if !paused {
                paused = true
                let channel = context.channel
                channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
                context.eventLoop.assumeIsolated().scheduleTask(in: Self.backoff) {
                    self.paused = false
                    channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
                }
            }
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

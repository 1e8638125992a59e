import NIOCore
import NTSKECore

/// The client's side of one NTS-KE connection (RFC 8915 §4), after ``NTSKETLSHandler`` and the message
/// decoder: once the handshake is done with ALPN `ntske/1`, the request goes out; the response message comes
/// in and `finish` turns it (with the session, for the exporter) into the result; then close_notify, close.
final class NTSKEClientHandler<Result: Sendable>: ChannelInboundHandler {
    typealias InboundIn = [NTSKERecord]
    typealias OutboundOut = ByteBuffer

    /// The session, read here for ALPN, the exporter and the peer's certificates; the TLS handler moves its bytes.
    private let session: TLSConnection
    private let request: [UInt8]
    private let promise: EventLoopPromise<Result>
    private let finish: ([NTSKERecord], TLSConnection) throws -> Result
    private var finished = false
    private var closeNotifyReceived = false

    init(session: TLSConnection, request: [UInt8], promise: EventLoopPromise<Result>,
         finish: @escaping ([NTSKERecord], TLSConnection) throws -> Result) {
        self.session = session
        self.request = request
        self.promise = promise
        self.finish = finish
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case is NTSKETLSHandler.HandshakeCompleted:
            guard session.applicationProtocol == NTSKEServer.alpn else {
                fail(NTSKEClientError("the server did not agree to ALPN \(NTSKEServer.alpn)"), context: context)
                return
            }
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: request)), promise: nil)
        case is NTSKETLSHandler.CloseNotifyReceived:
            closeNotifyReceived = true
        default:
            break
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// The whole response message.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !finished else { return }
        do {
            let result = try finish(unwrapInboundIn(data), session)
            finished = true
            promise.succeed(result)
            context.close(mode: .output, promise: nil)
            context.close(promise: nil)
        } catch {
            fail(error, context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(NTSKEClientError("the server closed the connection before answering"), context: context)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        switch error {
        case NTSKEMessageError.incomplete:
            fail(NTSKEClientError(closeNotifyReceived
                ? "the server closed the TLS session before End of Message"
                : "the server closed the connection before answering"), context: context)
        case let failure as NTSKETLSHandler.Failure:
            fail(failure.error, context: context)
        default:
            fail(error, context: context)
        }
    }

    /// Closes once TLS has written whatever it still holds (an alert, say).
    private func fail(_ error: Error, context: ChannelHandlerContext) {
        guard !finished else { return }
        finished = true
        promise.fail(error)
        context.close(promise: nil)
    }
}

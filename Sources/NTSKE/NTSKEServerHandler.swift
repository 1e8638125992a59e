import Logging
import NIOCore
import NTPCore
import NTSKECore

/// One NTS-KE connection on the server (RFC 8915 §4), after ``NTSKETLSHandler`` and the message decoder: one
/// request message in, one response message out, close_notify, close. The deadlines from accept are the
/// connection budget's (``NTSKEServer``, `BudgetedConnection` before this handler); a client that stalls
/// only ever holds its own connection, never the event loop.
final class NTSKEServerHandler: ChannelInboundHandler {
    typealias InboundIn = [NTSKERecord]
    typealias OutboundOut = ByteBuffer

    /// The session, read here only for its keying-material exporter (§5.1); the TLS handler moves its bytes.
    private let session: TLSConnection
    private let responder: NTSKEResponder
    private let random: @Sendable () -> any RandomNumberGenerator
    private let statistics: NTSKEStatistics
    private let logger: Logger
    private var done = false

    init(session: TLSConnection, responder: NTSKEResponder, random: @escaping @Sendable () -> any RandomNumberGenerator,
         statistics: NTSKEStatistics, logger: Logger) {
        self.session = session
        self.responder = responder
        self.random = random
        self.statistics = statistics
        self.logger = logger
    }

    func channelActive(context: ChannelHandlerContext) {
        // The client's address is added to the few debug messages only when one is logged: setting logger
        // metadata per connection formatted the address and the handler's whole metadata for every session.
        statistics.update { $0.connections += 1 }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        done = true
        context.fireChannelInactive()
    }

    /// The whole request message.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else { return }
        var random = random()
        let (records, outcome) = responder.respond(
            to: unwrapInboundIn(data),
            export: { exporterContext, length in
                session.exportKeyingMaterial(label: NTSKEExporter.label, context: exporterContext, length: length)
            },
            random: &random)
        statistics.update { counters in
            switch outcome {
            case .keysEstablished: counters.keysEstablished += 1
            case .noCommonAlgorithm: counters.noCommonAlgorithm += 1
            case .rejected, .exportFailed: counters.errorResponses += 1
            }
        }
        if case .rejected(let error) = outcome {
            logger.debug("NTS-KE request rejected", metadata: ["reason": "\(error)", "ntske.client": client(context)])
        }
        reply(records, context: context)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard !done else { return }
        switch error {
        case NTSKEMessageError.incomplete:
            // The client closed (close_notify or the connection) before End of Message: nobody to answer.
            finish(context: context)
        case let error as NTSKEMessageError:
            // Too long, or data after End of Message: not a complete, well-formed request (§4.1.3).
            statistics.update { $0.errorResponses += 1 }
            reply(NTSKENegotiation.errorRecords(NTSKEError(code: .badRequest, reason: "\(error)")), context: context)
        case let failure as NTSKETLSHandler.Failure:
            if failure.duringHandshake { statistics.update { $0.handshakeFailures += 1 } }
            logger.debug("NTS-KE TLS failure", metadata: ["error": "\(failure.error)", "ntske.client": client(context)])
            finish(context: context)
        default:
            logger.debug("NTS-KE connection error", metadata: ["error": "\(error)", "ntske.client": client(context)])
            finish(context: context)
        }
    }

    /// The client's address for a log message (evaluated only when the message is logged).
    private func client(_ context: ChannelHandlerContext) -> Logger.MetadataValue {
        "\(context.remoteAddress?.description ?? "?")"
    }

    /// Sends the response, then close_notify, then closes once written.
    private func reply(_ records: [NTSKERecord], context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(context.channel.allocator.buffer(bytes: records.encoded())), promise: nil)
        context.close(mode: .output, promise: nil)
        finish(context: context)
    }

    /// Closes once TLS has written whatever it still holds (response, alert, close_notify).
    private func finish(context: ChannelHandlerContext) {
        guard !done else { return }
        done = true
        context.close(promise: nil)
    }
}

import Logging
import NIOCore
import NTPCore

/// One NTS-KE connection on the server (RFC 8915 §4): TLS 1.3 handshake, one request message, one response
/// message, close. Everything must finish before the deadline; a client that stalls only ever holds its own
/// connection, never the event loop.
final class NTSKEServerHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let tls: TLSConnection
    private var reader: NTSKEMessageReader
    private let responder: NTSKEResponder
    private let statistics: NTSKEStatistics
    private let timeout: TimeAmount
    private var logger: Logger
    private var deadline: Scheduled<Void>?
    private var done = false

    init(tls: TLSConnection, responder: NTSKEResponder, statistics: NTSKEStatistics, timeout: TimeAmount,
         maximumRequestLength: Int, logger: Logger) {
        self.tls = tls
        self.reader = NTSKEMessageReader(maximumMessageLength: maximumRequestLength)
        self.responder = responder
        self.statistics = statistics
        self.timeout = timeout
        self.logger = logger
    }

    func channelActive(context: ChannelHandlerContext) {
        logger[metadataKey: "ntske.client"] = "\(context.remoteAddress?.description ?? "?")"
        statistics.update { $0.connections += 1 }
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
            guard !done else { return }
            statistics.update { $0.timeouts += 1 }
            logger.debug("NTS-KE session timed out")
            finish(context: context)
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        done = true
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else { return }
        let buffer = unwrapInboundIn(data)
        do {
            var progress = try tls.receive(buffer.readableBytesView)
            while !done {
                switch progress {
                case .needMore:
                    flushTLS(context: context)
                    return
                case .handshakeCompleted:
                    flushTLS(context: context)
                    progress = try tls.readApplicationData()
                case .data(let bytes):
                    try handle(bytes, context: context)
                    if done { return }
                    progress = try tls.readApplicationData()
                case .closed:
                    finish(context: context)
                    return
                }
            }
        } catch {
            if !tls.handshakeComplete { statistics.update { $0.handshakeFailures += 1 } }
            logger.debug("NTS-KE TLS failure", metadata: ["error": "\(error)"])
            finish(context: context)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        logger.debug("NTS-KE connection error", metadata: ["error": "\(error)"])
        finish(context: context)
    }

    private func handle(_ bytes: [UInt8], context: ChannelHandlerContext) throws(TLSError) {
        let message: [NTSKERecord]?
        do {
            message = try reader.append(bytes)
        } catch {
            let failure = NTSKEError(code: .badRequest, reason: "\(error)")
            statistics.update { $0.errorResponses += 1 }
            try reply(NTSKENegotiation.errorRecords(failure), context: context)
            return
        }
        guard let message else { return }
        let (records, outcome) = responder.respond(to: message) { exporterContext, length in
            tls.exportKeyingMaterial(label: NTSKEExporter.label, context: exporterContext, length: length)
        }
        statistics.update { counters in
            switch outcome {
            case .keysEstablished: counters.keysEstablished += 1
            case .noCommonAlgorithm: counters.noCommonAlgorithm += 1
            case .rejected, .exportFailed: counters.errorResponses += 1
            }
        }
        if case .rejected(let error) = outcome {
            logger.debug("NTS-KE request rejected", metadata: ["reason": "\(error)"])
        }
        try reply(records, context: context)
    }

    /// Sends the response, then close_notify, then closes once written.
    private func reply(_ records: [NTSKERecord], context: ChannelHandlerContext) throws(TLSError) {
        try tls.send(records.encoded())
        tls.close()
        finish(context: context)
    }

    private func flushTLS(context: ChannelHandlerContext) {
        let outbound = tls.takeOutbound()
        guard !outbound.isEmpty else { return }
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: outbound)), promise: nil)
    }

    /// Flushes whatever TLS still has (response, alert, close_notify) and closes after it is written.
    private func finish(context: ChannelHandlerContext) {
        guard !done else { return }
        done = true
        deadline?.cancel()
        let outbound = tls.takeOutbound()
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        if outbound.isEmpty {
            context.close(promise: nil)
        } else {
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: outbound))).whenComplete { _ in
                bound.value.close(promise: nil)
            }
        }
    }
}

import NodeModels
import NIOCore
import NIOPosix
import NTPCore

/// What an NTS-KE exchange gives a client (RFC 8915 §4.2): the two keys, the cookies, and where to send
/// NTP (the NTS-KE server's address and port 123 unless the server negotiated otherwise).
public struct NTSKEClientResult: Sendable, Equatable {
    public var keys: NTSKeys
    public var cookies: [[UInt8]]
    /// From a Server Negotiation record, if any.
    public var ntpServer: String?
    /// From a Port Negotiation record, if any.
    public var ntpPort: UInt16?
    public var warnings: [UInt16]
    public var tlsVersion: String
    /// The certificate chain the server sent (DER, leaf first), verified against the trust anchors.
    public var peerCertificates: [[UInt8]] = []
}

public struct NTSKEClientError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The client side of NTS-KE: TLS 1.3 with ALPN `ntske/1`, the server's certificate verified against the
/// trusted CAs and the expected name, one request, one response, keys exported from the session.
public enum NTSKEClient {
    public static func establish(
        host: String, port: UInt16 = 4460, serverName: String? = nil, trust: TLSContext,
        algorithms: [UInt16] = [AEADAlgorithm.aesSIVCMAC256], ciphers: any AEADCipherFactory,
        timeout: TimeAmount = .seconds(5), group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> NTSKEClientResult {
        let request: [NTSKERecord] = [.nextProtocol([0]), .aeadAlgorithms(algorithms), .endOfMessage()]
        return try await exchange(
            host: host, port: port, serverName: serverName, trust: trust, request: request.encoded(), timeout: timeout,
            group: group
        ) { message, tls in
            let response = try NTSKEResponse(parsing: message, offered: algorithms)
            guard let length = ciphers.keyLength(of: response.aeadAlgorithm),
                  let c2s = tls.exportKeyingMaterial(
                      label: NTSKEExporter.label,
                      context: NTSKEExporter.context(protocol: 0, aead: response.aeadAlgorithm, serverToClient: false), length: length),
                  let s2c = tls.exportKeyingMaterial(
                      label: NTSKEExporter.label,
                      context: NTSKEExporter.context(protocol: 0, aead: response.aeadAlgorithm, serverToClient: true), length: length)
            else {
                throw NTSKEClientError("cannot export keys for AEAD \(response.aeadAlgorithm)")
            }
            return NTSKEClientResult(
                keys: NTSKeys(algorithm: response.aeadAlgorithm, clientToServer: c2s, serverToClient: s2c),
                cookies: response.cookies, ntpServer: response.server, ntpPort: response.port, warnings: response.warnings,
                tlsVersion: tls.version, peerCertificates: tls.peerCertificates)
        }
    }

    /// Sends `request` (raw record bytes, which may be deliberately malformed) over a verified NTS-KE TLS
    /// session and returns the server's response message as records. For probes and tests.
    public static func exchangeRecords(
        host: String, port: UInt16 = 4460, serverName: String? = nil, trust: TLSContext, request: [UInt8],
        timeout: TimeAmount = .seconds(5), group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> [NTSKERecord] {
        try await exchange(host: host, port: port, serverName: serverName, trust: trust, request: request, timeout: timeout, group: group) { message, _ in
            message
        }
    }

    /// One TLS session: handshake, `request`, the response message, then `finish` on the event loop (where
    /// the session can still export keys).
    static func exchange<Result: Sendable>(
        host: String, port: UInt16, serverName: String?, trust: TLSContext, request: [UInt8], timeout: TimeAmount,
        group: EventLoopGroup, finish: @escaping @Sendable ([NTSKERecord], TLSConnection) throws -> Result
    ) async throws -> Result {
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: host, port: Int(port)).get()
        let promise = channel.eventLoop.makePromise(of: Result.self)
        let name = serverName ?? host
        do {
            // The TLS connection and its handler live on the channel's event loop from the start.
            try await channel.eventLoop.submit {
                let connection = try TLSConnection(context: trust, isServer: false, serverName: name)
                let handler = NTSKEClientHandler(tls: connection, request: request, promise: promise, finish: finish)
                try channel.pipeline.syncOperations.addHandler(handler)
            }.get()
        } catch {
            // For example the server closed the connection at accept (over its limits).
            promise.fail(error)
            channel.close(promise: nil)
            throw error
        }
        let timer = channel.eventLoop.scheduleTask(in: timeout) {
            promise.fail(NTSKEClientError("NTS-KE with \(host):\(port) did not finish within \(timeout)"))
        }
        defer {
            timer.cancel()
            channel.close(promise: nil)
        }
        return try await promise.futureResult.get()
    }
}

final class NTSKEClientHandler<Result: Sendable>: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let tls: TLSConnection
    private let request: [UInt8]
    private let promise: EventLoopPromise<Result>
    private let finish: ([NTSKERecord], TLSConnection) throws -> Result
    private var reader = NTSKEMessageReader(maximumMessageLength: 65_536)
    private var finished = false
    private var started = false

    init(tls: TLSConnection, request: [UInt8], promise: EventLoopPromise<Result>,
         finish: @escaping ([NTSKERecord], TLSConnection) throws -> Result) {
        self.tls = tls
        self.request = request
        self.promise = promise
        self.finish = finish
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    private func start(context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        do {
            _ = try tls.receive([UInt8]())  // produces the ClientHello
            flush(context: context)
        } catch {
            fail(error, context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(NTSKEClientError("the server closed the connection before answering"), context: context)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        fail(error, context: context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !finished else { return }
        do {
            var progress = try tls.receive(unwrapInboundIn(data).readableBytesView)
            while !finished {
                switch progress {
                case .needMore:
                    flush(context: context)
                    return
                case .handshakeCompleted:
                    guard tls.applicationProtocol == NTSKEServer.alpn else {
                        throw NTSKEClientError("the server did not agree to ALPN \(NTSKEServer.alpn)")
                    }
                    try tls.send(request)
                    flush(context: context)
                    progress = try tls.readApplicationData()
                case .data(let bytes):
                    if let message = try reader.append(bytes) {
                        let result = try finish(message, tls)
                        finished = true
                        promise.succeed(result)
                        tls.close()
                        flush(context: context)
                        context.close(promise: nil)
                        return
                    }
                    progress = try tls.readApplicationData()
                case .closed:
                    throw NTSKEClientError("the server closed the TLS session before End of Message")
                }
            }
        } catch {
            fail(error, context: context)
        }
    }

    private func flush(context: ChannelHandlerContext) {
        let outbound = tls.takeOutbound()
        guard !outbound.isEmpty else { return }
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: outbound)), promise: nil)
    }

    private func fail(_ error: Error, context: ChannelHandlerContext) {
        guard !finished else { return }
        finished = true
        flush(context: context)
        promise.fail(error)
        context.close(promise: nil)
    }
}

import NIOCore
import NIOPosix
import NTPCore
import NTSKECore

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
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .connect(host: host, port: Int(port)).get()
        let promise = channel.eventLoop.makePromise(of: Result.self)
        let name = serverName ?? host
        do {
            // The TLS connection and its handlers live on the channel's event loop from the start.
            try await channel.eventLoop.submit {
                let connection = try TLSConnection(context: trust, isServer: false, serverName: name)
                try channel.pipeline.syncOperations.addHandlers([
                    NTSKETLSHandler(connection: connection, role: .client),
                    ByteToMessageHandler(NTSKEMessageDecoder(maximumMessageLength: NTSKEConstants.recommendedResponseLimit)),
                    NTSKEClientHandler(session: connection, request: request, promise: promise, finish: finish),
                ])
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

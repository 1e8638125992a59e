import NodeModels
import Logging
import NIOCore
import NIOPosix
import NTPCore
import NTSKECore
import ServiceLifecycle
import Synchronization

/// The NTS-KE server (RFC 8915 §4) on TCP (4460 by default): accepts connections, enforces the limits and
/// hands each connection to its own handler. The TLS context can be replaced at any time (certificate
/// renewal): new connections use the new one, connections in progress finish with the old one.
public final class NTSKEServer: Service, Sendable {
    public static let alpn = "ntske/1"

    private let channels: [Channel]
    private let shared: Shared

    final class Shared: Sendable {
        let tls: Mutex<TLSContext>
        let responder: Mutex<NTSKEResponder>
        let limits: NTSKELimits
        let statistics: NTSKEStatistics
        let random: @Sendable () -> any RandomNumberGenerator
        let active = Atomic<Int>(0)
        let sessionLimiter: Mutex<RateLimiter?>
        let logger: Logger

        init(
            tls: TLSContext, responder: NTSKEResponder, limits: NTSKELimits, statistics: NTSKEStatistics,
            random: @escaping @Sendable () -> any RandomNumberGenerator, logger: Logger
        ) {
            self.tls = Mutex(tls)
            self.responder = Mutex(responder)
            self.limits = limits
            self.statistics = statistics
            self.random = random
            self.sessionLimiter = Mutex(limits.sessionRate.map { RateLimiter(policy: $0, capacity: 16_384) })
            self.logger = logger
        }

        /// True when a new connection from `address` may proceed.
        func admit(_ address: SocketAddress?) -> Bool {
            if active.load(ordering: .relaxed) >= limits.maximumConnections {
                statistics.update { $0.refusedOverLimit += 1 }
                return false
            }
            if let text = address?.ipAddress, let ip = IPAddress(text) {
                var random = SystemRandomNumberGenerator()
                let verdict = sessionLimiter.withLock { limiter in
                    limiter?.check(ip.unmapped, now: NIODeadline.now().uptimeNanoseconds, using: &random) ?? .respond
                }
                if verdict != .respond {
                    statistics.update { $0.refusedRateLimited += 1 }
                    return false
                }
            }
            return true
        }
    }

    /// Binds every endpoint now, so a bad address or a port in use stops the node at start.
    ///
    /// - Parameter random: a generator for each session's cookie nonces (the node passes its CSPRNG).
    public init(
        endpoints: [SocketEndpoint], tls: TLSContext, responder: NTSKEResponder, limits: NTSKELimits,
        statistics: NTSKEStatistics, logger: Logger, group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        random: @escaping @Sendable () -> any RandomNumberGenerator = { SystemRandomNumberGenerator() }
    ) throws {
        let shared = Shared(tls: tls, responder: responder, limits: limits, statistics: statistics, random: random, logger: logger)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // TCP_NODELAY at IPPROTO_TCP: `.socketOption(.tcp_nodelay)` set SO_DEBUG (the same number at
            // SOL_SOCKET), which needs CAP_NET_ADMIN: as any user but root every NTS-KE connection was closed.
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                guard shared.admit(channel.remoteAddress) else {
                    return channel.close()
                }
                do {
                    // TLS, then framing into one request message (at most the request limit), then the exchange.
                    let connection = try TLSConnection(context: shared.tls.withLock { $0 }, isServer: true)
                    let handlers: [ChannelHandler] = [
                        NTSKETLSHandler(connection: connection, role: .server),
                        ByteToMessageHandler(NTSKEMessageDecoder(maximumMessageLength: shared.limits.maximumRequestLength)),
                        NTSKEServerHandler(
                            session: connection, responder: shared.responder.withLock { $0 }, random: shared.random,
                            statistics: shared.statistics, timeout: shared.limits.timeout, logger: shared.logger),
                    ]
                    shared.active.add(1, ordering: .relaxed)
                    channel.closeFuture.whenComplete { _ in shared.active.subtract(1, ordering: .relaxed) }
                    return channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandlers(handlers) }
                } catch {
                    shared.logger.error("cannot start a TLS session", metadata: ["error": "\(error)"])
                    return channel.close()
                }
            }
        var channels: [Channel] = []
        do {
            for endpoint in endpoints {
                channels.append(try bootstrap.bind(host: endpoint.host, port: Int(endpoint.port)).wait())
            }
        } catch {
            for channel in channels { try? channel.close().wait() }
            throw NTSKEStartError(message: "cannot listen for NTS-KE on \(endpoints): \(error)")
        }
        self.channels = channels
        self.shared = shared
    }

    /// The addresses as bound (ports chosen by the kernel for port 0).
    public var boundEndpoints: [SocketEndpoint] {
        channels.compactMap { channel in
            guard let address = channel.localAddress, let ip = address.ipAddress, let port = address.port else { return nil }
            return SocketEndpoint(host: ip, port: UInt16(port))
        }
    }

    /// Serves the new certificate to new connections from now on.
    public func replaceTLSContext(_ context: TLSContext) {
        shared.tls.withLock { $0 = context }
    }

    public var tlsContext: TLSContext { shared.tls.withLock { $0 } }

    /// Changes what new sessions are told (for example a Server Negotiation record pointing at a sibling).
    public func replaceResponder(_ responder: NTSKEResponder) {
        shared.responder.withLock { $0 = responder }
    }

    public var activeConnections: Int { shared.active.load(ordering: .relaxed) }

    public func run() async throws {
        shared.logger.info("serving NTS-KE", metadata: ["listen": "\(boundEndpoints)"])
        try? await gracefulShutdown()
        for channel in channels { try? await channel.close() }
        shared.logger.info("NTS-KE server stopped")
    }
}

public struct NTSKEStartError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

import FleetCrypto
import Logging
import NetworkEdges
import NodeModels
import NIOCore
import NIOPosix
import NTPCore
import NTSKECore
import ServiceLifecycle
import NIOConcurrencyHelpers

/// The NTS-KE server (RFC 8915 §4) on TCP (4460 by default): accepts connections within its connection
/// budget and hands each to its own handler. The TLS context can be replaced at any time (certificate
/// renewal): new connections use the new one, connections in progress finish with the old one.
///
/// Connections are held within a `ConnectionBudget` (NetworkEdges, shared with the admin API and metrics;
/// ISSUE 14), so that an attacker holding and renewing connections cannot lock clients out:
/// - at accept, before any TLS state is made: a source (IPv4 address, IPv6 /64) at its cap of unfinished
///   connections, or over its connection rate while the listener is under pressure, is refused
///   (`AdmissionScreen`), then one over `[nts.ratelimit]` (without the leak: a TCP source cannot be spoofed);
/// - when every place is taken, the oldest unfinished connection is evicted for the newcomer;
/// - one deadline from accept (`timeout`) for the handshake and the request, however slowly bytes trickle;
/// - an accept that fails for want of descriptors pauses the listener for a second (`AcceptBackoffCounter`).
/// Each refusal, eviction and deadline is counted by kind in ``NTSKEStatistics``.
public final class NTSKEServer: Service, Sendable {
    public static let alpn = "ntske/1"

    private let channels: [Channel]
    private let shared: Shared

    final class Shared: Sendable {
        let tls: NIOLockedValueBox<TLSContext>
        let responder: NIOLockedValueBox<NTSKEResponder>
        let limits: NTSKELimits
        let statistics: NTSKEStatistics
        let random: @Sendable () -> any RandomNumberGenerator
        let budget: ConnectionBudget
        let sessionLimiter: NIOLockedValueBox<RateLimiter?>
        let logger: Logger

        init(
            tls: TLSContext, responder: NTSKEResponder, limits: NTSKELimits, statistics: NTSKEStatistics,
            random: @escaping @Sendable () -> any RandomNumberGenerator, logger: Logger
        ) {
            self.tls = NIOLockedValueBox(tls)
            self.responder = NIOLockedValueBox(responder)
            self.limits = limits
            self.statistics = statistics
            self.random = random
            self.budget = ConnectionBudget(listener: "ntske", limits: limits.budget) { event in
                statistics.update { counters in
                    switch event {
                    case .refused(.full): counters.refusedOverLimit += 1
                    case .refused(.perSource): counters.refusedPerSource += 1
                    case .refused(.rate): counters.refusedConnectionRate += 1
                    case .closed(.evicted): counters.evicted += 1
                    case .closed(.handshakeDeadline):
                        counters.timeouts += 1
                        counters.handshakeTimeouts += 1
                    case .closed(.requestDeadline): counters.timeouts += 1
                    }
                }
            }
            self.sessionLimiter = NIOLockedValueBox(limits.sessionRate.map { RateLimiter(policy: $0, capacity: 16_384) })
            self.logger = logger
        }

        /// `[nts.ratelimit]`: true when a new session from `address` is within its client's rate. No leak.
        func withinSessionRate(_ address: SocketAddress?) -> Bool {
            guard let text = address?.ipAddress, let ip = IPAddress(text) else { return true }
            var random = SystemRandomNumberGenerator()
            let verdict = sessionLimiter.withLockedValue { limiter in
                limiter?.check(ip.unmapped, now: NIODeadline.now().uptimeNanoseconds, using: &random, leaking: false) ?? .respond
            }
            guard verdict == .respond else {
                statistics.update { $0.refusedRateLimited += 1 }
                return false
            }
            return true
        }
    }

    /// Binds every endpoint now, so a bad address or a port in use stops the node at start.
    ///
    /// - Parameters:
    ///   - random: a generator for each session's cookie nonces (by default OpenSSL's CSPRNG, buffered).
    ///   - onAcceptFailure: told of each accept that failed for want of descriptors or memory (the node's
    ///     health says "descriptor limit reached" from these, over all its listeners).
    public init(
        endpoints: [SocketEndpoint], tls: TLSContext, responder: NTSKEResponder, limits: NTSKELimits,
        statistics: NTSKEStatistics, logger: Logger, group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        random: @escaping @Sendable () -> any RandomNumberGenerator = { SecureRandomGenerator() },
        onAcceptFailure: (@Sendable () -> Void)? = nil
    ) throws {
        let shared = Shared(tls: tls, responder: responder, limits: limits, statistics: statistics, random: random, logger: logger)
        let bootstrap = ServerBootstrap(group: group)
            // A deep accept queue: under a connect flood a well-behaved client's SYN is queued, not dropped
            // (a dropped SYN costs it a 1 s retransmission).
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // Accepts per wakeup: a reconnect flood refused at accept is drained in fewer loop turns, so the
            // queue a well-behaved client's connection waits in stays short.
            .serverChannelOption(.maxMessagesPerRead, value: 64)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(AcceptBackoffCounter(listener: "ntske", logger: logger) {
                        statistics.update { $0.acceptBackoffs += 1 }
                        onAcceptFailure?()
                    })
                    try sync.addHandler(AdmissionScreen(budget: shared.budget))
                    if limits.sessionRate != nil { try sync.addHandler(NTSKESessionScreen(shared: shared)) }
                }
            }
            // TCP_NODELAY at IPPROTO_TCP: `.socketOption(.tcp_nodelay)` set SO_DEBUG (the same number at
            // SOL_SOCKET), which needs CAP_NET_ADMIN: as any user but root every NTS-KE connection was closed.
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                do {
                    // TLS, then framing into one request message (at most the request limit), the budget's
                    // deadlines and place (kept for good once the request is complete), then the exchange.
                    let connection = try TLSConnection(context: shared.tls.withLockedValue { $0 }, isServer: true)
                    let handlers: [ChannelHandler] = [
                        NTSKETLSHandler(connection: connection, role: .server),
                        ByteToMessageHandler(NTSKEMessageDecoder(maximumMessageLength: shared.limits.maximumRequestLength)),
                        BudgetedConnection<[NTSKERecord]>(
                            budget: shared.budget, proof: .request,
                            isHandshakeCompleted: { $0 is NTSKETLSHandler.HandshakeCompleted },
                            isRequestComplete: { _ in true }),
                        NTSKEServerHandler(
                            session: connection, responder: shared.responder.withLockedValue { $0 }, random: shared.random,
                            statistics: shared.statistics, logger: shared.logger),
                    ]
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
        shared.tls.withLockedValue { $0 = context }
    }

    public var tlsContext: TLSContext { shared.tls.withLockedValue { $0 } }

    /// Changes what new sessions are told (for example a Server Negotiation record pointing at a sibling).
    public func replaceResponder(_ responder: NTSKEResponder) {
        shared.responder.withLockedValue { $0 = responder }
    }

    /// Connections held now (unfinished, or being answered).
    public var activeConnections: Int { shared.budget.held.total }

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

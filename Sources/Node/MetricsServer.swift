import NetworkEdges
import NodeModels
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import ServiceLifecycle
import NIOConcurrencyHelpers

/// `[metrics]`: the swift-metrics values of the node (bootstrapped onto swift-prometheus's registry by the
/// executable) in the Prometheus text format, on an HTTP listener of its own (`GET /metrics`; anything else
/// 404, other methods 405). Plain HTTP and loopback by default: the authenticated admin API is separate.
/// Connections are held within a `ConnectionBudget` (`budgetLimits`): at most 128 at once, 4 per source, the
/// oldest evicted for a newcomer, and each closed 5 s after accept if its request has not arrived, so idle
/// connections cannot use up the node's descriptors.
public final class MetricsServer: Service, Sendable {
    let endpoint: SocketEndpoint
    let registry: PrometheusCollectorRegistry
    let logger: Logger
    private let bound = NIOLockedValueBox<String?>(nil)
    private let listening = NIOLockedValueBox<(any Channel)?>(nil)
    /// A scraper needs one connection every few seconds: 4 at once and 2 new ones a second per source
    /// (burst 8), 128 in all, so an attacker on 100 addresses renews the pool at most 200 times a second and
    /// a scrape keeps its place far longer than it takes.
    static let budgetLimits = ConnectionBudget.Limits(
        total: 128, reservedForAuthenticated: 0, perSource: 4,
        rate: .init(perSecond: 2, burst: 8),
        handshakeDeadline: nil, requestDeadline: .seconds(5))
    /// Accepts that failed for want of descriptors (status and health read it).
    let acceptFailures = AcceptFailures()
    let budget = ConnectionBudget(listener: "metrics", limits: MetricsServer.budgetLimits)

    public init(endpoint: SocketEndpoint, registry: PrometheusCollectorRegistry, logger: Logger) {
        self.endpoint = endpoint
        self.registry = registry
        self.logger = logger
    }

    /// "address:port" once listening.
    public var listener: String? { bound.withLockedValue { $0 } }

    /// Binds the listener (before the privilege drop, so a port below 1024 works); `run` serves it.
    public func bind() async throws {
        if listening.withLockedValue({ $0 }) != nil { return }
        let registry = self.registry
        let budget = self.budget
        let logger = self.logger
        let acceptFailures = self.acceptFailures
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // A deep accept queue: under a connect flood a well-behaved client's SYN is queued, not dropped
            // (a dropped SYN costs it a 1 s retransmission).
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(AcceptBackoffCounter(listener: "metrics", logger: logger) { [acceptFailures] in acceptFailures.record() })
                    try channel.pipeline.syncOperations.addHandler(AdmissionScreen(budget: budget))
                }
            }
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(BudgetedConnection<HTTPServerRequestPart>.http(budget: budget, handshakeAuthenticates: false))
                    try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(registry: registry))
                }
            }
            .bind(host: endpoint.host, port: Int(endpoint.port))
            .get()
        let port = channel.localAddress?.port ?? Int(endpoint.port)
        let text = endpoint.host.contains(":") ? "[\(endpoint.host)]:\(port)" : "\(endpoint.host):\(port)"
        bound.withLockedValue { $0 = text }
        listening.withLockedValue { $0 = channel }
        logger.info("serving Prometheus metrics", metadata: ["listen": "\(text)"])
    }

    public func run() async throws {
        try await bind()
        guard let channel = listening.withLockedValue({ $0 }) else { return }
        try? await gracefulShutdown()
        try? await channel.close()
    }
}

/// One HTTP/1.1 exchange per connection: the metrics for `GET /metrics`, an error otherwise.
final class MetricsHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let registry: PrometheusCollectorRegistry
    private var head: HTTPRequestHead?

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
        case .body:
            break
        case .end:
            guard let head else { return context.close(promise: nil) }
            let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
            let (status, body): (HTTPResponseStatus, [UInt8])
            if head.method != .GET && head.method != .HEAD {
                (status, body) = (.methodNotAllowed, Array("only GET\n".utf8))
            } else if path != "/metrics" {
                (status, body) = (.notFound, Array("see /metrics\n".utf8))
            } else {
                (status, body) = (.ok, registry.emitToBuffer())
            }
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: status == .ok ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain; charset=utf-8")
            headers.add(name: "Content-Length", value: "\(body.count)")
            headers.add(name: "Connection", value: "close")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
            if head.method != .HEAD {
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
            }
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
            self.head = nil
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

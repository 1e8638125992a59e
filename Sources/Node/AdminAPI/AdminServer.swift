import ConfigFile
import Certificates
import NetworkEdges
import NodeModels
import Logging
import Metrics
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import ServiceLifecycle
import NIOConcurrencyHelpers
import Synchronization

/// `[admin]`: the admin API over HTTPS with mutual TLS (swift-nio-ssl). The handshake itself refuses every
/// client without a valid certificate from the admin CA (none, another CA's, expired), so no request of
/// theirs is ever read. One request per connection, JSON bodies up to `maximumBody` bytes. Connections are
/// held within a `ConnectionBudget` (`budgetLimits`): deadlines from accept to the end of the handshake and
/// of the request, a cap and a rate per source, the oldest unauthenticated connection evicted for a newcomer,
/// and places only authenticated operators can take, so no amount of unauthenticated connections locks
/// operators out.
public final class AdminServer: Service, Sendable {
    public static let maximumBody = 1 << 20
    /// Connections held at once: 320, 64 of them only for operators whose certificate was verified. The
    /// unauthenticated part is large on purpose: with at most 4 per source and 1 new one a second per source
    /// (burst 4), an attacker on 100 addresses renews its 256 places at most 100 times a second, so a newcomer
    /// keeps its place for seconds, far longer than a handshake takes. The handshake must end within 5 s of
    /// accept and the request within 10 s. (320 descriptors at most: see the open-file limit logged at start.)
    static let budgetLimits = ConnectionBudget.Limits(
        total: 320, reservedForAuthenticated: 64, perSource: 4,
        rate: .init(perSecond: 1, burst: 4),
        handshakeDeadline: .seconds(5), requestDeadline: .seconds(10))
    /// Once the request is read: a client that stops reading its answer is dropped after this long idle.
    static let idleTimeout = TimeAmount.seconds(10)

    let configuration: NodeConfig.Admin
    private let routes = NIOLockedValueBox(AdminRoutes())
    let logger: Logger
    private let tls: NIOSSLContext
    private let bound = NIOLockedValueBox<String?>(nil)
    private let refusedHandshakes = Atomic<Int>(0)
    /// Accepts that failed for want of descriptors (status and health read it).
    let acceptFailures = AcceptFailures()
    let budget = ConnectionBudget(listener: "admin", limits: AdminServer.budgetLimits)
    private let refusedMetric = Counter(label: "fleetnode_admin_handshake_failures_total")

    /// Loads the certificate, key and client CA now, so a mistake stops the node at start.
    public init(configuration: NodeConfig.Admin, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        // Each file named with what is wrong with it (and a key readable by others refused), rather than
        // swift-nio-ssl's one error for all three.
        var problems = ConfigPreflight.certificateAndKey(certificate: configuration.certificate, privateKey: configuration.privateKey, table: "admin")
        do {
            _ = try ConfigPreflight.certificates(configuration.clientCA, what: "the admin CA certificate")
        } catch {
            problems.append(ConfigPreflight.Problem(key: "admin.client_ca", message: error.message))
        }
        if !problems.isEmpty {
            throw NodeStartError(message: problems.map(\.description).joined(separator: "\n"))
        }
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(configuration.certificate).map { NIOSSLCertificateSource.certificate($0) }
            let key = try NIOSSLPrivateKey(file: configuration.privateKey, format: .pem)
            _ = try NIOSSLCertificate.fromPEMFile(configuration.clientCA)
            var tls = TLSConfiguration.makeServerConfigurationWithMTLS(
                certificateChain: chain, privateKey: .privateKey(key), trustRoots: .file(configuration.clientCA))
            tls.minimumTLSVersion = .tlsv12
            tls.sendCANameList = true
            self.tls = try NIOSSLContext(configuration: tls)
        } catch {
            throw NodeStartError(message: "[admin] certificate \(configuration.certificate), private_key \(configuration.privateKey), client_ca \(configuration.clientCA): \(error)")
        }
    }

    /// The routes to serve (set once the node is built: they call back into it).
    public func install(routes: AdminRoutes) {
        self.routes.withLockedValue { $0 = routes }
    }

    /// The API's own certificate, as `GET /v1/certificates` shows it.
    public var certificateDetails: CertificateDetails? {
        (try? CertificateInspector.chain(file: configuration.certificate)).map(CertificateInspector.details(of:))
    }

    /// "address:port" once listening.
    public var listener: String? { bound.withLockedValue { $0 } }

    /// Connections refused at the TLS handshake (no, foreign or expired client certificate; not TLS).
    public var handshakeFailures: Int { refusedHandshakes.load(ordering: .relaxed) }

    private typealias Listener = NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>
    /// Bound by `bind`, taken by `run`.
    private let listening = NIOLockedValueBox<Listener?>(nil)

    /// Binds the listener (before the privilege drop, so a port below 1024 works); `run` serves it.
    public func bind() async throws {
        if bound.withLockedValue({ $0 }) != nil { return }
        let tls = self.tls
        let budget = self.budget
        let logger = self.logger
        let acceptFailures = self.acceptFailures
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // A deep accept queue: under a connect flood a well-behaved client's SYN is queued, not dropped
            // (a dropped SYN costs it a 1 s retransmission).
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(AcceptBackoffCounter(listener: "admin", logger: logger) { [acceptFailures] in acceptFailures.record() })
                    try channel.pipeline.syncOperations.addHandler(AdmissionScreen(budget: budget))
                }
            }
            .bind(host: configuration.listen.host, port: Int(configuration.listen.port)) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(IdleStateHandler(allTimeout: Self.idleTimeout))
                    try sync.addHandler(CloseOnIdle())
                    try sync.addHandler(NIOSSLServerHandler(context: tls))
                    try sync.configureHTTPServerPipeline()
                    try sync.addHandler(BudgetedConnection<HTTPServerRequestPart>.http(budget: budget, handshakeAuthenticates: true))
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(wrappingChannelSynchronously: channel)
                }
            }
        let port = server.channel.localAddress?.port ?? Int(configuration.listen.port)
        let host = configuration.listen.host
        let text = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        bound.withLockedValue { $0 = text }
        listening.withLockedValue { $0 = server }
        logger.info("admin API listening (HTTPS, client certificates required)", metadata: ["listen": "\(text)"])
    }

    public func run() async throws {
        try await bind()
        guard let server = listening.withLockedValue({ value in defer { value = nil }; return value }) else { return }
        let logger = self.logger
        let routes = self.routes.withLockedValue { $0 }
        await cancelWhenGracefulShutdown {
            try? await withThrowingDiscardingTaskGroup { group in
                try await server.executeThenClose { connections in
                    for try await connection in connections {
                        // Connections the budget refused are closed already: serving them ends at once.
                        group.addTask { await self.serve(connection, routes: routes, logger: logger) }
                    }
                }
            }
        }
    }

    private func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, routes: AdminRoutes, logger: Logger) async {
        let channel = connection.channel
        do {
            try await connection.executeThenClose { inbound, outbound in
                var head: HTTPRequestHead?
                var body: [UInt8] = []
                for try await part in inbound {
                    let response: AdminResponse
                    switch part {
                    case .head(let requestHead):
                        head = requestHead
                        continue
                    case .body(let buffer):
                        if body.count + buffer.readableBytes <= Self.maximumBody {
                            body += buffer.readableBytesView
                            continue
                        }
                        // Answered at once: no need to read the rest of an oversized body.
                        response = .error(.payloadTooLarge, "too_large", "request bodies are limited to \(Self.maximumBody) bytes")
                    case .end:
                        guard let head else { return }
                        let target = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
                        let path = target.first.map(String.init) ?? head.uri
                        let query = target.count > 1 ? String(target[1]) : ""
                        let peer = try? await channel.nioSSL_peerCertificate().get()
                        let client = peer.flatMap { $0 }.flatMap(Self.subject(of:))
                        response = await routes.respond(to: AdminRequest(method: head.method, path: path, query: query, body: body, client: client))
                        // Bounded label values: the known methods, "other" for the rest.
                        let method = ["GET", "HEAD", "PUT", "POST", "DELETE"].contains(head.method.rawValue) ? head.method.rawValue : "other"
                        Counter(label: "fleetnode_admin_requests_total", dimensions: [("method", method), ("status", "\(response.status.code)")])
                            .increment()
                        if head.method != .GET && head.method != .HEAD {
                            logger.notice("admin API write", metadata: [
                                "method": "\(head.method.rawValue)", "path": "\(path)", "status": "\(response.status.code)",
                                "client": "\(client ?? "?")",
                            ])
                        }
                    }
                    guard let head else { return }
                    var headers = HTTPHeaders()
                    headers.add(name: "Content-Type", value: "application/json")
                    headers.add(name: "Content-Length", value: "\(response.body.count)")
                    headers.add(name: "Connection", value: "close")
                    try await outbound.write(.head(HTTPResponseHead(
                        version: head.version, status: response.status, headers: headers)))
                    if head.method != .HEAD {
                        try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: response.body))))
                    }
                    try await outbound.write(.end(nil))
                    return
                }
            }
        } catch let error as NIOSSLError {
            refusedHandshakes.add(1, ordering: .relaxed)
            refusedMetric.increment()
            logger.debug("admin API connection refused at the TLS handshake", metadata: ["error": "\(error)", "peer": "\(channel.remoteAddress?.description ?? "?")"])
        } catch let error as BoringSSLError {
            refusedHandshakes.add(1, ordering: .relaxed)
            refusedMetric.increment()
            logger.debug("admin API connection refused at the TLS handshake", metadata: ["error": "\(error)", "peer": "\(channel.remoteAddress?.description ?? "?")"])
        } catch {
            logger.debug("admin API connection ended", metadata: ["error": "\(error)"])
        }
    }

    static func subject(of certificate: NIOSSLCertificate) -> String? {
        CertificateInspector.subject(der: (try? certificate.toDERBytes()) ?? [])
    }
}

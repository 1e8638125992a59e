import Fleet
import Glibc
import NetworkEdges
import NodeModels
import NTPCore
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// What fleetctl needs to talk to a node's admin API: its client certificate and key (issued by the fleet's
/// admin CA) and the CA that signed the nodes' admin certificates.
public struct AdminCredentials: Sendable, Equatable {
    public var certificate: String
    public var privateKey: String
    public var ca: String

    public init(certificate: String, privateKey: String, ca: String) {
        self.certificate = certificate
        self.privateKey = privateKey
        self.ca = ca
    }

    /// Environment variables standing in for the options.
    public static let certificateVariable = "FLEETCTL_CERT"
    public static let privateKeyVariable = "FLEETCTL_KEY"
    public static let caVariable = "FLEETCTL_CA"

    /// Options first, then `FLEETCTL_CERT`, `FLEETCTL_KEY`, `FLEETCTL_CA`; a clear error naming what is missing.
    public static func resolve(
        certificate: String?, privateKey: String?, ca: String?, environment: [String: String]
    ) throws(AdminClientError) -> AdminCredentials {
        var missing: [String] = []
        let certificate = certificate ?? environment[certificateVariable]
        let privateKey = privateKey ?? environment[privateKeyVariable]
        let ca = ca ?? environment[caVariable]
        if certificate == nil { missing.append("--cert (or \(certificateVariable))") }
        if privateKey == nil { missing.append("--key (or \(privateKeyVariable))") }
        if ca == nil { missing.append("--ca (or \(caVariable))") }
        guard let certificate, let privateKey, let ca else {
            throw AdminClientError("the admin API needs a client certificate: missing \(missing.joined(separator: ", "))")
        }
        return AdminCredentials(certificate: certificate, privateKey: privateKey, ca: ca)
    }
}

public struct AdminClientError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    /// The HTTP status when the node answered with an error.
    public var status: Int?
    /// The node's error code ("conflict", "invalid_certificate", ...).
    public var code: String?
    /// What kind of failure it was, for the health sweep.
    public var kind: ProbeFailure.Kind

    public init(_ description: String, status: Int? = nil, code: String? = nil, kind: ProbeFailure.Kind = .protocolError) {
        self.description = description
        self.status = status
        self.code = code
        self.kind = kind
    }

    /// A transport or TLS error in an operator's words (no library type names), sorted into its kind.
    static func classify(_ error: any Error, node: SocketEndpoint, timeout: TimeAmount) -> AdminClientError {
        if let error = error as? AdminClientError { return error }
        let seconds = Double(timeout.nanoseconds) / 1e9
        if let error = error as? ChannelError, case .connectTimeout = error {
            return AdminClientError("\(node): no answer within \(seconds) s", kind: .timeout)
        }
        if let error = error as? NIOConnectionError {
            let causes = error.connectionErrors.map { ($0.error as? IOError).map { Self.errnoText($0.errnoCode) } ?? "\($0.error)" }
            let text = Set(causes).sorted().joined(separator: ", ")
            return AdminClientError("\(node): \(text.isEmpty ? "cannot connect" : text)", kind: .unreachable)
        }
        if let error = error as? IOError {
            return AdminClientError("\(node): \(Self.errnoText(error.errnoCode))", kind: .unreachable)
        }
        let text = String(describing: error).uppercased()
        if text.contains("CERTIFICATE_VERIFY_FAILED") {
            return AdminClientError("\(node): the node's admin certificate does not verify against the admin CA (or does not name \(node.host))", kind: .certificate)
        }
        if text.contains("ALERT_UNKNOWN_CA") || text.contains("ALERT_BAD_CERTIFICATE") || text.contains("CERTIFICATE_REQUIRED")
            || text.contains("ALERT_CERTIFICATE_EXPIRED") || text.contains("ALERT_ACCESS_DENIED") {
            return AdminClientError("\(node): the node refused our client certificate (is it issued by the fleet's admin CA, and still valid?)", kind: .refusedCredentials)
        }
        if error is NIOSSLError || text.contains("SSL") {
            return AdminClientError("\(node): TLS handshake failed", kind: .protocolError)
        }
        return AdminClientError("\(node): \(error)", kind: .protocolError)
    }

    private static func errnoText(_ code: Int32) -> String {
        switch code {
        case ECONNREFUSED: return "connection refused"
        case ETIMEDOUT: return "connection timed out"
        case EHOSTUNREACH, ENETUNREACH: return "no route to host"
        default: return String(cString: strerror(code))
        }
    }
}

/// An HTTPS client of one node's admin API (SwiftNIO + swift-nio-ssl, one request per connection). The
/// node's certificate is verified against the CA and the host name or IP address in NODE.
public struct AdminClient: Sendable {
    public let node: SocketEndpoint
    private let tls: NIOSSLContext
    private let serverName: String?
    private let timeout: TimeAmount

    /// `node`: host[:port] of the admin API (default port 9124).
    public init(node: String, credentials: AdminCredentials, serverName: String? = nil, timeout: Duration = .seconds(5)) throws(AdminClientError) {
        do {
            self.node = try SocketEndpoint(parsing: node, defaultPort: Self.defaultPort)
        } catch {
            throw AdminClientError("\(node): \(error.description)")
        }
        do {
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.minimumTLSVersion = .tlsv12
            configuration.trustRoots = .file(credentials.ca)
            _ = try NIOSSLCertificate.fromPEMFile(credentials.ca)
            configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(credentials.certificate).map { .certificate($0) }
            configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: credentials.privateKey, format: .pem))
            tls = try NIOSSLContext(configuration: configuration)
        } catch {
            throw AdminClientError(
                "cannot use client certificate \(credentials.certificate), key \(credentials.privateKey) or CA \(credentials.ca): "
                    + "each must be a readable PEM file, and the key must belong to the certificate", kind: .local)
        }
        // IP addresses are checked against the certificate's IP SANs (and never sent as SNI).
        let host = self.node.host
        self.serverName = serverName ?? (IPAddress(host) == nil ? host : nil)
        let (seconds, attoseconds) = timeout.components
        self.timeout = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    public static let defaultPort: UInt16 = 9124

    public func get<T: AdminBody>(_ path: String, as type: T.Type = T.self) async throws(AdminClientError) -> T {
        try decode(try await request("GET", path), as: type)
    }

    public func send<T: AdminBody>(_ method: String, _ path: String, body: some AdminBody, as type: T.Type = T.self) async throws(AdminClientError) -> T {
        try decode(try await request(method, path, body: body.json()), as: type)
    }

    private func decode<T: AdminBody>(_ response: (status: Int, body: [UInt8]), as type: T.Type) throws(AdminClientError) -> T {
        guard response.status == 200 else {
            if let error = try? AdminErrorBody(json: response.body) {
                throw AdminClientError("\(node): \(error.error) (HTTP \(response.status))", status: response.status, code: error.code)
            }
            throw AdminClientError("\(node): HTTP \(response.status)", status: response.status)
        }
        do {
            return try T(json: response.body)
        } catch {
            throw AdminClientError("\(node) answered with an unreadable body: \(error)")
        }
    }

    /// One exchange; the status and body of whatever the node answered.
    public func request(_ method: String, _ path: String, body: [UInt8] = []) async throws(AdminClientError) -> (status: Int, body: [UInt8]) {
        do {
            return try await exchange(method, path, body: body)
        } catch {
            throw AdminClientError.classify(error, node: node, timeout: timeout)
        }
    }

    private func exchange(_ method: String, _ path: String, body: [UInt8]) async throws -> (status: Int, body: [UInt8]) {
        let tls = self.tls
        let serverName = self.serverName
        let timeout = self.timeout
        let client = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(timeout)
            .connect(host: node.host, port: Int(node.port)) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(IdleStateHandler(allTimeout: timeout))
                    try sync.addHandler(CloseOnIdle())
                    try sync.addHandler(NIOSSLClientHandler(context: tls, serverHostname: serverName))
                    try sync.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                }
            }
        let hostHeader = node.description
        return try await client.executeThenClose { inbound, outbound in
            var headers = HTTPHeaders()
            headers.add(name: "Host", value: hostHeader)
            headers.add(name: "Content-Type", value: "application/json")
            headers.add(name: "Content-Length", value: "\(body.count)")
            headers.add(name: "Connection", value: "close")
            try await outbound.write(.head(HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: path, headers: headers)))
            if !body.isEmpty { try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
            try await outbound.write(.end(nil))
            var status: Int?
            var received: [UInt8] = []
            for try await part in inbound {
                switch part {
                case .head(let head): status = Int(head.status.code)
                case .body(let buffer):
                    received += buffer.readableBytesView
                    if received.count > 16 << 20 { throw AdminClientError("\(node): answer larger than 16 MiB") }
                case .end:
                    guard let status else { throw AdminClientError("\(node): answer without a status line") }
                    return (status, received)
                }
            }
            throw AdminClientError("\(node) closed the connection before answering", kind: .protocolError)
        }
    }
}

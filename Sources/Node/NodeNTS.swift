import ConfigFile
import NodeModels
import FleetCrypto
import Foundation
import Logging
import NIOCore
import NIOPosix
import NTPCore
import NTSKE
import NTSKECore
import ServiceLifecycle
import NIOConcurrencyHelpers

/// The node's NTS (RFC 8915): the cookie master keys, the NTS-KE server, certificate renewal and key
/// rotation. The key store publishes every key change to one provider that the NTP server and NTS-KE both read.
final class NodeNTS: Sendable {
    let configuration: NodeConfig.NTS
    let keys: CookieKeyStore
    /// The keys in use, as the NTP server and NTS-KE read them (the store publishes each change here).
    let cookieKeys: CookieKeyProvider
    let keyEstablishment: NTSKEServer
    let statistics = NTSKEStatistics()
    /// Accepts on the NTS-KE listener that failed for want of descriptors (with the admin and metrics ones: health).
    let acceptFailures = AcceptFailures()
    /// NTS-KE's own event loops (TLS handshakes are CPU work; sized by `[nts] threads`).
    private let eventLoops: MultiThreadedEventLoopGroup
    let certificates: CertificateWatcher
    let ciphers = NettleCipherFactory()
    let logger: Logger
    /// The NTS-KE policy as configured; steering replaces its server and port.
    private let basePolicy: NTSKEServerPolicy
    private let steering = NIOLockedValueBox<SocketEndpoint?>(nil)

    /// - Parameter ntpPort: the node's own NTP port, advertised in Port Negotiation when it is not 123 and
    ///   the configuration names none.
    init(configuration: NodeConfig.NTS, ntpServer: NTPServer, ntpPort: Int?, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        let now = Int64(Date().timeIntervalSince1970)
        let cookieKeys = CookieKeyProvider(ciphers: ciphers)
        self.cookieKeys = cookieKeys
        keys = try CookieKeyStore(
            path: configuration.keyFile, history: configuration.keyHistory, now: now, logger: logger, publishingTo: cookieKeys)
        try keys.rotateIfDue(now: now, interval: configuration.rotateInterval)

        // A private key readable by group or others is refused like every other secret; a missing,
        // mismatched or unparseable file is named before OpenSSL's own error would be.
        let problems = ConfigPreflight.certificateAndKey(certificate: configuration.certificate, privateKey: configuration.privateKey, table: "nts")
            .filter { !$0.message.contains("not valid now") }
        if !problems.isEmpty {
            throw NodeStartError(message: problems.map(\.description).joined(separator: "\n"))
        }
        let tls: TLSContext
        do {
            tls = try TLSContext.server(
                certificateChain: configuration.certificate, privateKey: configuration.privateKey, alpn: NTSKEServer.alpn)
        } catch {
            throw NodeStartError(message: "NTS certificate \(configuration.certificate) / key \(configuration.privateKey): \(error)")
        }
        ntpServer.serveNTS(from: cookieKeys)
        let advertisedPort = configuration.ntpPort ?? ntpPort.flatMap { $0 == 123 ? nil : UInt16(exactly: $0) }
        let policy = NTSKEServerPolicy(
            supportedAEAD: ciphers.supportedAlgorithms, cookieCount: 8, ntpServer: configuration.ntpServer,
            ntpPort: advertisedPort)
        if !policy.problems.isEmpty {
            throw NodeStartError(message: "NTS configuration: \(policy.problems.joined(separator: "; "))")
        }
        basePolicy = policy
        let responder = NTSKEResponder(policy: policy, cookieKeys: cookieKeys)
        let limits = NTSKELimits(
            maximumConnections: configuration.maximumConnections,
            maximumConnectionsPerSource: configuration.maximumConnectionsPerSource,
            timeout: .nanoseconds(Int64(configuration.timeout * 1e9)), sessionRate: configuration.sessionRate)
        let threads = configuration.threads > 0 ? configuration.threads : System.coreCount
        eventLoops = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        do {
            keyEstablishment = try NTSKEServer(
                endpoints: configuration.listen, tls: tls, responder: responder, limits: limits, statistics: statistics,
                logger: logger, group: eventLoops, random: { SecureRandomGenerator() },
                onAcceptFailure: { [acceptFailures] in acceptFailures.record() })
        } catch {
            throw NodeStartError(message: "\(error)")
        }
        certificates = CertificateWatcher(
            certificate: configuration.certificate, privateKey: configuration.privateKey, server: keyEstablishment, logger: logger)
    }

    /// Points new NTS-KE clients at `sibling`'s NTP service (Server and Port Negotiation, RFC 8915 §4.1.7-8)
    /// or, with nil, back at this node's own. Cookies are sealed under the site's shared master key, so the
    /// sibling opens them. Connections in progress finish with the responder they started with.
    func steer(to sibling: SocketEndpoint?) {
        let changed = steering.withLockedValue { current in
            defer { current = sibling }
            return current != sibling
        }
        guard changed else { return }
        var policy = basePolicy
        if let sibling {
            policy.ntpServer = sibling.host
            policy.ntpPort = sibling.port
            logger.warning("pointing new NTS clients at a sibling", metadata: ["sibling": "\(sibling)"])
        } else {
            logger.notice("serving new NTS clients again")
        }
        keyEstablishment.replaceResponder(NTSKEResponder(policy: policy, cookieKeys: cookieKeys))
    }

    var steeredTo: SocketEndpoint? { steering.withLockedValue { $0 } }

    /// The services to run beside the NTP server.
    var services: [any Service] {
        let rotationCheck = Duration.seconds(max(1, min(60, configuration.rotateInterval / 10)))
        return [
            keyEstablishment,
            PeriodicTask(interval: .milliseconds(Int64(configuration.certificateCheckInterval * 1000))) { [certificates] in
                certificates.checkForChange()
            },
            PeriodicTask(interval: rotationCheck) { [self] in rotateIfDue() },
        ]
    }

    func rotateIfDue() {
        let now = Int64(Date().timeIntervalSince1970)
        keys.retryWriteIfFailing(now: now)
        do {
            try keys.rotateIfDue(now: now, interval: configuration.rotateInterval)
        } catch {
            // The store logs the first failed write of a run; the rotation is tried again at the next check.
            logger.debug("NTS cookie key rotation failed; the current keys stay in use", metadata: ["error": "\(error)"])
        }
    }

    /// SIGHUP: the certificate files and the key file (the fleet tool may have replaced it) are read again.
    func reload() {
        certificates.reload(reason: "reload")
        do {
            try keys.reload(history: configuration.keyHistory)
        } catch {
            logger.error("NTS cookie key file not reloaded, keeping the keys in use", metadata: ["error": "\(error)"])
        }
    }

    var status: NodeStatus.NTS {
        let set = keys.current
        let certificate = keyEstablishment.tlsContext.certificate
        return NodeStatus.NTS(
            listeners: keyEstablishment.boundEndpoints.map(\.description),
            certificate: certificate.map { .init(subject: $0.subject, notAfter: $0.notAfter, sha256: $0.sha256) },
            certificateSwaps: certificates.swapCount,
            cookieKeys: set.keys.map { .init(id: $0.id, createdAt: $0.createdAt, current: $0.id == set.current.id) },
            rotateIntervalSeconds: configuration.rotateInterval,
            ntske: statistics.snapshot,
            activeConnections: keyEstablishment.activeConnections,
            keyFile: keys.writeFault.withLockedValue { fault in
                NodeStatus.NTS.KeyFile(path: keys.path, failingSince: fault?.since, writeFailures: fault?.failures ?? 0, lastError: fault?.error)
            })
    }
}

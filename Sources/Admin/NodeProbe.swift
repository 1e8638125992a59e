import FleetCrypto
import Fleet
import Foundation
import NetworkEdges
import NIOCore
import NodeModels
import NTPCore
import NTSKE
import TimeCore

/// What the sweep needs to look at nodes: the operator's admin credentials and the NTS clients' trust.
public struct SweepAccess: Sendable {
    public var admin: AdminCredentials?
    /// Trust for NTS-KE handshakes (the inventory's `nts_trust_anchors`, or the system store).
    public var nts: TLSContext
    public init(admin: AdminCredentials?, nts: TLSContext) {
        self.admin = admin
        self.nts = nts
    }
}

/// Looks at one node from inside and outside within a deadline: its admin API's reads, a plain NTP
/// exchange, an NTS-KE handshake and an NTS-authenticated exchange, and its cookies presented to the other
/// nodes of its site. Every step gets what is left of the node's time, so a node that hangs costs the sweep
/// its deadline and no more. Nothing here judges: `HealthRules` does.
struct NodeProbe: Sendable {
    let node: Inventory.Node
    let inventory: Inventory
    let access: SweepAccess
    let deadline: ContinuousClock.Instant

    private var remaining: Duration { max(.milliseconds(1), deadline - .now) }

    private var remainingMilliseconds: Int32 {
        let (seconds, attoseconds) = remaining.components
        return Int32(clamping: max(1, seconds * 1000 + attoseconds / 1_000_000_000_000_000))
    }

    func observe() async -> NodeObservation {
        let start = ContinuousClock.now
        var observation = NodeObservation(node: node.name, site: node.site)
        async let inside = admin()
        async let outsideNTP = ntp()
        async let outsideNTS = nts()
        switch await inside {
        case .success(let view): observation.admin = view
        case .failure(let failure): observation.adminFailure = failure
        }
        switch await outsideNTP {
        case .success(let probe): observation.ntp = probe
        case .failure(let failure): observation.ntpFailure = failure
        }
        if let result = await outsideNTS {
            switch result {
            case .success(let (probe, checks)):
                observation.nts = probe
                observation.cookieChecks = checks
            case .failure(let failure):
                observation.ntsFailure = failure
            }
        }
        let elapsed = ContinuousClock.now - start
        observation.elapsed = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return observation
    }

    // MARK: Inside

    private func admin() async -> Result<AdminView, ProbeFailure> {
        guard let credentials = access.admin else {
            return .failure(ProbeFailure(.local, "no admin credentials: set [credentials] certificate, private_key and admin_ca in the inventory"))
        }
        let client: AdminClient
        do {
            client = try AdminClient(node: node.admin.description, credentials: credentials, serverName: node.adminServerName, timeout: remaining)
        } catch {
            return .failure(ProbeFailure(error.kind, error.description))
        }
        do {
            // One request for everything: one TLS handshake per node.
            let overview = try await within { try await client.get(AdminPath.overview, as: AdminOverview.self) }
            return .success(AdminView(
                health: overview.health, tracking: overview.tracking, sources: overview.sources.sources.map(SourceReportView.init),
                keys: overview.keys, certificates: overview.certificates))
        } catch let error as AdminClientError where error.status == 404 {
            // A node from before /v1/overview (a fleet mid-upgrade): its separate reads.
        } catch let error as AdminClientError {
            return .failure(ProbeFailure(error.kind, error.description))
        } catch let error as ProbeFailure {
            return .failure(error)
        } catch {
            return .failure(ProbeFailure(.protocolError, "\(node.admin): \(error)"))
        }
        do {
            // The health read first, alone: a node that refuses us refuses once, not five times.
            let health = try await within { try await client.get(AdminPath.health, as: AdminHealth.self) }
            async let tracking = within { try await client.get(AdminPath.tracking, as: AdminTracking.self) }
            async let sources = within { try await client.get(AdminPath.sources, as: AdminSources.self) }
            async let keys = within { try await client.get(AdminPath.keys, as: AdminKeys.self) }
            async let certificates = within { try await client.get(AdminPath.certificates, as: AdminCertificates.self) }
            let view = AdminView(
                health: health, tracking: try await tracking, sources: try await sources.sources.map(SourceReportView.init),
                keys: try? await keys, certificates: try? await certificates)
            return .success(view)
        } catch let error as AdminClientError {
            return .failure(ProbeFailure(error.kind, error.description))
        } catch let error as ProbeFailure {
            return .failure(error)
        } catch {
            return .failure(ProbeFailure(.protocolError, "\(node.admin): \(error)"))
        }
    }

    /// `body`, or a timeout failure when the node's deadline passes first.
    private func within<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let limit = remaining
        let where_ = node.admin
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try? await Task.sleep(for: limit)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else {
                throw ProbeFailure(.timeout, "\(where_): no answer within the sweep deadline")
            }
            return value
        }
    }

    // MARK: Outside

    private func ntp() async -> Result<NTPProbe, ProbeFailure> {
        let client = NTPQueryClient(server: node.ntp, timeoutMilliseconds: min(remainingMilliseconds, 2000))
        do {
            let measurement = try await blocking { try client.query() }
            return .success(NTPProbe(measurement))
        } catch let error as NTPQueryClient.Failure {
            return .failure(ProbeFailure(error.description.hasPrefix("no response") ? .timeout : .unreachable, error.description))
        } catch {
            return .failure(ProbeFailure(.protocolError, "\(error)"))
        }
    }

    /// nil for a node without NTS in the inventory.
    private func nts() async -> Result<(NTSProbe, [CookieCheck]), ProbeFailure>? {
        guard let ke = node.ntsKE else { return nil }
        let ciphers = NettleCipherFactory()
        let established: NTSKEClientResult
        do {
            established = try await NTSKEClient.establish(
                host: ke.host, port: ke.port, serverName: node.ntsName, trust: access.nts, ciphers: ciphers,
                timeout: .nanoseconds(Int64(remainingMilliseconds) * 1_000_000))
        } catch {
            let text = "\(error)"
            let kind: ProbeFailure.Kind = text.lowercased().contains("certificate") || text.lowercased().contains("verify") ? .certificate
                : text.contains("did not finish") ? .timeout : .protocolError
            return .failure(ProbeFailure(kind, "NTS-KE with \(ke): \(Self.clean(text))"))
        }
        guard let certificate = ServedCertificate(chain: established.peerCertificates) else {
            return .failure(ProbeFailure(.certificate, "NTS-KE with \(ke): no readable certificate was served"))
        }
        let server = SocketEndpoint(host: established.ntpServer ?? ke.host, port: established.ntpPort ?? 123)
        var cookies = established.cookies
        guard !cookies.isEmpty else { return .failure(ProbeFailure(.protocolError, "NTS-KE with \(ke) gave no cookies")) }
        let own = cookies.removeFirst()
        let keys = established.keys
        let timeout = min(remainingMilliseconds, 2000)
        let probe: NTSProbe
        do {
            switch try await blocking({
                try NTSTimeClient.exchange(cookie: own, keys: keys, server: server, ciphers: ciphers, timeoutMilliseconds: timeout)
            }) {
            case .authenticated(let measurement, _):
                probe = NTSProbe(certificate: certificate, ntpServer: server.description, aead: Int(keys.algorithm), stratum: Int(measurement.stratum), offset: measurement.offset)
            case .nak:
                return .failure(ProbeFailure(.protocolError, "NTS NAK from \(server) for a cookie its own NTS-KE just issued"))
            case .rejected(let why):
                return .failure(ProbeFailure(.protocolError, "NTS response from \(server) rejected: \(why)"))
            }
        } catch {
            return .failure(ProbeFailure(.timeout, "NTS-protected NTP with \(server): \(error)"))
        }

        // The site's other nodes must open this node's cookies (RFC 8915 §6: shared master keys).
        var checks: [CookieCheck] = []
        let others = inventory.nodes(in: node.site).filter { $0.name != node.name && $0.ntsKE != nil }
        for (other, cookie) in zip(others, cookies) {
            let verifier = other.ntp
            let timeout = min(remainingMilliseconds, 1000)
            do {
                switch try await blocking({
                    try NTSTimeClient.exchange(cookie: cookie, keys: keys, server: verifier, ciphers: ciphers, timeoutMilliseconds: timeout)
                }) {
                case .authenticated: checks.append(CookieCheck(issuer: node.name, verifier: other.name, outcome: .accepted))
                case .nak: checks.append(CookieCheck(issuer: node.name, verifier: other.name, outcome: .rejected, message: "NTS NAK"))
                case .rejected(let why): checks.append(CookieCheck(issuer: node.name, verifier: other.name, outcome: .failed, message: why))
                }
            } catch {
                checks.append(CookieCheck(issuer: node.name, verifier: other.name, outcome: .failed, message: "\(error)"))
            }
        }
        return .success((probe, checks))
    }

    /// An error's text without the library's wrapping.
    static func clean(_ text: String) -> String {
        text.replacingOccurrences(of: "TLSError(message: \"", with: "").replacingOccurrences(of: "\")", with: "")
    }
}

extension NTPProbe {
    init(_ measurement: NTPMeasurement) {
        self.init(
            stratum: Int(measurement.stratum), leap: Int(measurement.leap.rawValue), referenceID: measurement.referenceID.description,
            offset: measurement.offset, delay: measurement.delay, rootDistance: measurement.rootDistance)
    }
}

extension SourceReportView {
    init(_ report: SourceReport) {
        self.init(
            name: report.id.name, kind: report.kind.rawValue, isReferenceClock: report.kind.isReferenceClock, state: report.state.rawValue,
            reach: Int(report.reach), offset: report.offset, note: report.note, heldJump: report.heldJump, belowFloor: report.belowFloor,
            droppedJumped: report.droppedJumped, droppedBelowFloor: report.droppedBelowFloor)
    }
}

import Admin
import NetworkEdges
import NodeModels
import FleetCrypto
import Foundation
import NTPCore
import NTSKE
import Node
import XCTest

/// The admin API of a running node, through fleetctl's client library (and the fleetctl executable):
/// mutual TLS, every read endpoint, certificate install with a live swap, cookie master keys, reload.
final class AdminAPITests: XCTestCase {
    var directory: URL!
    var pki: TestPKI!
    var adminCA: TestPKI.Authority!
    var credentials: AdminCredentials!
    var adminTable = ""

    override func setUp() async throws {
        directory = try NodeProcess.makeDirectory()
        pki = try TestPKI(directory: directory)
        let access = try AdminAccess(pki: pki)
        adminCA = access.authority
        credentials = access.credentials
        adminTable = access.table
    }

    override func tearDown() async throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func client(_ node: NodeProcess, credentials: AdminCredentials? = nil) async throws -> AdminClient {
        try await waitFor(node) { $0.adminListener != nil }
        let listener = try await node.adminListener()
        return try AdminClient(node: listener, credentials: credentials ?? self.credentials)
    }

    // MARK: Mutual TLS

    /// Only a certificate from the admin CA gets in: no certificate, another CA's and an expired one are
    /// refused at the handshake (checked with Python's ssl module as an independent client, and with ours).
    func testOnlyAdminCAClientsGetIn() async throws {
        let node = try await NodeProcess(config: """
            [local]
            stratum = 1
            [metrics]
            listen = "127.0.0.1:0"
            [ntp]
            listen = ["127.0.0.1:0"]
            \(adminTable)
            """)
        defer { node.stop() }
        let good = try await client(node)
        let health = try await good.get(AdminPath.health, as: AdminHealth.self)
        XCTAssertEqual(health.verdict, .degraded, "a [local] node is degraded: \(health)")

        let other = try pki.authority("other")
        let foreign = try pki.issue(by: other, name: "intruder", server: false)
        let expired = try pki.issue(by: adminCA, name: "old-operator", server: false, expired: true)
        let listener = try await node.adminListener()
        let port = try XCTUnwrap(listener.split(separator: ":").last.map(String.init))

        let python = "/usr/bin/python3"
        guard FileManager.default.isExecutableFile(atPath: python) else { throw XCTSkip("no \(python)") }
        let script = """
            import sys, ssl, http.client
            context = ssl.create_default_context(cafile=sys.argv[2])
            if len(sys.argv) > 3:
                context.load_cert_chain(sys.argv[3], sys.argv[4])
            try:
                connection = http.client.HTTPSConnection("127.0.0.1", int(sys.argv[1]), context=context, timeout=5)
                connection.request("GET", "/v1/health")
                print("HTTP", connection.getresponse().status)
            except Exception as error:
                print("REFUSED", type(error).__name__, error)
            """
        func probe(_ pair: TestPKI.Issued?) throws -> String {
            var arguments = ["-c", script, port, adminCA.certificate]
            if let pair { arguments += [pair.certificate, pair.privateKey] }
            return try ExternalTool.run(python, arguments, timeout: 20).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        XCTAssertEqual(try probe(TestPKI.Issued(certificate: credentials.certificate, privateKey: credentials.privateKey)), "HTTP 200")
        let none = try probe(nil)
        XCTAssertTrue(none.hasPrefix("REFUSED") && none.contains("CERTIFICATE_REQUIRED"), none)
        let foreignResult = try probe(foreign)
        XCTAssertTrue(foreignResult.hasPrefix("REFUSED") && foreignResult.contains("UNKNOWN_CA"), foreignResult)
        let expiredResult = try probe(expired)
        XCTAssertTrue(expiredResult.hasPrefix("REFUSED") && expiredResult.contains("CERTIFICATE_EXPIRED"), expiredResult)

        // fleetctl's client gets a clear error, not an answer.
        for pair in [foreign, expired] {
            let refused = try AdminClient(node: listener, credentials: AdminCredentials(certificate: pair.certificate, privateKey: pair.privateKey, ca: adminCA.certificate))
            do {
                _ = try await refused.get(AdminPath.health, as: AdminHealth.self)
                XCTFail("\(pair.certificate) got in")
            } catch {
                XCTAssertNil(error.status, "refused at the handshake, before any HTTP: \(error)")
            }
        }
        // A client that does not trust the node's certificate refuses it too.
        let wrongTrust = try AdminClient(node: listener, credentials: AdminCredentials(certificate: credentials.certificate, privateKey: credentials.privateKey, ca: other.certificate))
        do {
            _ = try await wrongTrust.get(AdminPath.health, as: AdminHealth.self)
            XCTFail("a node certificate from an untrusted CA was accepted")
        } catch {}
        XCTAssertTrue(node.log.contains("refused at the TLS handshake"), node.log)
        let stats = try await good.get(AdminPath.serverStats, as: AdminServerStats.self)
        XCTAssertGreaterThanOrEqual(stats.adminRefusedHandshakes ?? 0, 6, "python's three, ours two, the untrusting client one")
        // Also counted through swift-metrics.
        try await waitFor(node) { $0.metricsListener != nil }
        let metricsURL = "http://\(try await node.status().metricsListener ?? "")/metrics"
        let metrics = try ExternalTool.run(python, ["-c", "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())", metricsURL], timeout: 20).stdout
        let refusedLine = metrics.split(separator: "\n").first { $0.hasPrefix("fleetnode_admin_handshake_failures_total ") }
        XCTAssertGreaterThanOrEqual(refusedLine.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0, 6, metrics)
        XCTAssertTrue(metrics.contains("fleetnode_admin_requests_total{method=\"GET\",status=\"200\"}"), metrics)
    }

    // MARK: Reads and fleetctl's views

    /// Every read endpoint against a node following a chronyd upstream, with NTS, rate limiting and a
    /// symmetric key; then the fleetctl executable's views (text with -v, and --json) against the same node.
    func testReadEndpointsAndFleetctlViews() async throws {
        let port = freeLoopbackPort()
        let chrony = try ChronyProcess.server(in: directory, port: port)
        defer { chrony.stop() }
        let nts = try TestCertificate.make(in: directory)
        let keyFile = directory.appendingPathComponent("ntp.keys").path
        try "1 SHA256 HEX:\(String(repeating: "ab", count: 32))\n".write(toFile: keyFile, atomically: true, encoding: .utf8)
        chmod(keyFile, 0o600)
        let node = try await NodeProcess(config: """
            [ntp]
            listen = ["127.0.0.1:0"]
            [ratelimit]
            interval = -4
            burst = 64
            [keys]
            file = "\(keyFile)"
            [[server]]
            address = "127.0.0.1:\(port)"
            minpoll = 0
            maxpoll = 0
            \(nts.ntsTable(keyFile: directory.appendingPathComponent("cookie-keys").path))
            \(adminTable)
            """)
        defer { node.stop() }
        try await waitFor(node, seconds: 30) { $0.serving.synchronized }
        let ntpPort = try await node.port(of: "127.0.0.1")
        for _ in 0..<3 { _ = try NTPQueryClient(server: .init(host: "127.0.0.1", port: ntpPort)).query() }
        let client = try await client(node)

        let tracking = try await client.get(AdminPath.tracking, as: AdminTracking.self)
        XCTAssertEqual(tracking.serving.stratum, 3)
        XCTAssertEqual(tracking.tracking?.selected?.name, "127.0.0.1:\(port)")
        XCTAssertEqual(tracking.tracking?.stratum, 3)

        let sources = try await client.get(AdminPath.sources, as: AdminSources.self)
        XCTAssertEqual(sources.sources.map(\.id.name), ["127.0.0.1:\(port)"])
        XCTAssertEqual(sources.sources.first?.state, .selected)
        let stats = try await client.get(AdminPath.sourceStats, as: AdminSources.self)
        XCTAssertGreaterThan(stats.sources.first?.samples ?? 0, 0)

        let server = try await client.get(AdminPath.serverStats, as: AdminServerStats.self)
        XCTAssertGreaterThanOrEqual(server.ntp.received, 3)
        XCTAssertEqual(server.ntp.received, server.ntp.answered + server.ntp.droppedTotal)
        XCTAssertNotNil(server.ntske)

        let clients = try await client.get(AdminPath.clients, as: AdminClients.self)
        XCTAssertTrue(clients.tracked)
        XCTAssertEqual(clients.clients.first?.address, "127.0.0.1")
        XCTAssertGreaterThanOrEqual(clients.clients.first?.requests ?? 0, 3)

        let gps = try await client.get(AdminPath.gps, as: AdminGPS.self)
        XCTAssertEqual(gps.refclocks, [], "no refclock configured")

        let keys = try await client.get(AdminPath.keys, as: AdminKeys.self)
        XCTAssertEqual(keys.symmetric, [NodeStatus.SymmetricKey(id: 1, type: "SHA256", bits: 256)])
        XCTAssertEqual(keys.cookie.map(\.state), [.current])
        let raw = try await client.request("GET", AdminPath.keys)
        XCTAssertFalse(String(decoding: raw.body, as: UTF8.self).contains("abab"), "never key material")
        let cookieFile = try String(contentsOfFile: directory.appendingPathComponent("cookie-keys").path, encoding: .utf8)
        let material = String(try XCTUnwrap(cookieFile.split(separator: "\n").last?.split(separator: " ").last))
        XCTAssertFalse(String(decoding: raw.body, as: UTF8.self).contains(material), "never cookie key material")

        let certificates = try await client.get(AdminPath.certificates, as: AdminCertificates.self)
        XCTAssertEqual(certificates.nts?.sha256, try nts.fingerprint())
        XCTAssertEqual(certificates.nts?.subjectAlternativeNames, ["DNS:localhost", "IP:127.0.0.1", "IP:::1"])
        XCTAssertEqual(certificates.nts?.subject, "CN=localhost")
        XCTAssertEqual(certificates.admin?.sha256, try pki.fingerprint(directory.appendingPathComponent("node-admin-cert.pem").path))
        XCTAssertGreaterThan(certificates.nts?.notAfter ?? 0, Int64(Date().timeIntervalSince1970) + 86_400)

        let health = try await client.get(AdminPath.health, as: AdminHealth.self)
        XCTAssertEqual(health.verdict, .ok, "\(health)")

        // Unknown paths, wrong methods and bad bodies get JSON errors.
        let missing = try await client.request("GET", "/v1/nothing")
        XCTAssertEqual(missing.status, 404)
        XCTAssertEqual(try AdminErrorBody(json: missing.body).code, "not_found")
        let wrongMethod = try await client.request("DELETE", AdminPath.tracking)
        XCTAssertEqual(wrongMethod.status, 405)
        let badBody = try await client.request("POST", AdminPath.cookieKeyActivate, body: Array("{\"id\": \"seven\"}".utf8))
        XCTAssertEqual(badBody.status, 400)
        XCTAssertTrue(try AdminErrorBody(json: badBody.body).error.contains("id"), String(decoding: badBody.body, as: UTF8.self))
        let oversized = try await client.request("PUT", AdminPath.ntsCertificate, body: Array(repeating: 0x20, count: AdminServer.maximumBody + 1))
        XCTAssertEqual(oversized.status, 413)
        XCTAssertEqual(try AdminErrorBody(json: oversized.body).code, "too_large")

        // The fleetctl executable, credentials by options and by environment.
        let fleetctl = NodeProcess.binDirectory.appendingPathComponent("fleetctl").path
        let listener = try await node.adminListener()
        let options = ["--cert", credentials.certificate, "--key", credentials.privateKey, "--ca", credentials.ca]
        let trackingText = try ExternalTool.run(fleetctl, ["tracking", listener] + options)
        XCTAssertEqual(trackingText.status, 0, trackingText.stderr)
        XCTAssertTrue(trackingText.stdout.contains("Stratum         : 3"), trackingText.stdout)
        XCTAssertTrue(trackingText.stdout.contains("Leap status     : Normal"), trackingText.stdout)
        let sourcesText = try ExternalTool.run(fleetctl, ["sources", "-v", listener] + options)
        XCTAssertEqual(sourcesText.status, 0, sourcesText.stderr)
        XCTAssertTrue(sourcesText.stdout.contains("Source state '*' = current best"), sourcesText.stdout)
        XCTAssertTrue(sourcesText.stdout.contains("* 127.0.0.1:\(port)"), sourcesText.stdout)
        let statsText = try ExternalTool.run(fleetctl, ["sourcestats", listener] + options)
        XCTAssertTrue(statsText.stdout.hasPrefix("Name/IP Address            NP"), statsText.stdout)
        let serverText = try ExternalTool.run(fleetctl, ["serverstats", listener] + options)
        XCTAssertTrue(serverText.stdout.contains("NTP packets received        : "), serverText.stdout)
        XCTAssertTrue(serverText.stdout.contains("NTS-KE sessions established : 0"), serverText.stdout)
        XCTAssertTrue(serverText.stdout.hasSuffix("Admin API handshakes refused: 0\n"), serverText.stdout)
        let json = try runWithEnvironment(fleetctl, ["serverstats", "--json", listener], [
            AdminCredentials.certificateVariable: credentials.certificate, AdminCredentials.privateKeyVariable: credentials.privateKey,
            AdminCredentials.caVariable: credentials.ca,
        ])
        XCTAssertEqual(json.status, 0, json.stderr)
        let parsed = try AdminServerStats(json: Array(json.stdout.utf8))
        XCTAssertGreaterThanOrEqual(parsed.ntp.received, 3)
        let noCredentials = try runWithEnvironment(fleetctl, ["tracking", listener], [:])
        XCTAssertEqual(noCredentials.status, 2)
        XCTAssertTrue(noCredentials.stderr.contains("missing --cert"), noCredentials.stderr)
    }

    /// Runs `executable` with only `environment` (plus PATH).
    func runWithEnvironment(_ executable: String, _ arguments: [String], _ environment: [String: String]) throws -> ToolResult {
        let env = try ExternalTool.require("env", package: "coreutils")
        let pairs = environment.map { "\($0.key)=\($0.value)" }
        return try ExternalTool.run(env, ["-i", "PATH=/usr/bin:/bin"] + pairs + [executable] + arguments)
    }

    /// `/v1/gps` and `/v1/health` on a node whose gpsd is not there and whose PPS device is missing: both
    /// refclocks reported with their state, and the verdict names each.
    func testGPSStateAndHealthReasons() async throws {
        let node = try await NodeProcess(config: """
            [local]
            stratum = 1
            [ntp]
            listen = ["127.0.0.1:0"]
            [[refclock]]
            name = "GPS"
            driver = "gpsd"
            gpsd = "127.0.0.1:\(freeLoopbackPort())"
            [[refclock]]
            name = "PPS"
            driver = "pps"
            device = "/dev/pps7"
            lock = "GPS"
            \(adminTable)
            """)
        defer { node.stop() }
        let client = try await client(node)
        try await waitFor(node) { status in
            (status.timekeeping?.refclocks.first { $0.name == "PPS" }?.note ?? "").contains("/dev/pps7")
        }
        let gps = try await client.get(AdminPath.gps, as: AdminGPS.self)
        XCTAssertEqual(gps.refclocks.map(\.name), ["GPS", "PPS"])
        XCTAssertEqual(gps.refclocks.map(\.driver), ["gpsd", "pps"])
        XCTAssertEqual(gps.refclocks.map(\.connected), [false, false])
        XCTAssertTrue(gps.refclocks[1].note?.contains("/dev/pps7") ?? false, "\(gps)")
        let health = try await client.get(AdminPath.health, as: AdminHealth.self)
        XCTAssertEqual(health.verdict, .degraded)
        let reasons = health.reasons.map(\.message).joined(separator: "\n")
        XCTAssertTrue(reasons.contains("refclock GPS (gpsd) not connected"), reasons)
        XCTAssertTrue(reasons.contains("refclock PPS (pps) not connected"), reasons)
        XCTAssertTrue(reasons.contains("serving the local clock"), reasons)
    }
}

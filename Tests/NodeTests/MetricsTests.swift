import NetworkEdges
import NodeModels
import FleetCrypto
import Foundation
import NTSKE
import XCTest

/// `[metrics]`: the node's Prometheus endpoint, read by the official Python client's text parser
/// (`prometheus_client`, Debian's python3-prometheus-client), not by our own code.
final class MetricsTests: XCTestCase {
    func scrape(_ url: String) throws -> [String] { try PrometheusScrape.scrape(url) }

    func value(_ lines: [String], _ series: String) -> Double? { PrometheusScrape.value(lines, series) }

    func testPrometheusEndpointParsesWithTheRealParser() async throws {
        let directory = try NodeProcess.makeDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let port = freeLoopbackPort()
        let chrony = try ChronyProcess.server(in: directory, port: port)
        defer { chrony.stop() }
        let node = try await NodeProcess(config: """
            [metrics]
            listen = "127.0.0.1:0"
            [ntp]
            listen = ["127.0.0.1:0"]
            [[server]]
            address = "127.0.0.1:\(port)"
            minpoll = 0
            maxpoll = 0
            """)
        defer { _ = node.stop() }
        try await waitFor(node, seconds: 30) { $0.serving.synchronized && $0.metricsListener != nil }
        let status = try await node.status()
        let listener = try XCTUnwrap(status.metricsListener)
        let ntpPort = try await node.port(of: "127.0.0.1")
        _ = try NTPQueryClient(server: .init(host: "127.0.0.1", port: ntpPort)).query()
        try await Task.sleep(for: .seconds(1.5))  // a time-service update after the query

        let lines = try scrape("http://\(listener)/metrics")
        let source = "127.0.0.1:\(port)"
        XCTAssertEqual(value(lines, "fleetnode_synchronized{}"), 1, lines.joined(separator: "\n"))
        XCTAssertEqual(value(lines, "fleetnode_stratum{}"), 3)
        XCTAssertEqual(value(lines, "fleetnode_source_selected{source=\(source)}"), 1)
        XCTAssertGreaterThan(value(lines, "fleetnode_source_reach{source=\(source)}") ?? 0, 0)
        XCTAssertNotNil(value(lines, "fleetnode_clock_frequency_ratio{}"))
        XCTAssertNotNil(value(lines, "fleetnode_clock_error_bound_seconds{}"))
        XCTAssertGreaterThanOrEqual(value(lines, "fleetnode_ntp_received_total{}") ?? 0, 1)
        XCTAssertGreaterThanOrEqual(value(lines, "fleetnode_ntp_answered_total{}") ?? 0, 1)

        // Anything but GET /metrics is refused.
        let python = "/usr/bin/python3"
        let probe = try ExternalTool.run(python, ["-c", """
            import urllib.request, urllib.error
            try:
                urllib.request.urlopen("http://\(listener)/other", timeout=5)
            except urllib.error.HTTPError as error:
                print(error.code)
            """], timeout: 20)
        XCTAssertEqual(probe.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "404")
    }

    /// NTS-KE sessions, the certificate's seconds to expiry and the cookie master key's age.
    func testNTSMetrics() async throws {
        let directory = try NodeProcess.makeDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let certificate = try TestCertificate.make(in: directory)
        let node = try await NodeProcess(config: """
            [local]
            stratum = 1
            [metrics]
            listen = "127.0.0.1:0"
            [ntp]
            listen = ["127.0.0.1:0"]
            \(certificate.ntsTable(keyFile: directory.appendingPathComponent("keys/cookie-keys").path))
            """)
        defer { _ = node.stop() }
        let kePort = try await node.ntsKEPort()
        let trust = try TLSContext.client(trustedCertificates: certificate.certificate, alpn: NTSKEServer.alpn)
        let client = NTSTimeClient(configuration: .init(host: "127.0.0.1", kePort: kePort, trust: trust, ciphers: NettleCipherFactory()))
        _ = try await client.query()
        try await waitFor(node) { $0.metricsListener != nil && ($0.nts?.ntske.keysEstablished ?? 0) >= 1 }
        try await Task.sleep(for: .seconds(2.5))  // the control-plane sample runs every 2 s
        let status = try await node.status()
        let lines = try scrape("http://\(try XCTUnwrap(status.metricsListener))/metrics")
        XCTAssertGreaterThanOrEqual(value(lines, "fleetnode_ntske_sessions_total{}") ?? 0, 1, lines.joined(separator: "\n"))
        XCTAssertGreaterThan(value(lines, "fleetnode_certificate_expiry_seconds{}") ?? 0, 86_400, "the test certificate lasts days")
        XCTAssertGreaterThanOrEqual(value(lines, "fleetnode_nts_cookie_keys{}") ?? 0, 1)
        XCTAssertGreaterThanOrEqual(value(lines, "fleetnode_nts_cookie_key_age_seconds{}") ?? -1, 0)
        XCTAssertGreaterThanOrEqual(value(lines, "fleetnode_ntp_nts_authenticated_total{}") ?? 0, 1)
    }
}

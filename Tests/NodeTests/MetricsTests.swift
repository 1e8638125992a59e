import Fleet
import Foundation
import XCTest

/// `[metrics]`: the node's Prometheus endpoint, read by the official Python client's text parser
/// (`prometheus_client`, Debian's python3-prometheus-client), not by our own code.
final class MetricsTests: XCTestCase {
    /// Fetches `url` and parses it with prometheus_client; returns "name{label=value,...} value" lines.
    func scrape(_ url: String) throws -> [String] {
        let python = "/usr/bin/python3"
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw XCTSkip("no \(python)")
        }
        let script = """
            import sys, urllib.request
            from prometheus_client.parser import text_string_to_metric_families
            with urllib.request.urlopen(sys.argv[1], timeout=5) as response:
                assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4"), response.headers["Content-Type"]
                text = response.read().decode()
            for family in text_string_to_metric_families(text):
                for sample in family.samples:
                    labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
                    print(f"{sample.name}{{{labels}}} {sample.value}")
            """
        let result = try ExternalTool.run(python, ["-c", script, url], timeout: 20)
        XCTAssertEqual(result.status, 0, "prometheus_client could not parse the metrics (install python3-prometheus-client): \(result.stderr)")
        return result.stdout.split(separator: "\n").map(String.init)
    }

    func value(_ lines: [String], _ series: String) -> Double? {
        lines.first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
    }

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
}

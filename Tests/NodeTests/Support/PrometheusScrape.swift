import Foundation
import XCTest

/// Reads a node's Prometheus endpoint with the official Python client's text parser (`prometheus_client`,
/// Debian's python3-prometheus-client), not with our own code.
enum PrometheusScrape {
    /// Fetches `url` and parses it with prometheus_client; returns "name{label=value,...} value" lines.
    static func scrape(_ url: String) throws -> [String] {
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

    static func value(_ lines: [String], _ series: String) -> Double? {
        lines.first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
    }
}

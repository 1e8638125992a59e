import Foundation
import GPSTestSupport
import NodeModels
import XCTest
@testable import Node

/// A reference clock that stops and one that jitters wildly, on a real `fleetnode` reading an NTP
/// shared-memory segment (the interface gpsd hands its PPS and serial time to NTP servers through; there is
/// no /dev/pps here), written by the test. gpsd killed and restarted is in `GPSSourceTests`.
final class ReferenceClockFaultTests: XCTestCase {
    /// SHM unit of this test's clock (the sibling tests use 5-9).
    static let unit = 10

    private func node(with feeder: SHMFeeder) async throws -> NodeProcess {
        try await NodeProcess(config: """
            [ntp]
            listen = ["127.0.0.1:0"]
            [metrics]
            listen = "127.0.0.1:0"
            [[refclock]]
            name = "PPS"
            driver = "shm"
            unit = \(feeder.unit)
            poll = 1
            """)
    }

    /// The pulses stop: the node says the clock is silent (health, metric, status, one log line), holds over
    /// at stratum 1 with a dispersion that grows, and clears when the pulses return.
    func testStoppedClockIsReportedSilentAndClears() async throws {
        let feeder = try SHMFeeder(unit: Self.unit)
        defer { feeder.stop() }
        let node = try await node(with: feeder)
        defer { node.stop() }
        try await waitFor(node, seconds: 30) { $0.serving.synchronized && $0.timekeeping?.tracking.selected?.name == "PPS" }
        let before = try await node.status()
        let logStart = node.log.count

        feeder.setRunning(false)
        try await waitFor(node, seconds: 20) { status in
            AdminHealth(status: status, now: Int64(Date().timeIntervalSince1970)).reasons.contains { $0.fault == "refclock-silent:PPS" }
        }
        let silent = try await node.status()
        let health = AdminHealth(status: silent, now: Int64(Date().timeIntervalSince1970))
        XCTAssertEqual(health.verdict, .degraded, "\(health)")
        XCTAssertTrue(silent.serving.synchronized, "holdover keeps serving")
        XCTAssertEqual(silent.serving.stratum, 1)
        XCTAssertEqual(silent.serving.leap, 0)
        try await Task.sleep(for: .seconds(3))
        let later = try await node.status()
        XCTAssertGreaterThan(later.serving.rootDispersionSeconds, silent.serving.rootDispersionSeconds, "the error bound grows while the clock is silent")
        XCTAssertTrue(StatusReport.text(silent).contains("refclock PPS (shm) silent for"), StatusReport.text(silent))
        try await Task.sleep(for: .seconds(2.5))
        let listener = try XCTUnwrap(silent.metricsListener)
        let metrics = try PrometheusScrape.scrape("http://\(listener)/metrics")
        XCTAssertGreaterThan(PrometheusScrape.value(metrics, "fleetnode_refclock_last_report_age_seconds{refclock=PPS}") ?? 0, 10)
        XCTAssertEqual(PrometheusScrape.value(metrics, "fleetnode_health_fault{fault=refclock-silent,subject=PPS}"), 1)
        XCTAssertEqual(String(node.log.dropFirst(logStart)).components(separatedBy: "health: refclock PPS (shm) silent").count - 1, 1, node.log)

        feeder.setRunning(true)
        try await waitFor(node, seconds: 20) { status in
            !AdminHealth(status: status, now: Int64(Date().timeIntervalSince1970)).reasons.contains { $0.fault == "refclock-silent:PPS" }
                && status.timekeeping?.tracking.selected?.name == "PPS"
        }
        try await node.waitForLogLine(after: logStart, containing: "health: fault cleared", "refclock-silent:PPS")
        print("reference clock stopped: \(health.reasons.map(\.message)); root dispersion \(before.serving.rootDispersionSeconds) s while fed, \(silent.serving.rootDispersionSeconds) -> \(later.serving.rootDispersionSeconds) s 3 s apart while silent")
    }

    /// The clock jitters wildly, ±300 ms and then ±1 s (a new offset every 0.3 s): health says so, the node
    /// stops following it (`~`, beyond the 50 ms an SHM clock shows when it works) and holds over at stratum 1
    /// on what it learned while the clock was steady; at every status sample the served time is within the
    /// bound it publishes (root dispersion + root delay / 2) or the node does not claim synchronisation; and
    /// it follows the clock again by itself, and clears, when the clock is steady again.
    func testWildlyJitteringClockIsReportedAndClears() async throws {
        let feeder = try SHMFeeder(unit: Self.unit + 1)
        defer { feeder.stop() }
        let node = try await node(with: feeder)
        defer { node.stop() }
        try await waitFor(node, seconds: 30) { $0.serving.synchronized && $0.timekeeping?.tracking.selected?.name == "PPS" }
        let steady = try await node.status()
        var figures: [String] = []
        for (label, amplitude) in [("±300 ms", Int64(300_000_000)), ("±1 s", Int64(1_000_000_000))] {
            let logStart = node.log.count
            let jitter = Task {
                while !Task.isCancelled {
                    feeder.setOffset(nanoseconds: Int64.random(in: -amplitude...amplitude))
                    try? await Task.sleep(for: .milliseconds(300))
                }
            }
            defer { jitter.cancel() }
            try await waitFor(node, seconds: 30) { status in
                AdminHealth(status: status, now: Int64(Date().timeIntervalSince1970)).reasons.contains { $0.fault == "refclock-jitter:PPS" }
            }
            let wild = try await node.status()
            let health = AdminHealth(status: wild, now: Int64(Date().timeIntervalSince1970))
            if amplitude == 300_000_000 {
                // The fault gauge follows the health monitor, which samples every 2 s: scraped while the fault stands.
                let listener = try XCTUnwrap(wild.metricsListener)
                var metrics = try PrometheusScrape.scrape("http://\(listener)/metrics")
                for _ in 0..<12 where PrometheusScrape.value(metrics, "fleetnode_health_fault{fault=refclock-jitter,subject=PPS}") != 1 {
                    try await Task.sleep(for: .milliseconds(500))
                    metrics = try PrometheusScrape.scrape("http://\(listener)/metrics")
                }
                XCTAssertGreaterThan(PrometheusScrape.value(metrics, "fleetnode_source_jitter_seconds{source=PPS}") ?? 0, 0.05, metrics.filter { $0.contains("jitter") }.joined(separator: "\n"))
                XCTAssertEqual(PrometheusScrape.value(metrics, "fleetnode_health_fault{fault=refclock-jitter,subject=PPS}"), 1)
            }
            // The served time's real error (the feeder's mean is the system clock, which the software clock
            // serves with `offsetSeconds` added) against what the node publishes (root dispersion + delay / 2).
            var worst = (error: 0.0, bound: 0.0)
            var followed = 0
            for _ in 0..<10 {
                let sample = try await node.status()
                let error = abs(sample.clock.offsetSeconds)
                let bound = sample.serving.rootDispersionSeconds + sample.serving.rootDelaySeconds / 2
                XCTAssertTrue(
                    !sample.serving.synchronized || error <= bound,
                    "\(label): served error \(error) s outside the published bound \(bound) s; tracking \(String(describing: sample.timekeeping?.tracking)); "
                        + "sources \(String(describing: sample.timekeeping?.sources)); log since the jitter began: \(node.log.dropFirst(logStart))")
                XCTAssertEqual(sample.serving.leap == 3, !sample.serving.synchronized, "leap bits agree with synchronisation")
                if sample.timekeeping?.tracking.selected?.name == "PPS" { followed += 1 }
                if error >= worst.error { worst = (error, bound) }
                try await Task.sleep(for: .milliseconds(500))
            }
            XCTAssertLessThanOrEqual(followed, 1, "\(label): the jittering clock is not followed")
            XCTAssertEqual(health.verdict, .degraded, "\(health)")
            let text = StatusReport.text(wild)
            XCTAssertTrue(text.contains("jitters") && text.contains("not followed until it steadies"), text)
            XCTAssertTrue(wild.serving.synchronized && wild.serving.stratum == 1, "\(label): holding over at stratum 1: \(text)")
            let pps = wild.timekeeping?.sources.first { $0.id.name == "PPS" }
            // `~`, or `?` while samples scattered beyond the jump threshold are held (±1 s): jittery either way.
            XCTAssertTrue(pps?.state != .selected && pps?.note?.hasPrefix("jittery: jitter") == true, "\(label): \(pps?.note ?? "-")")
            XCTAssertEqual(String(node.log.dropFirst(logStart)).components(separatedBy: "health: source PPS (shm) jitters").count - 1, 1, node.log)

            jitter.cancel()
            feeder.setOffset(nanoseconds: 0)
            try await waitFor(node, seconds: 60) { status in
                !AdminHealth(status: status, now: Int64(Date().timeIntervalSince1970)).reasons.contains { $0.fault == "refclock-jitter:PPS" }
                    && status.timekeeping?.tracking.selected?.name == "PPS"
            }
            try await node.waitForLogLine(after: logStart, containing: "health: fault cleared", "refclock-jitter:PPS")
            let calm = try await node.status()
            XCTAssertLessThan(abs(calm.clock.offsetSeconds), 0.01, "\(label): back on the steady clock")
            figures.append("\(label): worst served error \(worst.error) s against a published bound of \(worst.bound) s; \(health.reasons.map(\.message)); "
                + "root dispersion \(steady.serving.rootDispersionSeconds) -> \(wild.serving.rootDispersionSeconds) -> \(calm.serving.rootDispersionSeconds) s")
        }
        print("reference clock jittering: \(figures.joined(separator: "; "))")
    }
}

import Foundation
import Logging
import NodeModels
import XCTest
@testable import Node

/// The health monitor logs a fault once when it appears, again only when its severity changes, and once when
/// it has been gone for two samples, so a figure hovering at a threshold does not log at every crossing.
final class HealthMonitorTests: XCTestCase {
    private func status(unreachableSibling: Bool) -> NodeStatus {
        var status = NodeStatus(
            name: "n", version: "0", uptimeSeconds: 1, clock: .init(driver: "software", offsetSeconds: 0, frequencyPPM: 0, precision: -20),
            serving: .init(synchronized: true, source: "GPS", leap: 0, stratum: 1, referenceID: "GPS", rootDelaySeconds: 0, rootDispersionSeconds: 1e-6),
            listeners: [], ntp: ServerCounters(), busiestClients: [], rateLimiting: false, configReloads: 0)
        status.siblings = [NodeStatus.Sibling(name: "192.0.2.12", address: "192.0.2.12", port: 123, sendKey: 1, acceptedKeys: [1],
                                              consecutiveFailures: unreachableSibling ? 3 : 0, failingSince: unreachableSibling ? 0 : nil)]
        return status
    }

    func testAFaultIsLoggedOnceAndClearsAfterTwoSamplesWithoutIt() {
        let log = CollectedLog()
        let monitor = HealthMonitor(logger: Logger(label: "test") { _ in CollectedLog.Handler(log: log) })
        XCTAssertTrue(monitor.observe(status(unreachableSibling: false)).raised.isEmpty)
        XCTAssertEqual(monitor.observe(status(unreachableSibling: true)).raised.map(\.fault), ["sibling-unreachable:192.0.2.12"])
        XCTAssertTrue(monitor.observe(status(unreachableSibling: true)).raised.isEmpty, "still there: not logged again")
        XCTAssertTrue(monitor.observe(status(unreachableSibling: false)).cleared.isEmpty, "gone from one sample only")
        XCTAssertTrue(monitor.observe(status(unreachableSibling: true)).raised.isEmpty, "back before it cleared: not raised again")
        XCTAssertTrue(monitor.observe(status(unreachableSibling: false)).cleared.isEmpty)
        XCTAssertEqual(monitor.observe(status(unreachableSibling: false)).cleared, ["sibling-unreachable:192.0.2.12"])
        XCTAssertTrue(monitor.observe(status(unreachableSibling: false)).cleared.isEmpty, "cleared once")
        XCTAssertEqual(log.count("health: sibling 192.0.2.12 unreachable"), 1, "\(log.messages)")
        XCTAssertEqual(log.count("health: fault cleared"), 1, "\(log.messages)")
    }
}

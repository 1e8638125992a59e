@testable import NodeModels
import NTPCore
@testable import TimeCore
import XCTest

/// The tracking and sources views must not contradict what clients are served, and print chronyc's units.
final class TimekeepingTextTests: XCTestCase {
    func tracking(synchronized: Bool, holdover: Double?, selected: SourceID? = nil, reason: String? = nil, heldStep: Double? = nil) -> TrackingReport {
        TrackingReport(
            selected: selected, referenceID: synchronized ? 0x4750_5300 : 0, stratum: synchronized ? 1 : 16, leap: synchronized ? 0 : 3,
            synchronized: synchronized, lastOffset: 1.5e-6, rmsOffset: 2e-6, frequencyPPM: -3.25, skewPPM: 0.01, rootDelay: 0,
            rootDispersion: 1e-6, lastUpdateAge: 2, updateInterval: 1, holdoverSeconds: holdover, errorBound: 0.0125,
            updates: 10, steps: 1, reason: reason, floor: 1_796_083_200, floorOrigin: "build date", heldStep: heldStep)
    }

    func testHoldoverWithinAndBeyondTheLimit() {
        let within = TimekeepingText.tracking(tracking(synchronized: true, holdover: 30)).joined(separator: "\n")
        XCTAssertTrue(within.contains("Holdover        : 30 seconds, error bound 0.012500000 seconds"), within)
        let beyond = TimekeepingText.tracking(tracking(synchronized: false, holdover: 90_000)).joined(separator: "\n")
        XCTAssertTrue(beyond.contains("Holdover        : 90000 seconds, beyond the holdover limit: unsynchronised"), beyond)
        XCTAssertFalse(beyond.contains("error bound 0.0125"), "no bound is claimed while clients get leap 3: \(beyond)")
        XCTAssertTrue(beyond.contains("Leap status     : Not synchronised"), beyond)
    }

    func testUnsynchronisedClaimsNoBoundAndShowsTheFloor() {
        let text = TimekeepingText.tracking(tracking(synchronized: false, holdover: nil, reason: "first step of +7200.000 s held", heldStep: 7_200)).joined(separator: "\n")
        XCTAssertTrue(text.contains("Error bound     : unknown (unsynchronised)"), text)
        XCTAssertTrue(text.contains("Selected source : none (first step of +7200.000 s held)"), text)
        XCTAssertTrue(text.contains("Floor           : 2026-12-01 00:00:00 UTC (build date)"), text)
        XCTAssertTrue(text.contains("Frequency       : 3.250 ppm slow"), text)
    }

    func testLargeOffsetsPrintWholeSeconds() {
        XCTAssertEqual(TimekeepingText.shortTime(-619_315_200), "-619315200s")
        XCTAssertEqual(TimekeepingText.shortTime(1.25), "+1.2s")
        XCTAssertEqual(TimekeepingText.shortTime(0.000_123), "+123us")
        XCTAssertEqual(TimekeepingText.shortTime(-1e300), "-\(1e300)s", "no trap")
    }
}

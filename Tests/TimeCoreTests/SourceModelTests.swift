import NTPCore
import TimeCore
import XCTest

final class SourceModelTests: XCTestCase {
    func testRootDistanceGrowsWithAge() {
        let estimate = SourceEstimate(
            id: SourceID("PPS"), kind: .pps, offset: 0, localTime: 0, delay: 0.002, dispersion: 1e-6, jitter: 2e-6,
            rootDelay: 0.004, rootDispersion: 0.001, sampleCount: 8, reach: 0o377)
        XCTAssertEqual(estimate.rootDistance(at: 0), 0.003 + 0.001 + 1e-6 + 2e-6, accuracy: 1e-12)
        XCTAssertEqual(estimate.rootDistance(at: 1_000_000_000) - estimate.rootDistance(at: 0), 15e-6, accuracy: 1e-12)
        XCTAssertEqual(SourceState.falseticker.symbol, "x")
    }
}

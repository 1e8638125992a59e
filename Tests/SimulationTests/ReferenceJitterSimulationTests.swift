import Foundation
import NTPCore
import TimeCore
import TimeSimulation
import XCTest

/// A lone reference clock that jitters wildly, and one that wanders slowly, through the node's own
/// `TimeKeeper`: at every second, what clients are told is synchronised must lie within the bound they are
/// given (root delay / 2 + root dispersion), and the node must come back to its reference by itself once it
/// steadies.
final class ReferenceJitterSimulationTests: XCTestCase {
    static let start: Int64 = 1_790_000_000

    /// Uniform in [-amplitude, amplitude], a pure function of the second (claims are stateless closures).
    static func uniform(_ k: Int, _ amplitude: Double) -> Double {
        var random = SeededRandom(seed: UInt64(k) &* 0x2545_F491_4F6C_DD1D)
        return Double.random(in: -amplitude...amplitude, using: &random)
    }

    /// An SHM segment as gpsd's PPS fills it (1 µs samples), steady for 5 min, then jumping uniformly
    /// within ±300 ms (and ±1 s) every second for 5 min, then steady again: past its kind's jitter limit it
    /// is `~` and not followed, the node holds over at stratum 1 on what it learned while the clock was good
    /// (within its bound at every second), says why, and follows the clock again once it steadies.
    func testWildlyJitteringSHMIsHeldOverAndFollowedAgain() {
        for amplitude in [0.3, 1.0] {
            var scenario = TimescaleScenario(name: "shm ±\(amplitude) s", start: Self.start, duration: 1_000)
            scenario.gpsKind = .shm
            scenario.gpsJitter = 1e-6
            scenario.gpsDispersion = 1e-6
            scenario.gps = { $0 >= 300 && $0 < 600 ? ReferenceJitterSimulationTests.uniform($0, amplitude) : 0 }
            let result = TimescaleRunner(scenario: scenario).run()
            assertServed(result, 30..<300, stratum: 1, leap: .noWarning, maxError: 1e-4)
            // Held over within its bound while the clock scatters (the first few scattered samples are the
            // filter's outliers; then the source is `~`).
            assertServed(result, 300..<600, stratum: 1, leap: .noWarning, maxError: 1e-3)
            assertServed(result, 620..<1_000, stratum: 1, leap: .noWarning, maxError: 1e-4)
            assertHonest(result)
            let held = result.steps[310..<600].filter { $0.selected == nil }.count
            XCTAssertGreaterThan(held, 280, "±\(amplitude) s: not followed while it scatters")
            XCTAssertTrue(result.steps[620..<1_000].allSatisfy { $0.selected?.name == "GPS" }, "±\(amplitude) s: followed again")
            let jittery = result.steps[310..<600].compactMap(\.reason).first { $0.contains("jittery") }
            XCTAssertNotNil(jittery, "±\(amplitude) s: the reason says the clock jitters: \(result.steps[400].reason ?? "-")")
            print("shm ±\(amplitude) s: \(jittery ?? "-")")
        }
    }

    /// gpsd's TPV time has no jitter limit of its own (it is serial time, and numbers a PPS's seconds):
    /// scattering within ±300 ms it may still be followed, but only with a bound that covers the scatter.
    func testWildlyJitteringGPSIsServedWithinItsBound() {
        var scenario = TimescaleScenario(name: "gps ±0.3 s", start: Self.start, duration: 900)
        scenario.gps = { $0 >= 300 && $0 < 600 ? ReferenceJitterSimulationTests.uniform($0, 0.3) : 0 }
        let result = TimescaleRunner(scenario: scenario).run()
        assertServed(result, 30..<300, stratum: 1, leap: .noWarning)
        assertHonest(result)
        let synchronised = result.steps[300..<600].filter(\.state.isSynchronized)
        print("gps ±0.3 s: synchronised \(synchronised.count) of 300 s, max error \(synchronised.map { abs($0.error) }.max() ?? 0) s, "
            + "bound \(synchronised.map(\.clientBound).min() ?? 0)...\(synchronised.map(\.clientBound).max() ?? 0) s")
    }

    /// A lone GPS whose time wanders slowly (a receiver's serial delay drifting with temperature: ±10 ms over
    /// 20 min): the node follows it, and the bound holds against the GPS's own timeline (nothing can know
    /// better) at every second.
    func testSlowlyWanderingReferenceIsFollowedWithinItsBound() {
        let wander: @Sendable (Int) -> Double = { 0.01 * sin(2 * Double.pi * Double($0) / 1_200) }
        var scenario = TimescaleScenario(name: "wander", start: Self.start, duration: 2_400)
        scenario.gps = { wander($0) }
        let result = TimescaleRunner(scenario: scenario).run()
        XCTAssertTrue(result.steps[30...].allSatisfy { $0.state.stratum == 1 && $0.state.leap == .noWarning }, "stratum 1 throughout")
        assertHonest(result) { wander($0) }
        let lag = result.steps[30...].map { abs($0.error - wander($0.second)) }.max() ?? 0
        print("wander ±10 ms / 20 min: worst |served − GPS| \(lag) s, bound \(result.steps[30...].map(\.clientBound).min() ?? 0)...\(result.steps[30...].map(\.clientBound).max() ?? 0) s")
    }
}

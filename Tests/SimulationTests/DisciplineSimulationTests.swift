import NTPCore
import TimeCore
import TimeSimulation
import XCTest

/// The accuracy targets, asserted on seeded simulations run through the node's own `TimeKeeper`.
/// Figures per scenario are printed by `make accuracy` (Benchmarks/Accuracy).
final class DisciplineSimulationTests: XCTestCase {
    /// PPS numbered by NMEA, 20 ppm oscillator with wander and a temperature step: lock within 5 minutes,
    /// RMS error at most 100 ns once locked, and the published error bound always containing the true error.
    func testLocksToPPSWithinTargets() {
        let report = SimulationRunner(scenario: .pps).run()
        print(report)
        XCTAssertNotNil(report.lockTime)
        XCTAssertLessThanOrEqual(report.lockTime ?? .infinity, 300)
        XCTAssertLessThanOrEqual(report.rmsError, 100e-9)
        XCTAssertEqual(report.boundViolations, 0)
        XCTAssertEqual(report.finalStratum, 1)
        XCTAssertEqual(report.finalFrequencyPPM, report.trueFrequencyPPM, accuracy: 0.01)
    }

    /// An hour without GPS: the clock keeps its frequency, the true error stays under 50 µs, the bound grows
    /// honestly (never below the true error), and the node locks again when GPS returns.
    func testHoldsOverAnHourWithHonestBound() {
        let report = SimulationRunner(scenario: .holdover).run()
        print(report)
        XCTAssertEqual(report.holdoverErrors.count, 1)
        XCTAssertLessThan(report.holdoverErrors.first ?? .infinity, 50e-6)
        XCTAssertEqual(report.boundViolations, 0)
        XCTAssertEqual(report.strataDuringLoss, [1], "in holdover the node keeps serving at stratum 1 with a growing root dispersion")
        XCTAssertLessThanOrEqual(report.rmsError, 100e-9)
    }

    /// Four upstream servers, one 50 ms wrong: it is marked a falseticker and the clock follows the others.
    func testRejectsFalsetickerUpstream() {
        let report = SimulationRunner(scenario: .falseticker).run()
        print(report)
        XCTAssertGreaterThan(report.stateShares["liar"]?["x"] ?? 0, 0.9)
        XCTAssertLessThan(report.maxError, 1e-3)
        XCTAssertEqual(report.boundViolations, 0)
        XCTAssertEqual(report.finalStratum, 2)
    }

    /// With upstream servers configured, losing GPS falls back to them (stratum 2) instead of holding over.
    func testFallsBackToUpstreamWhenGPSIsLost() {
        let report = SimulationRunner(scenario: .fallback).run()
        print(report)
        XCTAssertEqual(report.strataDuringLoss, [2])
        XCTAssertEqual(report.finalStratum, 1)
        XCTAssertEqual(report.boundViolations, 0)
    }

    /// Someone steps the system clock by a second under a locked node: served time does not move (the local
    /// timescale is monotonic) and the one misplaced pulse is dropped or filtered.
    func testSystemClockStepUnderneathChangesNothing() {
        let report = SimulationRunner(scenario: .systemStep).run()
        print(report)
        XCTAssertLessThanOrEqual(report.maxError, 1e-6)
        XCTAssertEqual(report.boundViolations, 0)
    }

    /// An inserted leap second from the node's table: insert announced during the last day, nothing announced
    /// after, and served time repeats 23:59:59 exactly when UTC does (the error stays at nanoseconds).
    func testCarriesOutALeapSecond() {
        let report = SimulationRunner(scenario: .leapSecond).run()
        print(report)
        XCTAssertEqual(report.leapIndicators?.before, .insertSecond)
        XCTAssertEqual(report.leapIndicators?.after, .noWarning)
        XCTAssertLessThan(report.errorAroundLeap ?? .infinity, 1e-6)
        XCTAssertLessThan(report.maxError, 2e-6)
        XCTAssertEqual(report.boundViolations, 0)
    }

    func testSameSeedSameRun() {
        var scenario = SimulationScenario.pps
        scenario.duration = 600
        let first = SimulationRunner(scenario: scenario).run()
        let second = SimulationRunner(scenario: scenario).run()
        XCTAssertEqual(first.rmsError, second.rmsError)
        XCTAssertEqual(first.finalFrequencyPPM, second.finalFrequencyPPM)
    }
}

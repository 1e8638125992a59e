import NTPCore
import TimeCore
import TimeSimulation
import XCTest

/// What every timescale scenario asserts about what clients are served, shared by the scenario suites.
extension XCTestCase {
    /// At every second of `range`: the served stratum and leap bits, |served − true| within `maxError`, and,
    /// whenever clients are told the time is synchronised, |served − true| within the published error bound
    /// (root delay / 2 + root dispersion, as a client computes it from the packet). `referenceError`: what
    /// the reference itself is off by, when it is wrong with nothing to tell (a lone GPS that is 1 s off from
    /// its first sample): the bound is then checked against the reference's timeline, which is all the node
    /// can know.
    func assertServed(
        _ result: TimescaleRunner.Result, _ range: Range<Int>, stratum: UInt8, leap: LeapIndicator, maxError: Double = 0.01,
        referenceError: Double = 0, line: UInt = #line
    ) {
        var failures = 0
        let synchronised = result.steps[range].filter(\.state.isSynchronized)
        let worst = synchronised.map { abs($0.error - referenceError) / $0.errorBound }.max() ?? 0
        print("\(name) seconds \(range): worst |error| / bound \(worst), max |error| \(result.steps[range].map { abs($0.error) }.max() ?? 0) s, "
            + "bound \(synchronised.map(\.errorBound).min() ?? 0)...\(synchronised.map(\.errorBound).max() ?? 0) s")
        for step in result.steps[range] where failures < 3 {
            var problems: [String] = []
            if step.state.stratum != stratum { problems.append("stratum \(step.state.stratum) != \(stratum)") }
            if step.state.leap != leap { problems.append("leap \(step.state.leap) != \(leap)") }
            if abs(step.error) > maxError { problems.append("error \(step.error) beyond \(maxError)") }
            if step.state.isSynchronized, abs(step.error - referenceError) > min(step.errorBound, step.clientBound) + 1e-9 {
                problems.append("error \(step.error) beyond the published bound \(step.errorBound) (clients: \(step.clientBound))")
            }
            // Across a leap second a client sees one second less since the reference time (UTC repeats one):
            // its bound is smaller by the dispersion rate times a second, a few µs (and the stricter one is
            // what the error is checked against above).
            if step.state.isSynchronized, abs(step.errorBound - step.clientBound) > 1e-5 {
                problems.append("status bound \(step.errorBound) is not what clients compute, \(step.clientBound)")
            }
            if !problems.isEmpty {
                failures += 1
                XCTFail("second \(step.second): \(problems.joined(separator: ", ")) (selected \(step.selected?.name ?? "-"), reason \(step.reason ?? "-"))", line: line)
            }
        }
    }

    /// Every second of the run, whatever the phase: served as synchronised only within the published bound.
    func assertHonest(_ result: TimescaleRunner.Result, referenceError: (Int) -> Double = { _ in 0 }, line: UInt = #line) {
        let liars = result.steps.filter {
            $0.state.isSynchronized && abs($0.error - referenceError($0.second)) > min($0.errorBound, $0.clientBound) + 1e-9
        }
        XCTAssertTrue(liars.isEmpty, "served as synchronised outside the published bound at seconds \(liars.prefix(5).map(\.second)): "
            + "\(liars.prefix(5).map { "error \($0.error) bound \($0.errorBound)" })", line: line)
    }
}

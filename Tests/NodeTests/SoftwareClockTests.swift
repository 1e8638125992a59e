import XCTest
@testable import Node

/// The software clock's mapping between CLOCK_REALTIME and its local timescale (CLOCK_MONOTONIC_RAW based):
/// every reading pair is bracketed, so a preemption between two clock reads cannot become an offset.
final class SoftwareClockTests: XCTestCase {
    /// Two fake clocks 1,000 s apart, each reading advancing them by 10 ns; one try in the middle is slowed by
    /// 5 ms between its first raw reading and the realtime one (a preemption). The tightest bracket wins and
    /// the difference comes out exact (read unbracketed, the preempted try would be 5 ms off).
    func testTheTightestBracketWinsOverAPreemptedReading() {
        var now: Int64 = 0
        var reads = 0
        let difference = SoftwareClock.bracketedDifference(
            tries: 3, goodEnough: 0,
            raw: {
                now += 10
                reads += 1
                let reading = now
                // The first try is preempted right after its first raw reading.
                if reads == 1 { now += 5_000_000 }
                return reading
            },
            real: {
                now += 10
                return now + 1_000_000_000_000
            })
        XCTAssertEqual(difference, 1_000_000_000_000)

        // Every try preempted alike: the realtime reading is taken as at the middle of its bracket, so the error
        // is at most half the bracket (here the realtime reading comes 5 ms into a bracket of 5 ms: off by 2.5 ms).
        var slow: Int64 = 0
        let preempted = SoftwareClock.bracketedDifference(
            tries: 3, goodEnough: 0,
            raw: {
                slow += 10
                return slow
            },
            real: {
                slow += 5_000_000
                return slow + 1_000_000_000_000
            })
        XCTAssertLessThanOrEqual(abs(preempted - 1_000_000_000_000), 2_500_010)
    }

    /// A bracket at or under `goodEnough` stops the tries at once (the per-batch mapping reads three clocks, not nine).
    func testAGoodEnoughBracketStopsEarly() {
        var raws = 0
        _ = SoftwareClock.bracketedDifference(tries: 3, goodEnough: 2_000, raw: { raws += 1; return Int64(raws) * 100 }, real: { 0 })
        XCTAssertEqual(raws, 2)
    }

    /// On the real clocks: a system reading mapped onto the local timescale falls between local readings taken
    /// just before and after it, and a fresh clock with no correction serves the system clock's time.
    func testSystemReadingsMapBetweenLocalReadings() {
        let clock = SoftwareClock()
        var worst: Int64 = 0
        for _ in 0..<2_000 {
            let before = clock.localNow()
            let mapped = clock.local(fromSystem: SoftwareClock.systemNow())
            let after = clock.localNow()
            // 1 µs of slack: CLOCK_REALTIME and CLOCK_MONOTONIC_RAW tick at rates a few ppm apart since start.
            XCTAssertGreaterThanOrEqual(mapped, before - 1_000)
            XCTAssertLessThanOrEqual(mapped, after + 1_000)
            worst = max(worst, max(before - mapped, mapped - after))
        }
        XCTAssertLessThan(abs(clock.correction.offset), 1e-4, "no correction yet: served time is the system clock's")
        print("software clock: system readings mapped at most \(worst) ns outside their local bracket")
    }
}

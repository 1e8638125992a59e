import NTPCore
import TimeCore
import XCTest

// Passing a leap second: step and smear, insertion and deletion, exact boundaries, monotonic smears, the
// indicator served in each mode, and several leaps in a row.

private let oneSecondNs = UnixTime.nanosecondsPerSecond

private func naiveTime(_ seconds: Int64, _ nanoseconds: UInt32 = 0) -> UnixTime {
    UnixTime(seconds: seconds, nanoseconds: nanoseconds)
}

final class LeapAdjustmentTests: XCTestCase {
    let insertion = LeapEvent(unix: leap2017, insert: true)
    let deletion = LeapEvent(unix: leapJan2018, insert: false)

    func testStepInsertionRepeats235959() {
        let adjustment = LeapAdjustment(leaps: [insertion], mode: .step)
        let m = leap2017
        XCTAssertEqual(adjustment.correction(atNaive: naiveTime(m - 1, 999_999_999)), 0)
        XCTAssertEqual(adjustment.servedTime(atNaive: naiveTime(m - 1)), naiveTime(m - 1))  // 23:59:59
        XCTAssertEqual(adjustment.servedTime(atNaive: naiveTime(m)), naiveTime(m - 1))  // 23:59:60, served as 23:59:59 again
        XCTAssertEqual(adjustment.servedTime(atNaive: naiveTime(m, 500_000_000)), naiveTime(m - 1, 500_000_000))
        XCTAssertEqual(adjustment.servedTime(atNaive: naiveTime(m + 1)), naiveTime(m))  // 00:00:00
        XCTAssertEqual(adjustment.correctionSeconds(atNaive: naiveTime(m + 1_000_000)), -1)
        XCTAssertFalse(adjustment.isSmearing(atNaive: naiveTime(m)))
        // Announced in the last day and through the repeated second; not after.
        XCTAssertEqual(adjustment.leapIndicator(atNaive: naiveTime(m - 86_401)), .noWarning)
        XCTAssertEqual(adjustment.leapIndicator(atNaive: naiveTime(m - 86_400)), .insertSecond)
        XCTAssertEqual(adjustment.leapIndicator(atNaive: naiveTime(m, 999_999_999)), .insertSecond)
        XCTAssertEqual(adjustment.leapIndicator(atNaive: naiveTime(m + 1)), .noWarning)
    }

    func testStepDeletionSkips235959() {
        let adjustment = LeapAdjustment(leaps: [deletion], mode: .step)
        let m = leapJan2018
        XCTAssertEqual(adjustment.servedTime(atNaive: naiveTime(m - 2, 999_999_999)), naiveTime(m - 2, 999_999_999))  // 23:59:58.999…
        XCTAssertEqual(adjustment.servedTime(atNaive: naiveTime(m - 1)), naiveTime(m))  // 00:00:00: 23:59:59 never served
        XCTAssertEqual(adjustment.correction(atNaive: naiveTime(m + 5)), oneSecondNs)
        XCTAssertEqual(adjustment.leapIndicator(atNaive: naiveTime(m - 86_400)), .deleteSecond)
        XCTAssertEqual(adjustment.leapIndicator(atNaive: naiveTime(m - 2, 999_999_999)), .deleteSecond)
        XCTAssertEqual(adjustment.leapIndicator(atNaive: naiveTime(m - 1)), .noWarning)
    }

    func testSmearInsertionIsLinearExactAndMonotonic() {
        let adjustment = LeapAdjustment(leaps: [insertion], mode: .smear(duration: 86_400))
        let start = leap2017 - 43_200  // noon before
        let end = start + 86_400
        XCTAssertEqual(adjustment.correction(atNaive: naiveTime(start - 1, 999_999_999)), 0)
        XCTAssertEqual(adjustment.correction(atNaive: naiveTime(start)), 0)
        XCTAssertEqual(adjustment.correction(atNaive: naiveTime(start, 86_400)), -1)  // 86 400 ns / 86 400
        XCTAssertEqual(adjustment.correction(atNaive: naiveTime(leap2017)), -oneSecondNs / 2)
        XCTAssertEqual(adjustment.correction(atNaive: naiveTime(end - 1, 999_999_999)), -(oneSecondNs - 1))
        XCTAssertEqual(adjustment.correction(atNaive: naiveTime(end)), -oneSecondNs)
        XCTAssertEqual(adjustment.correction(atNaive: naiveTime(end + 1_000_000)), -oneSecondNs)
        XCTAssertTrue(adjustment.isSmearing(atNaive: naiveTime(start)))
        XCTAssertFalse(adjustment.isSmearing(atNaive: naiveTime(end)))
        assertMonotonic(adjustment, from: start - 10, to: end + 10)
        // Never a leap indicator while smearing (nor before or after).
        for t in [start - 86_400, leap2017 - 86_400, start, leap2017 - 1, leap2017, end] {
            XCTAssertEqual(adjustment.leapIndicator(atNaive: naiveTime(t)), .noWarning)
        }
    }

    func testSmearDeletion() {
        let adjustment = LeapAdjustment(leaps: [deletion], mode: .smear(duration: 3_600))
        let start = leapJan2018 - 1_800
        XCTAssertEqual(adjustment.correction(atNaive: naiveTime(start)), 0)
        XCTAssertEqual(adjustment.correction(atNaive: naiveTime(leapJan2018)), oneSecondNs / 2)
        XCTAssertEqual(adjustment.correction(atNaive: naiveTime(start + 3_600)), oneSecondNs)
        XCTAssertEqual(adjustment.servedTime(atNaive: naiveTime(start + 3_600)), naiveTime(start + 3_601))
        assertMonotonic(adjustment, from: start - 10, to: start + 3_610)
        XCTAssertEqual(adjustment.leapIndicator(atNaive: naiveTime(leapJan2018 - 10)), .noWarning)
    }

    func testGoogleNoonToNoonSmear() {
        // 86 401 SI seconds from noon to noon: 86 400 smeared seconds, each 1/86 400 longer.
        let adjustment = LeapAdjustment(leaps: [insertion], mode: .smear(duration: 86_401))
        let noonBefore = leap2017 - 43_200
        let noonAfter = leap2017 + 43_200
        XCTAssertEqual(adjustment.servedTime(atNaive: naiveTime(noonBefore)), naiveTime(noonBefore))
        XCTAssertEqual(adjustment.servedTime(atNaive: naiveTime(noonBefore + 86_401)), naiveTime(noonAfter))
        XCTAssertEqual(adjustment.servedTime(atNaive: naiveTime(noonBefore + 86_401 + 7)), naiveTime(noonAfter + 7))
    }

    func testDurationsAreClamped() {
        XCTAssertEqual(LeapMode.smear(duration: 0).effectiveSmearDuration, 1)
        XCTAssertEqual(LeapMode.smear(duration: -5).effectiveSmearDuration, 1)
        XCTAssertEqual(LeapMode.smear(duration: .max).effectiveSmearDuration, LeapMode.maximumSmearDuration)
        XCTAssertNil(LeapMode.step.effectiveSmearDuration)
        let oneSecond = LeapAdjustment(leaps: [insertion], mode: .smear(duration: 0))
        XCTAssertEqual(oneSecond.correction(atNaive: naiveTime(leap2017, 250_000_000)), -250_000_000)
        XCTAssertEqual(oneSecond.correction(atNaive: naiveTime(leap2017 + 1)), -oneSecondNs)
        assertMonotonic(oneSecond, from: leap2017 - 2, to: leap2017 + 2, step: 1_000_000)
        let long = LeapAdjustment(leaps: [insertion], mode: .smear(duration: .max))
        XCTAssertEqual(long.correction(atNaive: naiveTime(leap2017 + 14 * 86_400)), -oneSecondNs)
        XCTAssertEqual(long.correction(atNaive: naiveTime(leap2017)), -oneSecondNs / 2)
    }

    func testSeveralLeapsFromATable() {
        let table = leapSyntheticTable()
        // The naive clock agrees with POSIX time on 1 Jul 2016; both leaps lie ahead.
        let step = LeapAdjustment(table: table, since: 1_467_331_200, mode: .step)
        XCTAssertEqual(step.leaps, [insertion, deletion])
        XCTAssertEqual(step.correction(atNaive: naiveTime(leap2017 + 100)), -oneSecondNs)
        // After the insertion the naive clock is 1 s ahead, so the deletion's 23:59:59 is naive midnight.
        XCTAssertEqual(step.servedTime(atNaive: naiveTime(leapJan2018 - 1)), naiveTime(leapJan2018 - 2))
        XCTAssertEqual(step.servedTime(atNaive: naiveTime(leapJan2018)), naiveTime(leapJan2018))
        XCTAssertEqual(step.correction(atNaive: naiveTime(leapJan2018 + 100)), 0)
        XCTAssertEqual(step.leapIndicator(atNaive: naiveTime(leapJan2018 + 1 - 86_400)), .deleteSecond)
        XCTAssertEqual(step.leapIndicator(atNaive: naiveTime(leapJan2018 - 86_400)), .noWarning)

        let smear = LeapAdjustment(table: table, since: 1_467_331_200, mode: .smear(duration: 86_400))
        XCTAssertEqual(smear.correction(atNaive: naiveTime(leapJan2018 + 1)), -oneSecondNs + oneSecondNs / 2)
        XCTAssertEqual(smear.correction(atNaive: naiveTime(leapJan2018 + 1 + 43_200)), 0)
        // Only leaps after the base are handled.
        XCTAssertEqual(LeapAdjustment(table: table, since: leap2017, mode: .step).leaps, [deletion])
        XCTAssertEqual(LeapAdjustment(table: table, since: leapJan2018, mode: .step).leaps, [])
        XCTAssertEqual(LeapAdjustment(leaps: [deletion, insertion], mode: .step).leaps, [insertion, deletion])
    }

    /// Served time never decreases from `from` to `to` (naive seconds), sampled every `step` ns and densely
    /// around the window's whole seconds.
    private func assertMonotonic(
        _ adjustment: LeapAdjustment, from: Int64, to: Int64, step: Int64 = 997_000_000,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        var previous = adjustment.servedTime(atNaive: naiveTime(from))
        var t = naiveTime(from)
        while t < naiveTime(to) {
            t = t.adding(nanoseconds: step)
            let served = adjustment.servedTime(atNaive: t)
            guard served >= previous else {
                return XCTFail("served time went back at naive \(t): \(served) < \(previous)", file: file, line: line)
            }
            previous = served
        }
        for whole in [from, (from + to) / 2, to] {
            var earlier = adjustment.servedTime(atNaive: naiveTime(whole - 1, 999_999_990))
            for nanoseconds in 999_999_991..<1_000_000_010 {
                let served = adjustment.servedTime(atNaive: naiveTime(whole - 1).adding(nanoseconds: Int64(nanoseconds)))
                XCTAssertGreaterThanOrEqual(served, earlier, file: file, line: line)
                earlier = served
            }
        }
    }
}

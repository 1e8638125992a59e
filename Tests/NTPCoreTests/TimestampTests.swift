import NTPCore
import XCTest

/// Unix seconds of a proleptic-Gregorian UTC date (H. Hinnant's days_from_civil),
/// so that test vectors are written as dates rather than magic numbers.
private func unixSeconds(
    _ year: Int64, _ month: Int64, _ day: Int64, _ hour: Int64 = 0, _ minute: Int64 = 0, _ second: Int64 = 0
) -> Int64 {
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yearOfEra = y - era * 400
    let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
    let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
    let days = era * 146_097 + dayOfEra - 719_468
    return days * 86_400 + hour * 3_600 + minute * 60 + second
}

private let nanosPerSecond: Int64 = 1_000_000_000
/// 2036-02-07T06:28:16Z, the first instant of NTP era 1.
private let era1Start = unixSeconds(2036, 2, 7, 6, 28, 16)

final class TimestampTests: XCTestCase {

    // MARK: - Test helpers

    func testCivilDateHelperMatchesKnownVectors() {
        XCTAssertEqual(unixSeconds(1970, 1, 1), 0)
        XCTAssertEqual(unixSeconds(2000, 1, 1), 946_684_800)
        XCTAssertEqual(unixSeconds(1900, 1, 1), -2_208_988_800)
        XCTAssertEqual(era1Start, 2_085_978_496)
        XCTAssertEqual(era1Start, (1 << 32) - NTPTimestamp.unixEpochOffset)
    }

    // MARK: - UnixTime

    func testUnixTimeNormalisesNanoseconds() {
        XCTAssertEqual(UnixTime(seconds: 5, nanoseconds: 999_999_999).seconds, 5)
        XCTAssertEqual(UnixTime(seconds: 5, nanoseconds: 999_999_999).nanoseconds, 999_999_999)
        let carried = UnixTime(seconds: 5, nanoseconds: 1_000_000_000)
        XCTAssertEqual(carried, UnixTime(seconds: 6, nanoseconds: 0))
        let maxNanos = UnixTime(seconds: -10, nanoseconds: .max)  // 4.294967295 s
        XCTAssertEqual(maxNanos.seconds, -6)
        XCTAssertEqual(maxNanos.nanoseconds, 294_967_295)
        // Assigning out-of-range nanoseconds keeps the value normalised too.
        var assigned = UnixTime(seconds: 7, nanoseconds: 0)
        assigned.nanoseconds = 2_500_000_000
        XCTAssertEqual(assigned, UnixTime(seconds: 9, nanoseconds: 500_000_000))
        XCTAssertEqual(assigned.nanoseconds, 500_000_000)
        // Absurd values wrap instead of trapping.
        let wrapped = UnixTime(seconds: .max, nanoseconds: .max)
        XCTAssertEqual(wrapped.seconds, Int64.min &+ 3)
        XCTAssertEqual(wrapped.nanoseconds, 294_967_295)
    }

    func testUnixTimeAddingNanoseconds() {
        let base = UnixTime(seconds: 100, nanoseconds: 900_000_000)
        XCTAssertEqual(base.adding(nanoseconds: 0), base)
        XCTAssertEqual(base.adding(nanoseconds: 100_000_000), UnixTime(seconds: 101, nanoseconds: 0))
        XCTAssertEqual(base.adding(nanoseconds: 99_999_999), UnixTime(seconds: 100, nanoseconds: 999_999_999))
        XCTAssertEqual(base.adding(nanoseconds: -900_000_000), UnixTime(seconds: 100, nanoseconds: 0))
        XCTAssertEqual(base.adding(nanoseconds: -900_000_001), UnixTime(seconds: 99, nanoseconds: 999_999_999))
        XCTAssertEqual(base.adding(nanoseconds: 2_500_000_000), UnixTime(seconds: 103, nanoseconds: 400_000_000))
        XCTAssertEqual(base.adding(nanoseconds: -2_500_000_000), UnixTime(seconds: 98, nanoseconds: 400_000_000))
        XCTAssertEqual(
            UnixTime(seconds: 0, nanoseconds: 0).adding(nanoseconds: -1),
            UnixTime(seconds: -1, nanoseconds: 999_999_999))
        XCTAssertEqual(
            UnixTime(seconds: 0, nanoseconds: 0).adding(nanoseconds: .min),
            UnixTime(seconds: -9_223_372_037, nanoseconds: 145_224_192))
        XCTAssertEqual(
            UnixTime(seconds: 0, nanoseconds: 0).adding(nanoseconds: .max),
            UnixTime(seconds: 9_223_372_036, nanoseconds: 854_775_807))
        // Never traps at the edges of the range.
        _ = UnixTime(seconds: .max, nanoseconds: 999_999_999).adding(nanoseconds: .max)
        _ = UnixTime(seconds: .min, nanoseconds: 0).adding(nanoseconds: .min)
    }

    func testUnixTimeNanosecondsSince() {
        let a = UnixTime(seconds: 10, nanoseconds: 100)
        let b = UnixTime(seconds: 8, nanoseconds: 999_999_900)
        XCTAssertEqual(a.nanoseconds(since: b), 1_000_000_200)
        XCTAssertEqual(b.nanoseconds(since: a), -1_000_000_200)
        XCTAssertEqual(a.nanoseconds(since: a), 0)
        XCTAssertEqual(
            UnixTime(seconds: -1, nanoseconds: 0).nanoseconds(since: UnixTime(seconds: 0, nanoseconds: 1)),
            -1_000_000_001)
        // Absurd differences wrap but do not trap.
        _ = UnixTime(seconds: .max, nanoseconds: 999_999_999).nanoseconds(since: UnixTime(seconds: .min, nanoseconds: 0))
        _ = UnixTime(seconds: .min, nanoseconds: 0).nanoseconds(since: UnixTime(seconds: .max, nanoseconds: 999_999_999))
    }

    func testUnixTimeAddingAndDifferenceAreInverse() {
        var rng = SeededRandom(seed: 1)
        for _ in 0..<100_000 {
            let start = UnixTime(
                seconds: Int64.random(in: -100_000_000_000...100_000_000_000, using: &rng),
                nanoseconds: UInt32.random(in: 0..<1_000_000_000, using: &rng))
            let delta = Int64.random(in: -4_000_000_000_000_000_000...4_000_000_000_000_000_000, using: &rng)
            let end = start.adding(nanoseconds: delta)
            XCTAssertLessThan(end.nanoseconds, 1_000_000_000)
            XCTAssertEqual(end.nanoseconds(since: start), delta)
            XCTAssertEqual(delta > 0, end > start)
        }
    }

    func testUnixTimeOrdering() {
        XCTAssertLessThan(UnixTime(seconds: -1, nanoseconds: 999_999_999), UnixTime(seconds: 0, nanoseconds: 0))
        XCTAssertLessThan(UnixTime(seconds: 0, nanoseconds: 1), UnixTime(seconds: 0, nanoseconds: 2))
        XCTAssertLessThan(UnixTime(seconds: 1, nanoseconds: 0), UnixTime(seconds: 2, nanoseconds: 0))
        XCTAssertFalse(UnixTime(seconds: 1, nanoseconds: 5) < UnixTime(seconds: 1, nanoseconds: 5))
    }

    func testUnixTimeDescription() {
        XCTAssertEqual(UnixTime(seconds: 1_700_000_000, nanoseconds: 123).description, "1700000000.000000123")
        XCTAssertEqual(UnixTime(seconds: 0, nanoseconds: 0).description, "0.000000000")
        XCTAssertEqual(UnixTime(seconds: 1, nanoseconds: 999_999_999).description, "1.999999999")
        XCTAssertEqual(UnixTime(seconds: -1, nanoseconds: 750_000_000).description, "-0.250000000")
        XCTAssertEqual(UnixTime(seconds: -2, nanoseconds: 0).description, "-2.000000000")
        XCTAssertEqual(UnixTime(seconds: -2, nanoseconds: 1).description, "-1.999999999")
        XCTAssertEqual(UnixTime(seconds: .min, nanoseconds: 0).description, "-9223372036854775808.000000000")
        XCTAssertEqual(UnixTime(seconds: .min, nanoseconds: 1).description, "-9223372036854775807.999999999")
        XCTAssertEqual(UnixTime(seconds: .max, nanoseconds: 5).description, "9223372036854775807.000000005")
    }

    // MARK: - NTPTimestamp basics

    func testTimestampFields() {
        let timestamp = NTPTimestamp(seconds: 0x0102_0304, fraction: 0xA0B0_C0D0)
        XCTAssertEqual(timestamp.rawValue, 0x0102_0304_A0B0_C0D0)
        XCTAssertEqual(timestamp.seconds, 0x0102_0304)
        XCTAssertEqual(timestamp.fraction, 0xA0B0_C0D0)
        XCTAssertEqual(NTPTimestamp(rawValue: .max).seconds, .max)
        XCTAssertEqual(NTPTimestamp(rawValue: .max).fraction, .max)
        XCTAssertEqual(NTPTimestamp.zero.rawValue, 0)
        XCTAssertEqual(timestamp.description, "01020304.a0b0c0d0")
        XCTAssertEqual(NTPTimestamp.zero.description, "00000000.00000000")
    }

    func testKnownVectorUnixEpoch() {
        let epoch = NTPTimestamp(UnixTime(seconds: 0, nanoseconds: 0))
        XCTAssertEqual(epoch.seconds, 2_208_988_800)
        XCTAssertEqual(epoch.fraction, 0)
        XCTAssertEqual(epoch.rawValue, 2_208_988_800 << 32)
        XCTAssertEqual(NTPTimestamp.unixEpochOffset, 2_208_988_800)
        XCTAssertEqual(epoch.unixTime(near: UnixTime(seconds: 0, nanoseconds: 0)), UnixTime(seconds: 0, nanoseconds: 0))

        let recent = NTPTimestamp(UnixTime(seconds: 1_700_000_000, nanoseconds: 500_000_000))
        XCTAssertEqual(recent.seconds, 0xE8FE_6F80)
        XCTAssertEqual(recent.fraction, 0x8000_0000)
    }

    func testFractionBoundaryValues() {
        func fraction(_ ns: UInt32) -> UInt32 { NTPTimestamp(UnixTime(seconds: 0, nanoseconds: ns)).fraction }
        XCTAssertEqual(fraction(0), 0)
        XCTAssertEqual(fraction(1), 4)  // 4.294967296 -> 4
        XCTAssertEqual(fraction(250_000_000), 0x4000_0000)
        XCTAssertEqual(fraction(500_000_000), 0x8000_0000)
        XCTAssertEqual(fraction(999_999_999), 4_294_967_292)  // 4294967291.705 -> ...292

        // Back to nanoseconds: round to nearest, carrying into the next second.
        let pivot = UnixTime(seconds: 1_000, nanoseconds: 0)
        func resolve(_ fraction: UInt32) -> UnixTime {
            NTPTimestamp(UnixTime(seconds: 1_000, nanoseconds: 0)).adding(NTPDuration(rawValue: Int64(fraction)))
                .unixTime(near: pivot)
        }
        XCTAssertEqual(resolve(0), UnixTime(seconds: 1_000, nanoseconds: 0))
        XCTAssertEqual(resolve(2), UnixTime(seconds: 1_000, nanoseconds: 0))  // 0.47 ns
        XCTAssertEqual(resolve(3), UnixTime(seconds: 1_000, nanoseconds: 1))  // 0.70 ns
        XCTAssertEqual(resolve(0x8000_0000), UnixTime(seconds: 1_000, nanoseconds: 500_000_000))
        XCTAssertEqual(resolve(0xFFFF_FFFD), UnixTime(seconds: 1_000, nanoseconds: 999_999_999))  // .302
        XCTAssertEqual(resolve(0xFFFF_FFFE), UnixTime(seconds: 1_001, nanoseconds: 0))  // .534 carries
        XCTAssertEqual(resolve(0xFFFF_FFFF), UnixTime(seconds: 1_001, nanoseconds: 0))
    }

    /// The nanosecond -> fraction -> nanosecond round trip is exact: the forward
    /// rounding error (<= 0.5 units of 2^-32 s) is < 0.12 ns on the way back.
    func testNanosecondFractionRoundTripIsExact() {
        func check(_ ns: UInt32, seconds: Int64, file: StaticString = #filePath, line: UInt = #line) {
            let time = UnixTime(seconds: seconds, nanoseconds: ns)
            let timestamp = NTPTimestamp(time)
            // Independent check of fraction = round(ns * 2^32 / 1e9).
            let exact = Double(ns) * 4.294967296
            XCTAssertLessThanOrEqual(abs(Double(timestamp.fraction) - exact), 0.5 + 1e-6, file: file, line: line)
            XCTAssertEqual(timestamp.unixTime(near: time), time, file: file, line: line)
        }
        for ns: UInt32 in [0, 1, 2, 3, 499_999_999, 500_000_000, 500_000_001, 999_999_998, 999_999_999] {
            check(ns, seconds: 1_700_000_000)
            check(ns, seconds: -3_000_000_000)  // era -1
            check(ns, seconds: era1Start)
        }
        var rng = SeededRandom(seed: 2)
        for _ in 0..<1_000_000 {
            let ns = UInt32.random(in: 0..<1_000_000_000, using: &rng)
            let time = UnixTime(seconds: 1_700_000_000, nanoseconds: ns)
            XCTAssertEqual(NTPTimestamp(time).unixTime(near: time).nanoseconds, ns)
        }
    }

    // MARK: - Era resolution

    func testEraRolloverFolding() {
        let last = NTPTimestamp(UnixTime(seconds: era1Start - 1, nanoseconds: 0))  // 06:28:15Z
        XCTAssertEqual(last.seconds, 0xFFFF_FFFF)
        XCTAssertEqual(last.fraction, 0)
        let first = NTPTimestamp(UnixTime(seconds: era1Start, nanoseconds: 0))  // 06:28:16Z
        XCTAssertEqual(first.seconds, 0)
        XCTAssertEqual(first.fraction, 0)
        XCTAssertEqual(first, NTPTimestamp(UnixTime(seconds: -2_208_988_800, nanoseconds: 0)))  // same as 1900
    }

    func testUnixTimeNearPivotAcrossRollover() {
        let times = [
            UnixTime(seconds: era1Start - 1, nanoseconds: 0),
            UnixTime(seconds: era1Start - 1, nanoseconds: 999_999_999),
            UnixTime(seconds: era1Start, nanoseconds: 0),
            UnixTime(seconds: era1Start, nanoseconds: 250_000_000),
            UnixTime(seconds: unixSeconds(2035, 6, 1), nanoseconds: 1),
            UnixTime(seconds: unixSeconds(2037, 6, 1), nanoseconds: 999_999_999),
        ]
        let pivots = [
            UnixTime(seconds: unixSeconds(2035, 1, 1), nanoseconds: 0),
            UnixTime(seconds: unixSeconds(2037, 12, 31, 23, 59, 59), nanoseconds: 999_999_999),
            UnixTime(seconds: era1Start, nanoseconds: 0),
            UnixTime(seconds: 0, nanoseconds: 0),  // 1970 pivot still reaches 2038-01-19
            UnixTime(seconds: unixSeconds(2100, 1, 1), nanoseconds: 0),
        ]
        for time in times {
            let timestamp = NTPTimestamp(time)
            for pivot in pivots {
                XCTAssertEqual(timestamp.unixTime(near: pivot), time, "\(time) near \(pivot)")
            }
        }
    }

    func testUnixTimeNearChoosesClosestEra() {
        let pivot = UnixTime(seconds: 1_000_000_000, nanoseconds: 0)
        let halfEra: Int64 = 1 << 31
        func resolve(_ secondsFromPivot: Int64) -> Int64 {
            NTPTimestamp(UnixTime(seconds: pivot.seconds + secondsFromPivot, nanoseconds: 0))
                .unixTime(near: pivot).seconds - pivot.seconds
        }
        XCTAssertEqual(resolve(0), 0)
        XCTAssertEqual(resolve(halfEra - 1), halfEra - 1)
        XCTAssertEqual(resolve(halfEra), -halfEra)  // the window is [-2^31, 2^31)
        XCTAssertEqual(resolve(halfEra + 1), -halfEra + 1)
        XCTAssertEqual(resolve(-halfEra), -halfEra)
        XCTAssertEqual(resolve(-halfEra - 1), halfEra - 1)
        XCTAssertEqual(resolve(1 << 32), 0)

        // Before 1900 (era -1) and far in the future (era 2).
        for year: Int64 in [1800, 1899, 1900, 2200, 2300] {
            let time = UnixTime(seconds: unixSeconds(year, 7, 4, 12), nanoseconds: 123_456_789)
            let near = UnixTime(seconds: unixSeconds(year, 1, 1), nanoseconds: 0)
            XCTAssertEqual(NTPTimestamp(time).unixTime(near: near), time, "year \(year)")
        }
    }

    func testUnixTimeNearRandomPivotsRoundTrip() {
        var rng = SeededRandom(seed: 3)
        let maxDistance = ((Int64(1) << 31) - 1) * nanosPerSecond
        for _ in 0..<100_000 {
            let time = UnixTime(
                seconds: Int64.random(in: -50_000_000_000...50_000_000_000, using: &rng),
                nanoseconds: UInt32.random(in: 0..<1_000_000_000, using: &rng))
            let pivot = time.adding(nanoseconds: Int64.random(in: -maxDistance...maxDistance, using: &rng))
            XCTAssertEqual(NTPTimestamp(time).unixTime(near: pivot), time)
        }
    }

    func testUnixTimeNearExtremePivotsDoesNotTrap() {
        let timestamps = [NTPTimestamp.zero, NTPTimestamp(rawValue: .max), NTPTimestamp(seconds: 0x8000_0000, fraction: 0)]
        let pivots = [
            UnixTime(seconds: .max, nanoseconds: 999_999_999), UnixTime(seconds: .min, nanoseconds: 0),
            UnixTime(seconds: .max, nanoseconds: 0), UnixTime(seconds: .min, nanoseconds: 999_999_999),
        ]
        for timestamp in timestamps {
            for pivot in pivots {
                let resolved = timestamp.unixTime(near: pivot)
                if timestamp.fraction == 0 {
                    XCTAssertEqual(NTPTimestamp(resolved), timestamp)
                }
            }
        }
    }

    // MARK: - Timestamp arithmetic

    func testTimestampSubtractionAcrossRollover() {
        let before = NTPTimestamp(UnixTime(seconds: era1Start - 1, nanoseconds: 500_000_000))
        let after = NTPTimestamp(UnixTime(seconds: era1Start, nanoseconds: 250_000_000))
        XCTAssertEqual(before.rawValue, 0xFFFF_FFFF_8000_0000)
        XCTAssertEqual(after.rawValue, 0x0000_0000_4000_0000)
        XCTAssertEqual((after - before).rawValue, 0xC000_0000)  // 0.75 s
        XCTAssertEqual((after - before).nanoseconds, 750_000_000)
        XCTAssertEqual((before - after).nanoseconds, -750_000_000)
        XCTAssertEqual((after - before).seconds, 0.75)
        XCTAssertEqual(after - after, .zero)

        let lateEra0 = NTPTimestamp(UnixTime(seconds: unixSeconds(2035, 12, 31), nanoseconds: 0))
        let earlyEra1 = NTPTimestamp(UnixTime(seconds: unixSeconds(2036, 3, 1), nanoseconds: 0))
        XCTAssertEqual((earlyEra1 - lateEra0).nanoseconds, 61 * 86_400 * nanosPerSecond)
        XCTAssertEqual((lateEra0 - earlyEra1).nanoseconds, -61 * 86_400 * nanosPerSecond)
    }

    func testTimestampAddingDurationWraps() {
        let before = NTPTimestamp(UnixTime(seconds: era1Start - 1, nanoseconds: 500_000_000))
        let after = NTPTimestamp(UnixTime(seconds: era1Start, nanoseconds: 250_000_000))
        XCTAssertEqual(before.adding(NTPDuration(seconds: 0.75)), after)
        XCTAssertEqual(after.adding(NTPDuration(seconds: -0.75)), before)
        XCTAssertEqual(after.adding(before - after), before)

        var rng = SeededRandom(seed: 4)
        for _ in 0..<10_000 {
            let a = NTPTimestamp(rawValue: rng.next())
            let b = NTPTimestamp(rawValue: rng.next())
            XCTAssertEqual(b.adding(a - b), a)
        }
    }

    // MARK: - NTPDuration

    func testDurationFromSeconds() {
        XCTAssertEqual(NTPDuration(seconds: 0).rawValue, 0)
        XCTAssertEqual(NTPDuration(seconds: 1).rawValue, 1 << 32)
        XCTAssertEqual(NTPDuration(seconds: 1.5).rawValue, 3 << 31)
        XCTAssertEqual(NTPDuration(seconds: -0.25).rawValue, -(1 << 30))
        XCTAssertEqual(NTPDuration(seconds: 0x1p-33).rawValue, 1)  // half a unit rounds away from zero
        XCTAssertEqual(NTPDuration(seconds: 0x1p-34).rawValue, 0)
        XCTAssertEqual(NTPDuration(seconds: .nan).rawValue, 0)
        XCTAssertEqual(NTPDuration(seconds: .infinity).rawValue, .max)
        XCTAssertEqual(NTPDuration(seconds: -.infinity).rawValue, .min)
        XCTAssertEqual(NTPDuration(seconds: 0x1p31).rawValue, .max)
        XCTAssertEqual(NTPDuration(seconds: -0x1p31).rawValue, .min)
        XCTAssertEqual(NTPDuration(seconds: 1e300).rawValue, .max)
        XCTAssertEqual(NTPDuration(seconds: -1e300).rawValue, .min)
        XCTAssertEqual(NTPDuration(seconds: 0x1p31 - 0x1p-20).rawValue, Int64.max - 4095)  // 2^63 - 2^12
        XCTAssertEqual(NTPDuration(rawValue: 3 << 31).seconds, 1.5)
        XCTAssertEqual(NTPDuration(rawValue: .min).seconds, -0x1p31)
    }

    func testDurationNanoseconds() {
        XCTAssertEqual(NTPDuration(rawValue: 0).nanoseconds, 0)
        XCTAssertEqual(NTPDuration(rawValue: 2).nanoseconds, 0)  // 0.466 ns
        XCTAssertEqual(NTPDuration(rawValue: 3).nanoseconds, 1)  // 0.698 ns
        XCTAssertEqual(NTPDuration(rawValue: -3).nanoseconds, -1)
        XCTAssertEqual(NTPDuration(rawValue: 1 << 32).nanoseconds, 1_000_000_000)
        XCTAssertEqual(NTPDuration(rawValue: -(1 << 32)).nanoseconds, -1_000_000_000)
        XCTAssertEqual(NTPDuration(rawValue: .min).nanoseconds, -2_147_483_648_000_000_000)
        XCTAssertEqual(NTPDuration(rawValue: .max).nanoseconds, 2_147_483_648_000_000_000)  // 2^31 - 2^-32 s
        XCTAssertEqual(NTPDuration(rawValue: .max - (1 << 32) + 1).nanoseconds, 2_147_483_647_000_000_000)
    }

    func testDurationFromNanoseconds() {
        XCTAssertEqual(NTPDuration(nanoseconds: 0).rawValue, 0)
        XCTAssertEqual(NTPDuration(nanoseconds: 1).rawValue, 4)
        XCTAssertEqual(NTPDuration(nanoseconds: -1).rawValue, -4)
        XCTAssertEqual(NTPDuration(nanoseconds: 1_000_000_000).rawValue, 1 << 32)
        XCTAssertEqual(NTPDuration(nanoseconds: 2_147_483_648_000_000_000).rawValue, .max)
        XCTAssertEqual(NTPDuration(nanoseconds: -2_147_483_648_000_000_000).rawValue, .min)
        XCTAssertEqual(NTPDuration(nanoseconds: .max).rawValue, .max)
        XCTAssertEqual(NTPDuration(nanoseconds: .min).rawValue, .min)
        XCTAssertEqual(NTPDuration(nanoseconds: 2_147_483_647_999_999_999).rawValue, .max - 3)

        var rng = SeededRandom(seed: 5)
        for _ in 0..<100_000 {
            let ns = Int64.random(in: -2_147_483_647_999_999_999...2_147_483_647_999_999_999, using: &rng)
            XCTAssertEqual(NTPDuration(nanoseconds: ns).nanoseconds, ns)
        }
    }

    func testDurationArithmeticAndOrdering() {
        let one = NTPDuration(seconds: 1)
        let half = NTPDuration(seconds: 0.5)
        XCTAssertEqual(one + half, NTPDuration(seconds: 1.5))
        XCTAssertEqual(half - one, NTPDuration(seconds: -0.5))
        XCTAssertEqual(-one, NTPDuration(seconds: -1))
        XCTAssertEqual(-NTPDuration(rawValue: .min), NTPDuration(rawValue: .min))
        XCTAssertEqual(NTPDuration(rawValue: .max) + NTPDuration(rawValue: 1), NTPDuration(rawValue: .min))
        XCTAssertEqual(NTPDuration(rawValue: .min) - NTPDuration(rawValue: 1), NTPDuration(rawValue: .max))
        XCTAssertLessThan(-one, half)
        XCTAssertLessThan(half, one)
        XCTAssertEqual(NTPDuration.zero.rawValue, 0)
    }

    // MARK: - NTPDate

    func testDateAtPrimeEpoch() {
        let date = NTPDate(UnixTime(seconds: unixSeconds(1900, 1, 1), nanoseconds: 0))
        XCTAssertEqual(date.era, 0)
        XCTAssertEqual(date.timestamp, .zero)
        XCTAssertEqual(date.unixTime, UnixTime(seconds: -2_208_988_800, nanoseconds: 0))
    }

    func testDateBefore1900IsEraMinusOne() {
        let time = UnixTime(seconds: unixSeconds(1899, 12, 31, 23, 59, 59), nanoseconds: 500_000_000)
        let date = NTPDate(time)
        XCTAssertEqual(date.era, -1)
        XCTAssertEqual(date.timestamp, NTPTimestamp(seconds: 0xFFFF_FFFF, fraction: 0x8000_0000))
        XCTAssertEqual(date.unixTime, time)

        let early = NTPDate(UnixTime(seconds: unixSeconds(1764, 1, 1), nanoseconds: 0))
        XCTAssertEqual(early.era, -1)
        XCTAssertEqual(NTPDate(UnixTime(seconds: unixSeconds(1700, 1, 1), nanoseconds: 0)).era, -2)
    }

    func testDateAcross2036() {
        let last = NTPDate(UnixTime(seconds: era1Start - 1, nanoseconds: 999_999_999))
        XCTAssertEqual(last.era, 0)
        XCTAssertEqual(last.timestamp.seconds, 0xFFFF_FFFF)
        let first = NTPDate(UnixTime(seconds: era1Start, nanoseconds: 0))
        XCTAssertEqual(first.era, 1)
        XCTAssertEqual(first.timestamp, .zero)
        XCTAssertEqual(first.unixTime, UnixTime(seconds: era1Start, nanoseconds: 0))
        XCTAssertEqual(NTPDate(era: 1, timestamp: .zero), first)
        XCTAssertLessThan(last, first)
    }

    func testDateIn2200() {
        let seconds = unixSeconds(2200, 1, 1)
        XCTAssertEqual(seconds, 7_258_118_400)
        let date = NTPDate(UnixTime(seconds: seconds, nanoseconds: 42))
        XCTAssertEqual(date.era, 2)
        XCTAssertEqual(Int64(date.timestamp.seconds), seconds + 2_208_988_800 - 2 * (1 << 32))
        XCTAssertEqual(date.unixTime, UnixTime(seconds: seconds, nanoseconds: 42))
    }

    func testDateRoundTripAndOrdering() {
        var rng = SeededRandom(seed: 6)
        var previous: (UnixTime, NTPDate)?
        for _ in 0..<100_000 {
            let time = UnixTime(
                seconds: Int64.random(in: -1_000_000_000_000...1_000_000_000_000, using: &rng),
                nanoseconds: UInt32.random(in: 0..<1_000_000_000, using: &rng))
            let date = NTPDate(time)
            XCTAssertEqual(date.unixTime, time)
            XCTAssertEqual(date.timestamp, NTPTimestamp(time))
            if let (previousTime, previousDate) = previous {
                XCTAssertEqual(previousTime < time, previousDate < date)
            }
            previous = (time, date)
        }
    }

    func testDateExtremesDoNotTrap() {
        let extremes = [
            UnixTime(seconds: .max, nanoseconds: 999_999_999), UnixTime(seconds: .min, nanoseconds: 0),
            UnixTime(seconds: .max - NTPTimestamp.unixEpochOffset, nanoseconds: 0),
        ]
        for time in extremes {
            _ = NTPDate(time).unixTime
        }
        let lowest = NTPDate(era: .min, timestamp: .zero)
        XCTAssertEqual(lowest.unixTime.seconds, Int64.min &- NTPTimestamp.unixEpochOffset)
        let highest = NTPDate(era: .max, timestamp: NTPTimestamp(rawValue: .max))
        _ = highest.unixTime
        // Largest Unix time whose era still fits in Int32 round-trips.
        let edge = UnixTime(seconds: .max - NTPTimestamp.unixEpochOffset, nanoseconds: 0)
        XCTAssertEqual(NTPDate(edge).era, .max)
        XCTAssertEqual(NTPDate(edge).unixTime, edge)
    }

    // MARK: - NTPShort

    func testShortFromSecondsSaturatesAndRoundsUp() {
        XCTAssertEqual(NTPShort(seconds: 0).rawValue, 0)
        XCTAssertEqual(NTPShort(seconds: -0.0).rawValue, 0)
        XCTAssertEqual(NTPShort(seconds: -1).rawValue, 0)
        XCTAssertEqual(NTPShort(seconds: -.infinity).rawValue, 0)
        XCTAssertEqual(NTPShort(seconds: .nan).rawValue, 0)
        XCTAssertEqual(NTPShort(seconds: 1).rawValue, 0x0001_0000)
        XCTAssertEqual(NTPShort(seconds: 0x1p-16).rawValue, 1)
        XCTAssertEqual(NTPShort(seconds: 1e-12).rawValue, 1)  // tiny error is never reported as zero
        XCTAssertEqual(NTPShort(seconds: 0x1p-16 + 1e-12).rawValue, 2)
        XCTAssertEqual(NTPShort(seconds: 0.5).rawValue, 0x0000_8000)
        XCTAssertEqual(NTPShort(seconds: 65_535.5).rawValue, 0xFFFF_8000)
        XCTAssertEqual(NTPShort(seconds: 65_536 - 0x1p-16).rawValue, .max)
        XCTAssertEqual(NTPShort(seconds: 65_536 - 0x1p-15).rawValue, .max - 1)
        XCTAssertEqual(NTPShort(seconds: 65_536).rawValue, .max)
        XCTAssertEqual(NTPShort(seconds: 1e300).rawValue, .max)
        XCTAssertEqual(NTPShort(seconds: .infinity).rawValue, .max)
        XCTAssertEqual(NTPShort.max.seconds, 65_536 - 0x1p-16)
        XCTAssertEqual(NTPShort(rawValue: 0x0001_8000).seconds, 1.5)
        XCTAssertLessThan(NTPShort(rawValue: 1), NTPShort(rawValue: 2))
    }

    func testShortFromDurationRoundsUp() {
        XCTAssertEqual(NTPShort(NTPDuration(rawValue: 0)).rawValue, 0)
        XCTAssertEqual(NTPShort(NTPDuration(rawValue: -1)).rawValue, 0)
        XCTAssertEqual(NTPShort(NTPDuration(rawValue: .min)).rawValue, 0)
        XCTAssertEqual(NTPShort(NTPDuration(rawValue: 1)).rawValue, 1)
        XCTAssertEqual(NTPShort(NTPDuration(rawValue: 1 << 16)).rawValue, 1)
        XCTAssertEqual(NTPShort(NTPDuration(rawValue: (1 << 16) + 1)).rawValue, 2)
        XCTAssertEqual(NTPShort(NTPDuration(seconds: 1)).rawValue, 0x0001_0000)
        XCTAssertEqual(NTPShort(NTPDuration(rawValue: (1 << 48) - (1 << 16))).rawValue, .max)
        XCTAssertEqual(NTPShort(NTPDuration(rawValue: 1 << 48)).rawValue, .max)
        XCTAssertEqual(NTPShort(NTPDuration(rawValue: .max)).rawValue, .max)
        XCTAssertEqual(NTPShort(rawValue: 0x0001_8000).duration, NTPDuration(seconds: 1.5))
        XCTAssertEqual(NTPShort.max.duration.rawValue, (1 << 48) - (1 << 16))
    }
}

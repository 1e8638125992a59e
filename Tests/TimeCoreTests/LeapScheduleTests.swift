import NTPCore
import TimeCore
import XCTest

// The leap indicator served: the last day before a leap (edges exact), deletions, and source votes.

/// 1 Jan 2018, 1 Jul 2018 and 1 Jan 2019 00:00:00 UTC.
let leapJan2018: Int64 = 1_514_764_800
let leapJul2018: Int64 = 1_530_403_200
let leapJan2019: Int64 = 1_546_300_800

/// Base 1 Jul 2015 (36 s), +1 on 1 Jan 2017, −1 on 1 Jan 2018 (made up), expiring `expires`.
func leapSyntheticTable(expires: Int64? = nil) -> LeapSecondTable {
    try! LeapSecondTable(
        entries: [
            .init(unix: 1_435_708_800, taiMinusUTC: 36), .init(unix: leap2017, taiMinusUTC: 37),
            .init(unix: leapJan2018, taiMinusUTC: 36),
        ],
        expires: expires)
}

final class LeapScheduleTests: XCTestCase {
    func testAnnouncementWindowEdges() {
        let schedule = LeapSchedule(table: leapSyntheticTable())
        // Insertion at 1 Jan 2017: announced on 31 Dec 2016 from 00:00:00 to 23:59:59.
        XCTAssertEqual(schedule.indicator(atUnix: leap2017 - 86_400 - 1), .noWarning)
        XCTAssertEqual(schedule.indicator(atUnix: leap2017 - 86_400), .insertSecond)
        XCTAssertEqual(schedule.indicator(atUnix: leap2017 - 1), .insertSecond)
        XCTAssertEqual(schedule.indicator(atUnix: leap2017), .noWarning)
        XCTAssertEqual(schedule.pendingLeap(atUnix: leap2017 - 1), LeapEvent(unix: leap2017, insert: true))
        // Deletion at 1 Jan 2018.
        XCTAssertEqual(schedule.indicator(atUnix: leapJan2018 - 86_400 - 1), .noWarning)
        XCTAssertEqual(schedule.indicator(atUnix: leapJan2018 - 86_400), .deleteSecond)
        XCTAssertEqual(schedule.indicator(atUnix: leapJan2018 - 1), .deleteSecond)
        XCTAssertEqual(schedule.indicator(atUnix: leapJan2018), .noWarning)
        // Nothing before the base, nothing after the last entry.
        XCTAssertEqual(schedule.indicator(atUnix: 0), .noWarning)
        XCTAssertEqual(schedule.indicator(atUnix: leapJan2019 - 1), .noWarning)
    }

    func testRealTableLastLeap() throws {
        let table = try LeapSecondsListParser.parse(leapSystemFile(leapSecondsListPath), sha1: leapTestSHA1)
        let schedule = LeapSchedule(table: table)
        XCTAssertEqual(schedule.indicator(atUnix: 1_483_142_400), .insertSecond)  // 31 Dec 2016 00:00:00
        XCTAssertEqual(schedule.indicator(atUnix: 1_483_142_399), .noWarning)
        XCTAssertEqual(schedule.indicator(atUnix: leap2017), .noWarning)
    }

    func testTableLeapWinsOverSources() {
        let schedule = LeapSchedule(table: leapSyntheticTable(expires: leapJan2019))
        XCTAssertEqual(schedule.indicator(atUnix: leap2017 - 10, sourceLeaps: [.deleteSecond, .deleteSecond]), .insertSecond)
        XCTAssertEqual(schedule.indicator(atUnix: leapJan2018 - 10, sourceLeaps: [.noWarning, .noWarning]), .deleteSecond)
    }

    func testValidTableOverrulesSources() {
        // The table expires exactly at the midnight in question: it still knows there is no leap then.
        let schedule = LeapSchedule(table: leapSyntheticTable(expires: leapJul2018))
        XCTAssertEqual(schedule.indicator(atUnix: leapJul2018 - 100, sourceLeaps: [.insertSecond, .insertSecond]), .noWarning)
    }

    func testSourcesVoteWhenTheTableHasExpiredOrNoExpiry() {
        for table in [leapSyntheticTable(expires: leapJul2018 - 1), leapSyntheticTable(expires: nil)] {
            let schedule = LeapSchedule(table: table)
            let lastDay = leapJul2018 - 86_400  // 30 Jun 2018 00:00:00
            let insert = LeapEvent(unix: leapJul2018, insert: true)
            XCTAssertEqual(schedule.pendingLeap(atUnix: lastDay, sourceLeaps: [.insertSecond, .insertSecond, .noWarning]), insert)
            XCTAssertEqual(schedule.pendingLeap(atUnix: leapJul2018 - 1, sourceLeaps: [.insertSecond]), insert)
            XCTAssertEqual(
                schedule.indicator(atUnix: lastDay, sourceLeaps: [.deleteSecond, .deleteSecond, .insertSecond]), .deleteSecond)
            // A tie, a minority, nobody, or only unsynchronised sources: no leap.
            XCTAssertNil(schedule.pendingLeap(atUnix: lastDay, sourceLeaps: [.insertSecond, .noWarning]))
            XCTAssertNil(schedule.pendingLeap(atUnix: lastDay, sourceLeaps: [.insertSecond, .deleteSecond, .noWarning]))
            XCTAssertNil(schedule.pendingLeap(atUnix: lastDay, sourceLeaps: []))
            XCTAssertNil(schedule.pendingLeap(atUnix: lastDay, sourceLeaps: [.unsynchronized, .unsynchronized]))
            // Unsynchronised sources do not vote.
            XCTAssertEqual(
                schedule.pendingLeap(atUnix: lastDay, sourceLeaps: [.insertSecond, .unsynchronized, .unsynchronized]), insert)
            // Only on the last day of a month, and not at the midnight itself.
            XCTAssertNil(schedule.pendingLeap(atUnix: lastDay - 1, sourceLeaps: [.insertSecond]))
            XCTAssertNil(schedule.pendingLeap(atUnix: leapJul2018, sourceLeaps: [.insertSecond]))
            XCTAssertNil(schedule.pendingLeap(atUnix: leapJul2018 - 15 * 86_400, sourceLeaps: [.insertSecond]))
            // 28 Feb 2019 (not a leap year) is a last day; 28 Feb 2020 is not.
            XCTAssertEqual(
                schedule.pendingLeap(atUnix: 1_551_312_000 + 5, sourceLeaps: [.insertSecond]), LeapEvent(unix: 1_551_398_400, insert: true))
            XCTAssertNil(schedule.pendingLeap(atUnix: 1_582_848_000 + 5, sourceLeaps: [.insertSecond]))
            XCTAssertEqual(
                schedule.pendingLeap(atUnix: 1_582_934_400 + 5, sourceLeaps: [.insertSecond]), LeapEvent(unix: 1_583_020_800, insert: true))
        }
    }

    func testLeapEventDescription() {
        XCTAssertEqual(LeapEvent(unix: leap2017, insert: true).description, "insert 23:59:60 on 31 Dec 2016 (midnight 1483228800)")
        XCTAssertEqual(LeapEvent(unix: leapJan2018, insert: false).indicator, .deleteSecond)
        XCTAssertEqual(LeapEvent(unix: leap2017, insert: true).lastDayStart, 1_483_142_400)
    }
}

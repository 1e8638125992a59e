import Foundation
import NTPCore
import TimeCore
import XCTest

// TZif leap-second records (tzfile(5)): the real right/UTC against leap-seconds.list, synthetic files of
// versions 1, 2 and 4 (expiry, truncation, a negative leap), and every way a file can be broken.

private let rightUTCPath = "/usr/share/zoneinfo/right/UTC"

/// A TZif file with one time type ("UTC") and the given leap records. Version 0 writes only the 32-bit block
/// (`leaps` times must fit); otherwise the 32-bit block holds `v1Leaps` and the 64-bit block `leaps`.
private func makeTZif(
    version: UInt8, leaps: [(Int64, Int32)], v1Leaps: [(Int64, Int32)] = [], footer: [UInt8] = Array("\n\n".utf8),
    typecnt: UInt32 = 1, isstdcnt: UInt32 = 0
) -> [UInt8] {
    func be(_ value: Int64, _ size: Int) -> [UInt8] {
        (0..<size).reversed().map { UInt8(truncatingIfNeeded: value >> (8 * Int64($0))) }
    }
    func block(_ records: [(Int64, Int32)], timeSize: Int) -> [UInt8] {
        var bytes = Array("TZif".utf8) + [version] + [UInt8](repeating: 0, count: 15)
        for count in [0, isstdcnt, UInt32(records.count), 0, typecnt, 4] { bytes += be(Int64(count), 4) }
        for _ in 0..<typecnt { bytes += [0, 0, 0, 0, 0, 0] }  // ttinfo: UT offset 0, not DST, designation 0
        bytes += Array("UTC\0".utf8)
        for (time, correction) in records { bytes += be(time, timeSize) + be(Int64(correction), 4) }
        bytes += [UInt8](repeating: 0, count: Int(isstdcnt))
        return bytes
    }
    if version == 0 { return block(leaps, timeSize: 4) }
    return block(v1Leaps, timeSize: 4) + block(leaps, timeSize: 8) + footer
}

private func assertTZifError(
    _ bytes: [UInt8], _ expected: TZifLeapError, file: StaticString = #filePath, line: UInt = #line
) {
    do {
        let table = try TZifLeapParser.parse(bytes)
        XCTFail("parsed \(table.entries.count) entries, expected \(expected)", file: file, line: line)
    } catch {
        XCTAssertEqual(error, expected, file: file, line: line)
        XCTAssertFalse(error.description.isEmpty, file: file, line: line)
    }
}

/// 1 Jul 1972 and 1 Jan 1973, the midnights after the first two leap seconds.
private let jul1972: Int64 = 78_796_800
private let jan1973: Int64 = 94_694_400

final class LeapTZifTests: XCTestCase {
    func testRightUTCMatchesLeapSecondsList() throws {
        let tzif = try TZifLeapParser.parse(leapSystemFile(rightUTCPath))
        let list = try LeapSecondsListParser.parse(leapSystemFile(leapSecondsListPath), sha1: leapTestSHA1)
        XCTAssertEqual(tzif.entries, list.entries)
        XCTAssertEqual(tzif.leaps.count, 27)
        XCTAssertEqual(tzif.entries.last, .init(unix: leap2017, taiMinusUTC: 37))
        XCTAssertEqual(tzif.taiOffset(atUnix: leap2017), 37)
        XCTAssertNil(tzif.updated)
        let version = try leapSystemFile(rightUTCPath)[4]
        if version < UInt8(ascii: "4") { XCTAssertNil(tzif.expires) }
    }

    func testVersion1BlockOfTheRealFileGivesTheSameTable() throws {
        let bytes = try leapSystemFile(rightUTCPath)
        guard bytes[4] != 0 else { throw XCTSkip("already a version 1 file") }
        // Cut the file after its 32-bit block and mark it version 1.
        func count(_ index: Int) -> Int { bytes[20 + 4 * index..<24 + 4 * index].reduce(0) { $0 << 8 | Int($1) } }
        let (isut, isstd, leap, time, type, chars) = (count(0), count(1), count(2), count(3), count(4), count(5))
        let size = 44 + time * 5 + type * 6 + chars + leap * 8 + isstd + isut
        var v1 = Array(bytes[..<size])
        v1[4] = 0
        let table = try TZifLeapParser.parse(v1)
        XCTAssertEqual(table, try TZifLeapParser.parse(bytes))
    }

    func testEveryTruncationThrows() throws {
        let bytes = try leapSystemFile(rightUTCPath)
        for length in 0..<bytes.count {
            XCTAssertThrowsError(try TZifLeapParser.parse(Array(bytes[..<length])), "length \(length)")
        }
        // Data after the footer is allowed ("future changes to the format may append more data").
        XCTAssertNoThrow(try TZifLeapParser.parse(bytes + [1, 2, 3]))
    }

    func testDamagedBytesNeverTrap() throws {
        let bytes = try leapSystemFile(rightUTCPath)
        var generator = SeededRandom(seed: 2017)
        var parsed = 0
        for _ in 0..<3000 {
            var damaged = bytes
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                damaged[Int.random(in: 0..<damaged.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            if (try? TZifLeapParser.parse(damaged)) != nil { parsed += 1 }
        }
        // Most damage lands in time types or names, which do not matter; the point is that none trapped.
        XCTAssertGreaterThan(parsed, 0)
    }

    func testNotARightZone() throws {
        assertTZifError(makeTZif(version: UInt8(ascii: "2"), leaps: []), .noLeapSeconds)
        if let plain = try? leapSystemFile("/usr/share/zoneinfo/Etc/UTC") {
            assertTZifError(plain, .noLeapSeconds)
        }
    }

    func testVersion1And2Synthetic() throws {
        let records: [(Int64, Int32)] = [(jul1972, 1), (jan1973 + 1, 2)]
        let expected = try LeapSecondTable(entries: [
            .init(unix: 63_072_000, taiMinusUTC: 10), .init(unix: jul1972, taiMinusUTC: 11), .init(unix: jan1973, taiMinusUTC: 12),
        ])
        XCTAssertEqual(try TZifLeapParser.parse(makeTZif(version: 0, leaps: records)), expected)
        XCTAssertEqual(try TZifLeapParser.parse(makeTZif(version: UInt8(ascii: "2"), leaps: records)), expected)
        XCTAssertEqual(try TZifLeapParser.parse(makeTZif(version: UInt8(ascii: "3"), leaps: records, typecnt: 2, isstdcnt: 2)), expected)
    }

    func testVersion4ExpiryAndANegativeLeap() throws {
        // +1 at the end of June 1972, then −1 at the end of 1972: zic writes a negative leap as the POSIX time of
        // 23:59:59 plus the previous correction, i.e. the midnight's time_t − 1 + 1.
        let expiry: Int64 = 100_000_000
        let records: [(Int64, Int32)] = [(jul1972, 1), (jan1973 - 1 + 1, 0), (expiry + 0, 0)]
        let table = try TZifLeapParser.parse(makeTZif(version: UInt8(ascii: "4"), leaps: records))
        XCTAssertEqual(table.entries, [
            .init(unix: 63_072_000, taiMinusUTC: 10), .init(unix: jul1972, taiMinusUTC: 11), .init(unix: jan1973, taiMinusUTC: 10),
        ])
        XCTAssertEqual(table.expires, expiry)
        XCTAssertEqual(table.nextLeap(after: jul1972)?.insert, false)
        // In version 2 the same records are an error: equal corrections are not a leap.
        assertTZifError(
            makeTZif(version: UInt8(ascii: "2"), leaps: records),
            .badLeapRecord(index: 2, reason: "correction goes from 0 to 0; a leap second changes it by 1"))
    }

    func testVersion4TruncatedAtTheStart() throws {
        // Only the leaps of 2015 and 2017 (corrections 26 and 27), then an expiry with correction 27.
        let jul2015: Int64 = 1_435_708_800
        let expiry: Int64 = 1_782_604_800
        let records: [(Int64, Int32)] = [(jul2015 + 25, 26), (leap2017 + 26, 27), (expiry + 27, 27)]
        let table = try TZifLeapParser.parse(makeTZif(version: UInt8(ascii: "4"), leaps: records))
        XCTAssertEqual(table.entries, [.init(unix: jul2015, taiMinusUTC: 36), .init(unix: leap2017, taiMinusUTC: 37)])
        XCTAssertEqual(table.expires, expiry)
        XCTAssertNil(table.taiOffset(atUnix: jul2015 - 1))  // unknown before the truncation
        XCTAssertEqual(table.leaps, [LeapEvent(unix: leap2017, insert: true)])
        assertTZifError(
            makeTZif(version: UInt8(ascii: "3"), leaps: records),
            .badLeapRecord(index: 0, reason: "correction 26 is not ±1 (only version 4 files may be truncated)"))
    }

    func testHeaderErrors() {
        let good = makeTZif(version: UInt8(ascii: "2"), leaps: [(jul1972, 1)])
        var badMagic = good
        badMagic[0] = UInt8(ascii: "X")
        assertTZifError(badMagic, .badMagic(header: 1))
        var badSecondMagic = good
        let second = 44 + 6 + 4 + 0  // v1 block: one type, "UTC\0", no leaps
        badSecondMagic[second] = UInt8(ascii: "X")
        assertTZifError(badSecondMagic, .badMagic(header: 2))
        var badVersion = good
        badVersion[4] = UInt8(ascii: "1")
        assertTZifError(badVersion, .unsupportedVersion(UInt8(ascii: "1")))
        var mismatch = good
        mismatch[second + 4] = UInt8(ascii: "3")
        assertTZifError(mismatch, .versionMismatch(first: UInt8(ascii: "2"), second: UInt8(ascii: "3")))
        assertTZifError(makeTZif(version: 0, leaps: [], typecnt: 0), .badCounts(header: 1, reason: "typecnt is 0"))
        assertTZifError(
            makeTZif(version: 0, leaps: [], typecnt: 1, isstdcnt: 2),
            .badCounts(header: 1, reason: "isstdcnt 2 is neither 0 nor typecnt 1"))
        assertTZifError(makeTZif(version: UInt8(ascii: "2"), leaps: [(jul1972, 1)], footer: Array("\nUTC0".utf8)), .missingFooter)
        assertTZifError(makeTZif(version: UInt8(ascii: "2"), leaps: [(jul1972, 1)], footer: []), .missingFooter)
        assertTZifError([], .truncated(part: "header 1", offset: 0, needed: 44, size: 0))
        // A header whose counts promise more than the file holds.
        var huge = makeTZif(version: 0, leaps: [])
        huge[32...35] = [0xFF, 0xFF, 0xFF, 0xFF]  // timecnt
        assertTZifError(huge, .truncated(part: "the version 1 data block", offset: 44, needed: 21_474_836_485, size: huge.count))
    }

    func testLeapRecordErrors() {
        let v2 = UInt8(ascii: "2")
        assertTZifError(
            makeTZif(version: v2, leaps: [(jul1972, 1), (jul1972, 2)]),
            .badLeapRecord(index: 1, reason: "occurrence \(jul1972) is not after the previous record's"))
        assertTZifError(
            makeTZif(version: v2, leaps: [(jul1972, 1), (jan1973 + 1, 3)]),
            .badLeapRecord(index: 1, reason: "correction goes from 1 to 3; a leap second changes it by 1"))
        assertTZifError(
            makeTZif(version: v2, leaps: [(-5, 1)]), .badLeapRecord(index: 0, reason: "occurrence -5 is before 1970"))
        assertTZifError(
            makeTZif(version: v2, leaps: [(jul1972 + 7, 1)]),
            .badLeapRecord(index: 0, reason: "takes effect at Unix time \(jul1972 + 7), not at 00:00:00 UTC"))
        assertTZifError(
            makeTZif(version: v2, leaps: [(86_400, 1)]),
            .badLeapRecord(index: 0, reason: "takes effect no later than the leap before it"))
        assertTZifError(
            makeTZif(version: UInt8(ascii: "4"), leaps: [(jul1972, 1), (jul1972 - 86_400 + 1, 1)]),
            .badLeapRecord(index: 1, reason: "the expiry is not after the last leap second"))
        assertTZifError(
            makeTZif(version: v2, leaps: [(.max, 1)]), .badLeapRecord(index: 0, reason: "takes effect at Unix time \(Int64.max), not at 00:00:00 UTC"))
        assertTZifError(
            makeTZif(version: UInt8(ascii: "4"), leaps: [(.min + 5, -30), (0, -31)]), .badLeapRecord(index: 0, reason: "occurrence \(Int64.min + 5) is before 1970"))
    }
}

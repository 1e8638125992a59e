import Foundation
import NTPCore
import TimeCore
import XCTest

// leap-seconds.list: the real file shipped with tzdata (skipped when missing), its SHA-1 hash, every error,
// the table's queries, and a round trip through the encoder.

let leapSecondsListPath = "/usr/share/zoneinfo/leap-seconds.list"

/// Bytes of a system file, or XCTSkip when it is not installed.
func leapSystemFile(_ path: String) throws -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else { throw XCTSkip("\(path) is not installed") }
    return [UInt8](data)
}

/// 1 Jan 2017 00:00:00 UTC, the midnight after the last leap second so far (31 Dec 2016 23:59:60).
let leap2017: Int64 = 1_483_228_800

/// SHA-1 (FIPS 180-4) in plain Swift, for these tests only: TimeCore has no cryptography and TimeCoreTests
/// does not depend on FleetCrypto (whose `Digest.sha1.hash` the node passes in).
func leapTestSHA1(_ message: [UInt8]) -> [UInt8] {
    var h: [UInt32] = [0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0]
    var padded = message + [0x80]
    while padded.count % 64 != 56 { padded.append(0) }
    let bitLength = UInt64(message.count) * 8
    for shift in stride(from: 56, through: 0, by: -8) { padded.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift))) }
    func rotl(_ x: UInt32, _ n: UInt32) -> UInt32 { x << n | x >> (32 - n) }
    for chunk in stride(from: 0, to: padded.count, by: 64) {
        var w = [UInt32](repeating: 0, count: 80)
        for i in 0..<16 {
            w[i] = (0..<4).reduce(0) { $0 << 8 | UInt32(padded[chunk + 4 * i + $1]) }
        }
        for i in 16..<80 { w[i] = rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1) }
        var (a, b, c, d, e) = (h[0], h[1], h[2], h[3], h[4])
        for i in 0..<80 {
            let (f, k): (UInt32, UInt32) =
                switch i {
                case 0..<20: ((b & c) | (~b & d), 0x5A82_7999)
                case 20..<40: (b ^ c ^ d, 0x6ED9_EBA1)
                case 40..<60: ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC)
                default: (b ^ c ^ d, 0xCA62_C1D6)
                }
            let temp = rotl(a, 5) &+ f &+ e &+ k &+ w[i]
            (e, d, c, b, a) = (d, c, rotl(b, 30), a, temp)
        }
        h = [h[0] &+ a, h[1] &+ b, h[2] &+ c, h[3] &+ d, h[4] &+ e]
    }
    return h.flatMap { word in [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: word >> UInt32($0)) } }
}

/// A small valid list: base, one insertion (1 Jan 2017: 37) after 36, one deletion after it, expiry.
let leapSmallList = """
    # a comment
    #$\t3960835200
    #@\t3991593600
    3644697600\t36\t# 1 Jul 2015
    3692217600\t37\t# 1 Jan 2017
    3723753600\t36\t# 1 Jan 2018 (a deletion, made up)
    """

/// `text` with a correct `#h` line appended.
func leapWithHash(_ text: String) -> String {
    let contents = try! LeapSecondsListParser.parseContents(text)
    let digest = leapTestSHA1(contents.hashInput)
    let words = stride(from: 0, to: 20, by: 4).map { start in
        digest[start..<start + 4].map { String(format: "%02x", $0) }.joined()
    }
    return text + "\n#h\t" + words.joined(separator: " ") + "\n"
}

/// Asserts that parsing `text` (hash checked) throws `expected`.
func assertLeapListError(
    _ text: String, _ expected: LeapSecondsListError, file: StaticString = #filePath, line: UInt = #line
) {
    do {
        let table = try LeapSecondsListParser.parse(text, sha1: leapTestSHA1)
        XCTFail("parsed \(table.entries.count) entries, expected \(expected)", file: file, line: line)
    } catch {
        XCTAssertEqual(error, expected, file: file, line: line)
        XCTAssertFalse(error.description.isEmpty, file: file, line: line)
    }
}

final class LeapSecondsListTests: XCTestCase {
    func testRealFile() throws {
        let bytes = try leapSystemFile(leapSecondsListPath)
        let table = try LeapSecondsListParser.parse(bytes, sha1: leapTestSHA1)
        XCTAssertEqual(table.entries.count, 28)  // the 1972 base and 27 leap seconds
        XCTAssertEqual(table.leaps.count, 27)
        XCTAssertTrue(table.leaps.allSatisfy(\.insert))
        XCTAssertEqual(table.entries.first, .init(unix: 63_072_000, taiMinusUTC: 10))
        XCTAssertEqual(table.entries.last, .init(unix: leap2017, taiMinusUTC: 37))
        XCTAssertNotNil(table.expires)
        XCTAssertNotNil(table.updated)
        XCTAssertGreaterThan(table.expires!, leap2017)
        // Every leap so far ended June or December.
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let months = table.leaps.map { calendar.component(.month, from: Date(timeIntervalSince1970: Double($0.unix - 1))) }
        XCTAssertEqual(Set(months), [6, 12])
    }

    func testRealFileHashInputAndVersion2025Values() throws {
        let bytes = try leapSystemFile(leapSecondsListPath)
        let contents = try LeapSecondsListParser.parseContents(bytes)
        let text = String(decoding: bytes, as: UTF8.self)
        guard text.contains("#@\t3991593600") else { throw XCTSkip("checks the 2025 edition (expires 28 June 2026)") }
        XCTAssertEqual(contents.table.expires, 3_991_593_600 - 2_208_988_800)
        XCTAssertEqual(contents.table.updated, 3_960_835_200 - 2_208_988_800)
        XCTAssertTrue(String(decoding: contents.hashInput, as: UTF8.self).hasPrefix("39608352003991593600227206080010"))
        XCTAssertEqual(contents.hashInput.count, 20 + 28 * 12)
        XCTAssertEqual(contents.declaredHash, leapHexBytes("49db2447 571e5e1b 2f002a53 9c8da8e4 39b8e49e"))
        XCTAssertEqual(leapTestSHA1(contents.hashInput), contents.declaredHash)
        XCTAssertFalse(contents.table.isExpired(atUnix: contents.table.expires! - 1))
        XCTAssertTrue(contents.table.isExpired(atUnix: contents.table.expires!))
    }

    func testOneChangedDigitFailsTheHash() throws {
        let text = String(decoding: try leapSystemFile(leapSecondsListPath), as: UTF8.self)
        XCTAssertNoThrow(try LeapSecondsListParser.parse(text, sha1: leapTestSHA1))
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        // Change the last digit of the '#$' line, of the '#@' line, and of a data line's TAI-UTC (37 → 38 would
        // break the ±1 rule, so change a data line's time by a day: still a valid table, but not the file hashed).
        let updateLine = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("#$") })
        let expiryLine = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("#@") })
        let lastData = try XCTUnwrap(lines.lastIndex { $0.hasPrefix("3") })
        for (index, edit) in [(updateLine, bumpLastDigit), (expiryLine, bumpLastDigit), (lastData, addADay)] {
            var edited = lines
            edited[index] = edit(lines[index])
            XCTAssertThrowsError(try LeapSecondsListParser.parse(edited.joined(separator: "\n"), sha1: leapTestSHA1)) { error in
                guard case .hashMismatch(let declared, let computed) = error as? LeapSecondsListError else {
                    return XCTFail("expected a hash mismatch, got \(error)")
                }
                XCTAssertNotEqual(declared, computed)
                XCTAssertTrue("\(error)".contains("hash mismatch"))
            }
        }
        // A changed digit in the hash itself.
        var edited = lines
        let hashLine = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("#h") })
        edited[hashLine] = bumpLastDigit(lines[hashLine])
        XCTAssertThrowsError(try LeapSecondsListParser.parse(edited.joined(separator: "\n"), sha1: leapTestSHA1))
    }

    func testDamagedBytesNeverTrap() throws {
        let bytes = try leapSystemFile(leapSecondsListPath)
        let alphabet = Array("0123456789 \t\n#$@h-xf".utf8) + [0, 0xFF]
        var generator = SeededRandom(seed: 1972)
        var rejected = 0
        for _ in 0..<2000 {
            var damaged = bytes
            for _ in 0..<Int.random(in: 1...3, using: &generator) {
                let index = Int.random(in: 0..<damaged.count, using: &generator)
                switch Int.random(in: 0..<3, using: &generator) {
                case 0: damaged[index] = alphabet.randomElement(using: &generator)!
                case 1: damaged.remove(at: index)
                default: damaged.insert(alphabet.randomElement(using: &generator)!, at: index)
                }
            }
            do {
                _ = try LeapSecondsListParser.parse(damaged, sha1: leapTestSHA1)
            } catch {
                rejected += 1
            }
        }
        XCTAssertGreaterThan(rejected, 0)
    }

    func testSmallListAndQueries() throws {
        let table = try LeapSecondsListParser.parse(leapWithHash(leapSmallList), sha1: leapTestSHA1)
        let jul2015: Int64 = 1_435_708_800
        let jan2018: Int64 = 1_514_764_800
        XCTAssertEqual(table.entries.map(\.unix), [jul2015, leap2017, jan2018])
        XCTAssertNil(table.taiOffset(atUnix: jul2015 - 1))
        XCTAssertEqual(table.taiOffset(atUnix: jul2015), 36)
        XCTAssertEqual(table.taiOffset(atUnix: leap2017 - 1), 36)
        XCTAssertEqual(table.taiOffset(atUnix: leap2017), 37)
        XCTAssertEqual(table.taiOffset(atUnix: jan2018 - 1), 37)
        XCTAssertEqual(table.taiOffset(atUnix: jan2018), 36)
        XCTAssertEqual(table.taiOffset(atUnix: .max), 36)
        // The base entry is not a leap.
        XCTAssertEqual(table.nextLeap(after: 0)?.unix, leap2017)
        XCTAssertEqual(table.nextLeap(after: leap2017 - 1)?.unix, leap2017)
        XCTAssertEqual(table.nextLeap(after: leap2017 - 1)?.insert, true)
        XCTAssertEqual(table.nextLeap(after: leap2017)?.unix, jan2018)
        XCTAssertEqual(table.nextLeap(after: leap2017)?.insert, false)
        XCTAssertNil(table.nextLeap(after: jan2018))
        XCTAssertEqual(table.leaps, [LeapEvent(unix: leap2017, insert: true), LeapEvent(unix: jan2018, insert: false)])
    }

    func testAcceptsCRLFIndentedCommentsAndShortHashWords() throws {
        let crlf = leapWithHash(leapSmallList).replacingOccurrences(of: "\n", with: "\r\n") + "   # indented comment\r\n\r\n"
        XCTAssertEqual(try LeapSecondsListParser.parse(crlf, sha1: leapTestSHA1).entries.count, 3)
        // Hash words written without leading zeros (as ntpd's %x reads them).
        let contents = try LeapSecondsListParser.parseContents(leapSmallList)
        let digest = leapTestSHA1(contents.hashInput)
        let words = stride(from: 0, to: 20, by: 4).map { start in
            String(digest[start..<start + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }, radix: 16, uppercase: true)
        }
        XCTAssertNoThrow(try LeapSecondsListParser.parse(leapSmallList + "\n#h " + words.joined(separator: "  ") + " \n", sha1: leapTestSHA1))
        XCTAssertNoThrow(try LeapSecondsListParser.parse(leapSmallList + "\n#h 0 0 0 0 0\n", sha1: { _ in [UInt8](repeating: 0, count: 20) }))
    }

    func testMalformedLinesNameTheLine() {
        let head = "#$ 3960835200\n#@ 3991593600\n"  // lines 1-2; data from line 3
        let cases: [(String, LeapSecondsListError)] = [
            (head + "2272060800 x10\n", .malformedLine(line: 3, reason: "expected TAI-UTC (decimal digits), found 'x'")),
            (head + "abc 10\n", .malformedLine(line: 3, reason: "expected the NTP time (decimal digits), found 'a'")),
            (head + "-2272060800 10\n", .malformedLine(line: 3, reason: "expected the NTP time (decimal digits), found '-'")),
            (head + "2272060800\n", .malformedLine(line: 3, reason: "expected blanks between the NTP time and TAI-UTC")),
            (head + "2272060800 \n", .malformedLine(line: 3, reason: "expected TAI-UTC (decimal digits), found the end of the line")),
            (head + "2272060800,10\n", .malformedLine(line: 3, reason: "expected blanks between the NTP time and TAI-UTC")),
            (head + "2272060800 10 11\n", .malformedLine(line: 3, reason: "unexpected text after TAI-UTC (comments start with '#')")),
            (head + "2272060800 10x\n", .malformedLine(line: 3, reason: "unexpected text after TAI-UTC (comments start with '#')")),
            (head + "1234567890123456789 10\n", .malformedLine(line: 3, reason: "the NTP time has more than 18 digits")),
            (head + "2272060800 1234567890\n", .malformedLine(line: 3, reason: "TAI-UTC has more than 9 digits")),
            ("#@ 3991593600\n#$\n", .malformedLine(line: 2, reason: "expected the '#$' (last update) value (decimal digits), found the end of the line")),
            ("#@ 39915936OO\n", .malformedLine(line: 1, reason: "unexpected text after the '#@' (expiry) value")),
            ("#@ 3991593600 3991593600\n", .malformedLine(line: 1, reason: "unexpected text after the '#@' (expiry) value")),
        ]
        for (text, expected) in cases {
            assertLeapListError(text, expected)
        }
    }

    func testStructuralErrors() {
        let head = "#$ 3960835200\n#@ 3991593600\n"
        let base = "2272060800 10\n"  // line 3
        assertLeapListError(head + "#$ 3960835200\n" + base, .duplicateLastUpdate(line: 3))
        assertLeapListError(head + base + "#@ 3991593600\n", .duplicateExpiry(line: 4))
        assertLeapListError(head + base + "#h 1 2 3 4 5\n#h 1 2 3 4 5\n", .duplicateHash(line: 5))
        assertLeapListError("#$ 3960835200\n" + base, .missingExpiry)
        assertLeapListError(head + "# nothing else\n", .noEntries)
        assertLeapListError(head + base + "2272060800 11\n", .notIncreasing(line: 4))
        assertLeapListError(head + base + "2287785600 10\n", .notOneSecond(line: 4, from: 10, to: 10))
        assertLeapListError(head + base + "2287785600 12\n", .notOneSecond(line: 4, from: 10, to: 12))
        assertLeapListError(head + base + "2287785601 11\n", .notAtMidnight(line: 4))
        assertLeapListError("#@ 2272060800\n" + base, .expiryNotAfterLastEntry(line: 1))
        assertLeapListError(head + base, .missingHash)
    }

    func testMalformedHashLines() {
        let list = "#@ 3991593600\n2272060800 10\n"  // hash on line 3
        let cases: [(String, String)] = [
            ("#h", "no hex words"),
            ("#h   ", "no hex words"),
            ("#h 1 2 3 4", "4 hex words; SHA-1 needs 5"),
            ("#h 1 2 3 4 5 6", "more than 5 hex words"),
            ("#h 1 2 3 4 123456789", "word 5 has more than 8 hex digits"),
            ("#h 1 2 g 4 5", "word 3 is not hexadecimal"),
            ("#h 1 2 3x 4 5", "word 3 is not hexadecimal"),
        ]
        for (hashLine, reason) in cases {
            assertLeapListError(list + hashLine + "\n", .malformedHash(line: 3, reason: reason))
        }
    }

    func testTableRules() {
        XCTAssertThrowsError(try LeapSecondTable(entries: [.init(unix: 0, taiMinusUTC: 10), .init(unix: 0, taiMinusUTC: 11)])) {
            XCTAssertEqual($0 as? LeapSecondTableError, .notIncreasing(index: 1))
        }
        XCTAssertThrowsError(try LeapSecondTable(entries: [.init(unix: 0, taiMinusUTC: .max), .init(unix: 86_400, taiMinusUTC: .min)])) {
            XCTAssertEqual($0 as? LeapSecondTableError, .notOneSecond(index: 1, from: .max, to: .min))
        }
        XCTAssertThrowsError(try LeapSecondTable(entries: [.init(unix: 0, taiMinusUTC: 10), .init(unix: 86_399, taiMinusUTC: 11)])) {
            XCTAssertEqual($0 as? LeapSecondTableError, .notAtMidnight(index: 1, unix: 86_399))
        }
        XCTAssertThrowsError(try LeapSecondTable(entries: [.init(unix: 86_400, taiMinusUTC: 10)], expires: 86_400)) {
            XCTAssertEqual($0 as? LeapSecondTableError, .expiryNotAfterLastEntry(expires: 86_400, lastEntry: 86_400))
        }
        // The base need not be at midnight (a truncated TZif table); an empty table knows nothing.
        XCTAssertNoThrow(try LeapSecondTable(entries: [.init(unix: 5, taiMinusUTC: 30), .init(unix: 86_400, taiMinusUTC: 31)]))
        let empty = try! LeapSecondTable(entries: [])
        XCTAssertNil(empty.taiOffset(atUnix: 0))
        XCTAssertNil(empty.nextLeap(after: .min))
        XCTAssertFalse(empty.isExpired(atUnix: .max))
    }

    func testRoundTripThroughTheEncoder() throws {
        var tables = [try LeapSecondsListParser.parse(leapWithHash(leapSmallList), sha1: leapTestSHA1)]
        if let bytes = try? leapSystemFile(leapSecondsListPath) {
            tables.append(try LeapSecondsListParser.parse(bytes, sha1: leapTestSHA1))
        }
        tables.append(try LeapSecondTable(entries: [.init(unix: 63_072_000, taiMinusUTC: 10)], expires: 63_072_001))
        for table in tables {
            let text = try LeapSecondsListEncoder.encode(table, sha1: leapTestSHA1)
            XCTAssertEqual(try LeapSecondsListParser.parse(text, sha1: leapTestSHA1), table, text)
        }
        // The real file re-encoded has the real file's hash (same digits, same order).
        if let bytes = try? leapSystemFile(leapSecondsListPath) {
            let text = try LeapSecondsListEncoder.encode(LeapSecondsListParser.parse(bytes, sha1: leapTestSHA1), sha1: leapTestSHA1)
            XCTAssertEqual(
                try LeapSecondsListParser.parseContents(text).declaredHash,
                try LeapSecondsListParser.parseContents(bytes).declaredHash)
            XCTAssertTrue(text.contains("3692217600\t37\t# 1 Jan 2017\n"), text)
        }
    }

    func testEncoderErrors() throws {
        let noExpiry = try LeapSecondTable(entries: [.init(unix: 0, taiMinusUTC: 10)])
        XCTAssertThrowsError(try LeapSecondsListEncoder.encode(noExpiry, sha1: leapTestSHA1)) {
            XCTAssertEqual($0 as? LeapSecondsListEncodingError, .missingExpiry)
        }
        XCTAssertThrowsError(try LeapSecondsListEncoder.encode(try LeapSecondTable(entries: [], expires: 0), sha1: leapTestSHA1)) {
            XCTAssertEqual($0 as? LeapSecondsListEncodingError, .noEntries)
        }
        let before1900 = try LeapSecondTable(entries: [.init(unix: -2_208_988_801, taiMinusUTC: 10)], expires: 0)
        XCTAssertThrowsError(try LeapSecondsListEncoder.encode(before1900, sha1: leapTestSHA1)) {
            XCTAssertEqual($0 as? LeapSecondsListEncodingError, .beforeNTPEpoch(unix: -2_208_988_801))
        }
        let negative = try LeapSecondTable(entries: [.init(unix: 0, taiMinusUTC: -1)], expires: 1)
        XCTAssertThrowsError(try LeapSecondsListEncoder.encode(negative, sha1: leapTestSHA1)) {
            XCTAssertEqual($0 as? LeapSecondsListEncodingError, .negativeOffset(-1))
        }
        let table = try LeapSecondTable(entries: [.init(unix: 0, taiMinusUTC: 10)], expires: 1)
        XCTAssertThrowsError(try LeapSecondsListEncoder.encode(table, sha1: { _ in [1, 2, 3] })) {
            XCTAssertEqual($0 as? LeapSecondsListEncodingError, .badDigestLength(3))
        }
    }

    func testSHA1HelperVectors() {
        XCTAssertEqual(leapTestSHA1(Array("abc".utf8)), leapHexBytes("a9993e36 4706816a ba3e2571 7850c26c 9cd0d89d"))
        XCTAssertEqual(leapTestSHA1([]), leapHexBytes("da39a3ee 5e6b4b0d 3255bfef 95601890 afd80709"))
    }
}

func leapHexBytes(_ text: String) -> [UInt8] {
    let digits = text.filter { $0 != " " }.map { UInt8(String($0), radix: 16)! }
    return stride(from: 0, to: digits.count, by: 2).map { digits[$0] << 4 | digits[$0 + 1] }
}

private func bumpLastDigit(_ line: String) -> String {
    var characters = Array(line)
    let index = characters.lastIndex { $0.isHexDigit }!
    characters[index] = characters[index] == "1" ? "2" : "1"
    return String(characters)
}

/// Moves a data line's time one day later (still a midnight, still increasing when it is the last line).
private func addADay(_ line: String) -> String {
    let fields = line.split(separator: " ", maxSplits: 1)
    return String(Int64(fields[0])! + 86_400) + " " + fields[1]
}

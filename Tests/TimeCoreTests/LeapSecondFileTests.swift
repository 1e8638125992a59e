import Foundation
import NTPCore
import TimeCore
import XCTest

/// `LeapSecondFile`: the node's leap file read by its content, TZif or leap-seconds.list, with the error of
/// the format it was read as.
final class LeapSecondFileTests: XCTestCase {
    /// A stand-in for SHA-1 (TimeCore has none): the first 20 input bytes, zero-padded.
    let prefixHash: ([UInt8]) -> [UInt8] = { Array($0.prefix(20)) + [UInt8](repeating: 0, count: max(0, 20 - $0.count)) }

    func testTZifByMagicAndListOtherwise() throws {
        let tzif = try [UInt8](Data(contentsOf: URL(fileURLWithPath: "/usr/share/zoneinfo/right/UTC")))
        let fromTZif = try LeapSecondFile.parse(tzif, sha1: prefixHash)
        XCTAssertEqual(fromTZif, try TZifLeapParser.parse(tzif))
        let list = "#@\t3913056000\n2272060800\t10\t# 1 Jan 1972\n2287785600\t11\n"
        let digits = Array("391305600022720608001022877856001".utf8)
        let hash = prefixHash(digits)
        let words = stride(from: 0, to: 20, by: 4).map { i in String(hash[i..<i + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }, radix: 16) }
        let table = try LeapSecondFile.parse(Array((list + "#h " + words.joined(separator: " ") + "\n").utf8), sha1: prefixHash)
        XCTAssertEqual(table.entries.count, 2)
        XCTAssertEqual(table.expires, 3_913_056_000 - 2_208_988_800)
    }

    func testErrorsAreTheFormatsOwn() {
        XCTAssertThrowsError(try LeapSecondFile.parse(Array("TZif2".utf8), sha1: prefixHash)) { error in
            guard case .tzif(.truncated) = error as? LeapSecondFile.Error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try LeapSecondFile.parse(Array("#@ 3913056000\n2272060800 10\n".utf8), sha1: prefixHash)) { error in
            XCTAssertEqual(error as? LeapSecondFile.Error, .leapSecondsList(.missingHash))
            XCTAssertEqual("\(error)", "leap-seconds.list has no '#h' (hash) line")
        }
    }
}

import GPSTestSupport
import XCTest

final class NMEAGeneratorTests: XCTestCase {
    func testChecksumsMatchKnownSentences() {
        // Well-known examples (checksum = XOR of the bytes between $ and *).
        XCTAssertEqual(NMEAGenerator.checksum("GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,"), "47")
        XCTAssertEqual(NMEAGenerator.checksum("GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W"), "6A")
        XCTAssertTrue(NMEAGenerator.hasValidChecksum("$GPZDA,120659.00,21,11,2026,00,00*6A\r\n"))
        XCTAssertFalse(NMEAGenerator.hasValidChecksum("$GPZDA,120659.00,21,11,2026,00,00*6B\r\n"))
    }

    func testEpochCarriesTheSecondInEverySentence() {
        let second: Int64 = 1_795_262_819   // 2026-11-21T12:06:59Z
        let epoch = NMEAGenerator().epoch(second: second)
        XCTAssertEqual(epoch.count, 6, "RMC, GGA, GSA, 2 x GSV, ZDA")
        XCTAssertTrue(epoch.allSatisfy { NMEAGenerator.hasValidChecksum($0) && $0.hasSuffix("\r\n") })
        XCTAssertTrue(epoch[0].hasPrefix("$GPRMC,120659.00,A,"), epoch[0])
        XCTAssertTrue(epoch[0].contains(",211126,"), epoch[0])
        XCTAssertTrue(epoch[1].hasPrefix("$GPGGA,120659.00,4807.038,N,01131.000,E,1,04,"), epoch[1])
        XCTAssertTrue(epoch[2].hasPrefix("$GPGSA,A,3,01,02,03,04,,"), epoch[2])
        XCTAssertTrue(epoch[3].hasPrefix("$GPGSV,2,1,06,"), epoch[3])
        XCTAssertEqual(epoch[5], "$GPZDA,120659.00,21,11,2026,00,00*6A\r\n")
        XCTAssertEqual(NMEAGenerator(includeSatellites: false).sentencesPerEpoch, 3)
    }

    func testNoFixVariant() {
        let epoch = NMEAGenerator(fix: false).epoch(second: 0)
        XCTAssertTrue(epoch[0].hasPrefix("$GPRMC,000000.00,V,"), epoch[0])
        XCTAssertTrue(epoch[1].hasPrefix("$GPGGA,000000.00,,,,,0,00,"), epoch[1])
        XCTAssertTrue(epoch[2].hasPrefix("$GPGSA,A,1,,"), epoch[2])
        XCTAssertTrue(epoch.last!.hasPrefix("$GPZDA,000000.00,01,01,1970,"), epoch.last!)
        XCTAssertTrue(epoch.allSatisfy { NMEAGenerator.hasValidChecksum($0) })
    }

    func testCivilTime() {
        let leapDay = CivilTime(unixSeconds: 951_782_400)   // 2000-02-29T00:00:00Z
        XCTAssertEqual([leapDay.year, leapDay.month, leapDay.day], [2000, 2, 29])
        let t = CivilTime(unixSeconds: 1_767_323_045)       // 2026-01-02T03:04:05Z
        XCTAssertEqual([t.year, t.month, t.day, t.hour, t.minute, t.second], [2026, 1, 2, 3, 4, 5])
        let before = CivilTime(unixSeconds: -1)
        XCTAssertEqual([before.year, before.month, before.day, before.hour, before.minute, before.second], [1969, 12, 31, 23, 59, 59])
    }

    func testLogIsConsecutiveEpochs() {
        let log = NMEAGenerator().log(start: 1_767_323_045, seconds: 3)
        let zdas = log.split(separator: "\r\n").filter { $0.hasPrefix("$GPZDA") }
        XCTAssertEqual(zdas.map { String($0.prefix(16)) }, ["$GPZDA,030405.00", "$GPZDA,030406.00", "$GPZDA,030407.00"])
    }
}

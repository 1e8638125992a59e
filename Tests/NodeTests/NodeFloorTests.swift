import CFleetShim
@testable import Node
import TimeCore
import XCTest

/// The node's floor candidates: the compiler's build date, the leap file, the state database.
final class NodeFloorTests: XCTestCase {
    func testBuildDateParsing() {
        XCTAssertEqual(NodeFloor.buildDate("Dec  2 2026"), 1_796_169_600)
        XCTAssertEqual(NodeFloor.buildDate("Jan  1 1970"), 0)
        XCTAssertEqual(NodeFloor.buildDate("Feb 29 2028"), 1_835_395_200)
        XCTAssertNil(NodeFloor.buildDate("Foo  1 2026"))
        XCTAssertNil(NodeFloor.buildDate("Dec 32 2026"))
        XCTAssertNil(NodeFloor.buildDate(""))
        let compiled = NodeFloor.buildDate(String(cString: cfs_build_date()))
        XCTAssertNotNil(compiled, "this build's __DATE__ parses")
        XCTAssertGreaterThan(compiled ?? 0, 1_767_225_600, "built after 2026-01-01")
    }

    func testCandidatesTakeTheLeapFileAndTheDatabase() throws {
        let table = try LeapSecondTable(entries: [.init(unix: 63_072_000, taiMinusUTC: 10), .init(unix: 1_483_228_800, taiMinusUTC: 11)], expires: 1_900_000_000, updated: 1_750_000_000)
        let candidates = NodeFloor.candidates(leapFile: table, lastStored: 1_999_999_999)
        XCTAssertEqual(candidates.map(\.origin), ["build date", "leap file", "state database"])
        XCTAssertEqual(candidates[1].seconds, 1_750_000_000, "the file's update date, not its expiry")
        let floor = try XCTUnwrap(TimeFloor(candidates: candidates, local: 0))
        XCTAssertEqual(floor.origin, "state database")
        XCTAssertEqual(floor.seconds, 1_999_999_999)
    }
}

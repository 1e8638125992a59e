import NTPCore
@testable import TimeCore
import XCTest

/// The floor (`TimeFloor`), its text, and the keeper's refusals around it: below-floor times and offsets
/// beyond any era are counted drops with a reason, never a trap.
final class TimeFloorTests: XCTestCase {
    func testFloorIsTheHighestCandidateAndAdvancesWithLocalTime() throws {
        let floor = try XCTUnwrap(TimeFloor(candidates: [("build date", 1_780_000_000), ("state database", 1_790_000_000), ("leap file", 1_700_000_000)], local: 5_000_000_000))
        XCTAssertEqual(floor.origin, "state database")
        XCTAssertEqual(floor.nanoseconds(at: 5_000_000_000), 1_790_000_000_000_000_000)
        XCTAssertEqual(floor.nanoseconds(at: 7_500_000_000), 1_790_000_002_500_000_000, "plus the monotonic time since")
        XCTAssertEqual(floor.nanoseconds(at: 1_000_000_000), 1_790_000_000_000_000_000, "never below the stored floor")
        XCTAssertNil(TimeFloor(candidates: [], local: 0))
        XCTAssertEqual(TimeFloor(seconds: .max, local: 0, origin: "x").nanoseconds(at: 10), .max, "saturates")
    }

    func testUTCText() {
        XCTAssertEqual(UTCText.iso(seconds: 0), "1970-01-01T00:00:00Z")
        XCTAssertEqual(UTCText.iso(seconds: 1 << 31), "2038-01-19T03:14:08Z")
        XCTAssertEqual(UTCText.iso(seconds: 2_085_978_496), "2036-02-07T06:28:16Z")
        XCTAssertEqual(UTCText.iso(seconds: -1), "1969-12-31T23:59:59Z")
        XCTAssertEqual(UTCText.iso(nanoseconds: -1), "1969-12-31T23:59:59Z")
        XCTAssertEqual(UTCText.duration(-619_315_200), "-619315200.000 s (1024 weeks)")
        XCTAssertEqual(UTCText.duration(1), "+1.000 s")
        XCTAssertEqual(UTCText.duration(-1e300), "-\(1e300) s", "no trap on absurd sizes")
        _ = UTCText.iso(seconds: .min)
        _ = UTCText.iso(seconds: .max)
    }

    /// A GPS sample naming 2007 (1024 weeks back) against a 2026 floor: dropped, counted, with the reason.
    func testBelowFloorSampleIsACountedDropWithTheReason() {
        let gps = SourceID("GPS")
        var keeper = TimeKeeper(sources: [SourceDefinition(id: gps, kind: .gps)], base: 0)
        let local: LocalTime = 1_790_000_000_000_000_000
        keeper.floor = TimeFloor(seconds: 1_780_000_000, local: local, origin: "build date")
        XCTAssertFalse(keeper.add(SourceSample(localTime: local, offset: -619_315_200, dispersion: 1e-3), from: gps))
        XCTAssertTrue(keeper.add(SourceSample(localTime: local + 1_000_000_000, offset: 0.01, dispersion: 1e-3), from: gps))
        let report = keeper.sourceReports(at: local)[0]
        XCTAssertEqual(report.dropped, 1)
        XCTAssertEqual(report.droppedBelowFloor, 1)
        XCTAssertEqual(report.accepted, 1)
        guard case .belowFloor(_, let reason)? = keeper.drainEvents().first else { return XCTFail("no event") }
        XCTAssertTrue(reason.contains("time 2007-02-05T") && reason.contains("before the floor 2026-") && reason.contains("1024 weeks later would be 2026-"), reason)
    }

    /// Offsets no era can hold (a receiver reporting year 9999, NaN) are drops, not traps.
    func testAbsurdOffsetsAreDropsNotTraps() {
        let gps = SourceID("GPS")
        var keeper = TimeKeeper(sources: [SourceDefinition(id: gps, kind: .gps)])
        for (index, offset) in [2.5e11, -1e300, .infinity, .nan, 9.3e9].enumerated() {
            XCTAssertFalse(keeper.add(SourceSample(localTime: Int64(index + 1) * 1_000_000_000, offset: offset, dispersion: 1e-3), from: gps))
        }
        keeper.update(now: 10_000_000_000)
        XCTAssertEqual(keeper.sourceReports(at: 10_000_000_000)[0].dropped, 5)
    }
}

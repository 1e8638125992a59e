import NTPCore
import TimeCore
import TimeSimulation
import XCTest

/// Timescale scenarios through the node's own `TimeKeeper`: reference-clock jumps (week-number rollovers,
/// 1 s errors), the floor, the first lock, the 2036 and 2038 crossings, and a late leap second. Each test
/// checks what clients are served (stratum, leap bits, served time against true time) at every second.
final class TimescaleSimulationTests: XCTestCase {
    /// 2026-09-21T14:13:20Z.
    static let start: Int64 = 1_790_000_000
    static let rollover = -619_315_200.0  // 1024 weeks
    static let day: Int64 = 86_400

    /// The published error bound (root distance) is about one sigma for gpsd-grade samples in these runs:
    /// served errors reach up to 1.1 times it (measured; README "Timescale"). Beyond 1.25 times it fails.
    static let boundSlack = 1.25

    /// At every second of `range`: the served stratum and leap bits, and |served − true| within `maxError`
    /// and (when synchronised) within `boundSlack` times the published error bound.
    func assertServed(
        _ result: TimescaleRunner.Result, _ range: Range<Int>, stratum: UInt8, leap: LeapIndicator, maxError: Double = 0.01,
        checkBound: Bool = true, line: UInt = #line
    ) {
        var failures = 0
        let worst = result.steps[range].filter(\.state.isSynchronized).map { abs($0.error) / $0.errorBound }.max() ?? 0
        print("\(name) seconds \(range): worst |error| / bound \(worst), max |error| \(result.steps[range].map { abs($0.error) }.max() ?? 0) s")
        for step in result.steps[range] where failures < 3 {
            var problems: [String] = []
            if step.state.stratum != stratum { problems.append("stratum \(step.state.stratum) != \(stratum)") }
            if step.state.leap != leap { problems.append("leap \(step.state.leap) != \(leap)") }
            if abs(step.error) > maxError { problems.append("error \(step.error) beyond \(maxError)") }
            if checkBound, step.state.isSynchronized, abs(step.error) > step.errorBound * Self.boundSlack + 1e-9 {
                problems.append("error \(step.error) beyond the published bound \(step.errorBound)")
            }
            if !problems.isEmpty {
                failures += 1
                XCTFail("second \(step.second): \(problems.joined(separator: ", ")) (selected \(step.selected?.name ?? "-"), reason \(step.reason ?? "-"))", line: line)
            }
        }
    }

    func gps(_ result: TimescaleRunner.Result) -> SourceReport { result.sources.first { $0.id.name == "GPS" }! }

    // MARK: Jumps

    /// A lone GPS rolls over 1024 weeks back (no floor to catch it): the jump is held and counted, the node
    /// holds over (stratum 1, growing bound) and becomes unsynchronised after the holdover limit; the
    /// rolled-back time is never served.
    func testRolloverMidRunHoldsOverThenUnsynchronised() {
        var scenario = TimescaleScenario(name: "rollover", start: Self.start, duration: 1_300)
        scenario.gps = { $0 < 300 ? 0 : TimescaleSimulationTests.rollover }
        let result = TimescaleRunner(scenario: scenario).run()
        assertServed(result, 10..<300, stratum: 1, leap: .noWarning)
        // Holdover after five minutes of gpsd-grade samples alone: the served error grows to about 14 ms in
        // ten minutes, up to 2.7 times the published bound (a finding about the discipline's frequency
        // estimate from such samples, reported in README "Timescale"); here only the service is checked.
        assertServed(result, 300..<895, stratum: 1, leap: .noWarning, maxError: 0.05, checkBound: false)
        // Unsynchronised: the clock runs on (nothing is claimed), far from the rolled-back date.
        assertServed(result, 905..<1_300, stratum: 16, leap: .unsynchronized, maxError: 0.1)
        let gps = gps(result)
        XCTAssertEqual(gps.droppedJumped, 1_000, "every sample after the jump is counted as dropped")
        XCTAssertEqual(gps.dropped, gps.droppedJumped)
        XCTAssertTrue(gps.note?.contains("1024 weeks") == true && gps.note?.contains("GPS week-number rollover?") == true, gps.note ?? "-")
        XCTAssertTrue(gps.note?.contains("holding over") == true, gps.note ?? "-")
        XCTAssertTrue(result.events.contains(.jumpHeld(SourceID("GPS"), size: result.events.compactMap {
            if case .jumpHeld(_, let size) = $0 { size } else { nil } }.first ?? 0)))
        XCTAssertFalse(result.events.contains { if case .jumpFollowed = $0 { true } else { false } }, "a lone GPS's jump is never followed")
    }

    /// The GPS jumps +1 s (a leap second applied at the wrong time) while two upstreams keep the old time:
    /// the majority is followed (stratum 2), the GPS is held with the reason, and when it comes back it is
    /// used again.
    func testJumpAgainstTheMajorityFollowsTheMajority() {
        var scenario = TimescaleScenario(name: "majority", start: Self.start, duration: 900)
        scenario.gps = { $0 >= 300 && $0 < 600 ? 1.0 : 0 }
        scenario.gpsOptions = SourceOptions(prefer: true)
        scenario.others = [.init(name: "a") { _ in 0 }, .init(name: "b") { _ in 0 }]
        let result = TimescaleRunner(scenario: scenario).run()
        assertServed(result, 30..<300, stratum: 1, leap: .noWarning)
        assertServed(result, 300..<600, stratum: 2, leap: .noWarning)
        assertServed(result, 610..<900, stratum: 1, leap: .noWarning)
        XCTAssertTrue(result.steps[300..<600].allSatisfy { $0.selected?.name != "GPS" })
        XCTAssertEqual(gps(result).droppedJumped, 300)
        XCTAssertTrue(result.events.contains(.jumpReverted(SourceID("GPS"), size: result.events.compactMap {
            if case .jumpHeld(_, let size) = $0 { size } else { nil } }.first ?? 0)))
    }

    /// A GPS that was 1 s wrong (followed alone at first, outvoted once two upstreams appear) corrects
    /// itself: its +1 s jump is agreed by the upstreams, followed after the persistence time, and logged.
    func testAgreedJumpIsFollowedAndLogged() {
        var scenario = TimescaleScenario(name: "agreed", start: Self.start, duration: 900)
        scenario.gps = { $0 < 600 ? -1.0 : 0 }
        scenario.gpsOptions = SourceOptions(prefer: true)
        scenario.others = [.init(name: "a") { $0 < 300 ? nil : 0 }, .init(name: "b") { $0 < 300 ? nil : 0 }]
        let result = TimescaleRunner(scenario: scenario).run()
        // Following a GPS that is 1 s wrong: what it claims is served (no bound can know better).
        assertServed(result, 10..<300, stratum: 1, leap: .noWarning, maxError: 1.01, checkBound: false)
        assertServed(result, 340..<600, stratum: 2, leap: .noWarning)
        assertServed(result, 620..<900, stratum: 1, leap: .noWarning)
        let followed = result.events.first { if case .jumpFollowed = $0 { true } else { false } }
        guard case .jumpFollowed(let id, let size, let agreedBy)? = followed else { return XCTFail("no jump followed: \(result.events)") }
        XCTAssertEqual(id, SourceID("GPS"))
        XCTAssertEqual(size, 1, accuracy: 0.01)
        XCTAssertEqual(Set(agreedBy), ["a", "b"])
    }

    /// The same +1 s, but across a reconnection (gpsd restarted): a new connection is a new timescale, so
    /// the lone GPS is followed after it rather than held (the jump rule is for a source that stays
    /// connected).
    func testReconnectedSourceStartsAfresh() {
        var scenario = TimescaleScenario(name: "reconnect", start: Self.start, duration: 400)
        scenario.gps = { $0 >= 200 && $0 < 220 ? nil : ($0 >= 220 ? 1.0 : 0) }
        scenario.restarts = [220]
        let result = TimescaleRunner(scenario: scenario).run()
        assertServed(result, 10..<200, stratum: 1, leap: .noWarning)
        assertServed(result, 230..<400, stratum: 1, leap: .noWarning, maxError: 1.01, checkBound: false)
        XCTAssertEqual(result.steps.last?.error ?? 0, 1, accuracy: 0.01, "following the reconnected GPS")
        XCTAssertEqual(gps(result).droppedJumped, 0)
    }

    // MARK: Floor

    /// A receiver with the week-number bug at boot: every sample is below the floor (build date), refused
    /// with the reason and the likely cause; nothing is ever served as synchronised.
    func testPreFloorTimeIsRefusedWithTheReason() {
        var scenario = TimescaleScenario(name: "rollover-at-boot", start: Self.start, duration: 300)
        scenario.floor = (Self.start - 30 * Self.day, "build date")
        scenario.gps = { _ in TimescaleSimulationTests.rollover }
        let result = TimescaleRunner(scenario: scenario).run()
        assertServed(result, 0..<300, stratum: 16, leap: .unsynchronized)
        let gps = gps(result)
        XCTAssertEqual(gps.droppedBelowFloor, 300)
        XCTAssertEqual(gps.accepted, 0)
        let note = gps.note ?? "-"
        XCTAssertTrue(note.contains("is before the floor") && note.contains("(build date)") && note.contains("1024 weeks later would be 2026-09-21"), note)
        XCTAssertTrue(result.tracking.reason?.contains("before the floor") == true, result.tracking.reason ?? "-")
        XCTAssertEqual(result.tracking.floorOrigin, "build date")
    }

    /// A Raspberry Pi without RTC whose clock reads 1970: the node's clock starts at the floor, never serves
    /// below it, and takes the GPS time as its first step.
    func testClockAt1970StartsAtTheFloorAndLocks() {
        var scenario = TimescaleScenario(name: "pi-1970", start: Self.start, duration: 120)
        scenario.systemClockError = -Double(Self.start) + 30
        scenario.floor = (Self.start - 10 * Self.day, "build date")
        scenario.gps = { $0 < 5 ? nil : 0 }
        let result = TimescaleRunner(scenario: scenario).run()
        let floor = (Self.start - 10 * Self.day) * 1_000_000_000
        XCTAssertTrue(result.steps.allSatisfy { $0.served >= floor }, "never below the floor")
        assertServed(result, 0..<5, stratum: 16, leap: .unsynchronized, maxError: 10.1 * Double(Self.day))
        assertServed(result, 15..<120, stratum: 1, leap: .noWarning)
    }

    // MARK: First lock

    /// The system clock is synchronised (adjtimex) and the GPS is two hours away: the first step is held,
    /// with the reason, until an operator confirms; then the node locks.
    func testFirstStepBeyondTheLimitWaitsForTheOperator() {
        var scenario = TimescaleScenario(name: "first-step-held", start: Self.start, duration: 300)
        scenario.systemClockError = -7_200
        scenario.systemClockSynchronized = true
        scenario.gps = { _ in 0 }
        scenario.confirmations = [120]
        let result = TimescaleRunner(scenario: scenario).run()
        assertServed(result, 0..<120, stratum: 16, leap: .unsynchronized, maxError: 7_200.1)
        XCTAssertTrue(result.steps[20].reason?.contains("first step of +7") == true && result.steps[20].reason?.contains("max_first_step") == true,
                      result.steps[20].reason ?? "-")
        assertServed(result, 125..<300, stratum: 1, leap: .noWarning)
        XCTAssertTrue(result.events.contains { if case .firstStepHeld = $0 { true } else { false } })
    }

    /// The same two hours within the limit's reach are refused only with a synchronised system clock: a
    /// 30 s first step is taken at once.
    func testSmallFirstStepIsTakenWithASynchronisedSystemClock() {
        var scenario = TimescaleScenario(name: "first-step-small", start: Self.start, duration: 60)
        scenario.systemClockError = -30
        scenario.systemClockSynchronized = true
        scenario.gps = { _ in 0 }
        let result = TimescaleRunner(scenario: scenario).run()
        assertServed(result, 10..<60, stratum: 1, leap: .noWarning)
    }

    /// A Raspberry Pi without RTC after a month off (fake-hwclock a month behind, kernel unsynchronised):
    /// the month-long first step is taken, and logged with why.
    func testPiAfterAMonthOffComesUp() {
        var scenario = TimescaleScenario(name: "pi-month-off", start: Self.start, duration: 120)
        scenario.systemClockError = -30 * Double(Self.day)
        scenario.floor = (Self.start - 40 * Self.day, "build date")
        scenario.gps = { _ in 0 }
        let result = TimescaleRunner(scenario: scenario).run()
        assertServed(result, 10..<120, stratum: 1, leap: .noWarning)
        let taken = result.events.first { if case .firstStepTaken = $0 { true } else { false } }
        XCTAssertTrue(taken?.description.contains("not synchronised") == true, "\(String(describing: taken))")
    }

    // MARK: Eras

    /// Across 2038-01-19T03:14:08Z (2^31 Unix seconds) and 2036-02-07T06:28:16Z (NTP era 1): served time
    /// advances one second per second with no 2^32 s step, and every served time survives the NTP wire
    /// format with the floor as era pivot.
    func testServedTimeCrosses2036And2038WithoutAWrap() {
        for crossing: Int64 in [2_085_978_496, 1 << 31] {
            var scenario = TimescaleScenario(name: "era-\(crossing)", start: crossing - 300, duration: 600)
            scenario.floor = (Self.start, "build date")
            scenario.gps = { _ in 0 }
            let result = TimescaleRunner(scenario: scenario).run()
            assertServed(result, 10..<600, stratum: 1, leap: .noWarning)
            let floor = UnixTime(seconds: Self.start, nanoseconds: 0)
            for (previous, step) in zip(result.steps.dropFirst(10), result.steps.dropFirst(11)) {
                XCTAssertEqual(Double(step.served - previous.served) * 1e-9, 1, accuracy: 0.01, "second \(step.second) of \(crossing)")
                let served = UnixTime(nanosecondsSinceEpoch: step.served)
                XCTAssertEqual(NTPTimestamp(served).unixTime(near: floor), served)
            }
        }
    }

    // MARK: Leap seconds

    /// A receiver that applies an inserted leap second five minutes late (1 s ahead after midnight): the
    /// node, which knows the leap from its table, announces it, inserts it, holds the GPS's late second
    /// apart and serves the upstreams' time meanwhile; no client sees the receiver's error.
    func testLateLeapSecondFromTheGPSIsHeldApart() {
        let midnight: Int64 = 1_798_761_600  // 2027-01-01T00:00:00Z
        var scenario = TimescaleScenario(name: "leap-late-gps", start: midnight - 1_800, duration: 3_000)
        scenario.leapInsertion = midnight - 1
        scenario.gps = { $0 >= 1_800 && $0 < 2_100 ? 1.0 : 0 }
        scenario.gpsOptions = SourceOptions(prefer: true)
        scenario.others = [.init(name: "a") { _ in 0 }, .init(name: "b") { _ in 0 }]
        let result = TimescaleRunner(scenario: scenario).run()
        assertServed(result, 30..<1_799, stratum: 1, leap: .insertSecond)
        assertServed(result, 1_801..<2_100, stratum: 2, leap: .noWarning)
        assertServed(result, 2_110..<3_000, stratum: 1, leap: .noWarning)
        XCTAssertEqual(gps(result).droppedJumped, 300)
    }

    /// No leap table: the GPS side announces the leap (SHM leap bits during the last day): the node serves
    /// the warning, inserts the second at midnight and stays within bounds of UTC on both sides.
    func testLeapSecondAnnouncedByTheGPS() {
        let midnight: Int64 = 1_798_761_600
        var scenario = TimescaleScenario(name: "leap-from-gps", start: midnight - 1_800, duration: 2_400)
        scenario.leapInsertion = midnight - 1
        scenario.leapInTable = false
        scenario.gps = { _ in 0 }
        scenario.gpsLeap = { $0 < 1_800 ? .insertSecond : .noWarning }
        let result = TimescaleRunner(scenario: scenario).run()
        assertServed(result, 30..<1_799, stratum: 1, leap: .insertSecond)
        assertServed(result, 1_801..<2_400, stratum: 1, leap: .noWarning)
        XCTAssertEqual(gps(result).droppedJumped ?? 0, 0, "the leap is no jump")
    }
}

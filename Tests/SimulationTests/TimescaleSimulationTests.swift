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

    func gps(_ result: TimescaleRunner.Result) -> SourceReport { result.sources.first { $0.id.name == "GPS" }! }

    // MARK: Jumps

    /// A lone GPS rolls over 1024 weeks back (no floor to catch it): the jump is held and counted, the node
    /// holds over (stratum 1, growing bound) and becomes unsynchronised after the holdover limit; the
    /// rolled-back time is never served.
    func testRolloverMidRunHoldsOverThenUnsynchronised() {
        var scenario = TimescaleScenario(name: "rollover", start: Self.start, duration: 1_300)
        scenario.gps = { $0 < 300 ? 0 : TimescaleSimulationTests.rollover }
        let result = TimescaleRunner(scenario: scenario).run()
        assertServed(result, 0..<300, stratum: 1, leap: .noWarning)
        // Holdover after five minutes of gpsd-grade samples alone: the bound grows with three standard errors
        // of the frequency plus 1 ppm, and still holds the true error.
        assertServed(result, 300..<895, stratum: 1, leap: .noWarning)
        // Unsynchronised: the clock runs on (nothing is claimed), far from the rolled-back date.
        assertServed(result, 905..<1_300, stratum: 16, leap: .unsynchronized, maxError: 0.1)
        assertHonest(result)
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
        assertHonest(result)
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
        // Following a GPS that is 1 s wrong: what it claims is served (no bound can know better); the bound
        // holds against the GPS's own timeline.
        assertServed(result, 0..<300, stratum: 1, leap: .noWarning, maxError: 1.01, referenceError: -1)
        assertServed(result, 340..<600, stratum: 2, leap: .noWarning)
        assertServed(result, 620..<900, stratum: 1, leap: .noWarning)
        // Until the second upstream answers (second 301) the GPS is 1 s wrong with no majority to tell:
        // checked on its timeline.
        assertHonest(result) { $0 <= 300 ? -1 : 0 }
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
        assertServed(result, 230..<400, stratum: 1, leap: .noWarning, maxError: 1.01, referenceError: 1)
        XCTAssertEqual(result.steps.last?.error ?? 0, 1, accuracy: 0.01, "following the reconnected GPS")
        assertHonest(result) { $0 < 220 ? 0 : 1 }
        XCTAssertEqual(gps(result).droppedJumped, 0)
    }

    /// A lone GPS jumps: 1024 weeks forward (a receiver "correcting" a rollover it never had), 1 hour back
    /// and 1 hour forward (firmware bugs). Each is held and counted; the node holds over within its bound
    /// and becomes unsynchronised after the holdover limit; the jumped time is never served.
    func testLoneGPSJumpsAreHeldEitherWay() {
        for (label, jump) in [("1024 weeks forward", -Self.rollover), ("1 h back", -3_600.0), ("1 h forward", 3_600.0)] {
            var scenario = TimescaleScenario(name: "jump \(label)", start: Self.start, duration: 1_000)
            scenario.gps = { $0 < 300 ? 0 : jump }
            let result = TimescaleRunner(scenario: scenario).run()
            assertServed(result, 0..<300, stratum: 1, leap: .noWarning)
            assertServed(result, 300..<895, stratum: 1, leap: .noWarning)
            assertServed(result, 905..<1_000, stratum: 16, leap: .unsynchronized, maxError: 0.1)
            assertHonest(result)
            let gps = gps(result)
            XCTAssertEqual(gps.droppedJumped, 700, label)
            XCTAssertEqual(gps.heldJump ?? 0, jump, accuracy: 0.01, "\(label): status carries the held jump")
            XCTAssertFalse(result.events.contains { if case .jumpFollowed = $0 { true } else { false } }, label)
        }
    }

    /// Holdover after an hour of lock: the frequency is known far better than after five minutes, so the
    /// bound grows more slowly, and it still holds the true error until the node leaves synchronised service.
    func testHoldoverAfterALongLock() {
        var scenario = TimescaleScenario(name: "holdover-long", start: Self.start, duration: 4_400)
        scenario.gps = { $0 < 3_600 ? 0 : nil }
        let result = TimescaleRunner(scenario: scenario).run()
        assertServed(result, 0..<3_600, stratum: 1, leap: .noWarning)
        assertServed(result, 3_600..<4_195, stratum: 1, leap: .noWarning)
        assertServed(result, 4_205..<4_400, stratum: 16, leap: .unsynchronized)
        assertHonest(result)
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
        XCTAssertEqual(gps.belowFloor, true, "status says the newest sample was below the floor")
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
        assertHonest(result)
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
        assertHonest(result)
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
        assertHonest(result)
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
        assertHonest(result)
        let taken = result.events.first { if case .firstStepTaken = $0 { true } else { false } }
        XCTAssertTrue(taken?.description.contains("not synchronised") == true, "\(String(describing: taken))")
    }

    /// First lock 1024 weeks off (a receiver with the rollover bug the other way, above the floor) with two
    /// siblings that have the right time: the start-up wait lets the siblings answer first, the GPS is
    /// outvoted as a falseticker, the node serves the siblings' time at stratum 2 and never the GPS's date.
    func testFirstLockYearsOffWithSiblingsIsOutvoted() {
        var scenario = TimescaleScenario(name: "first-lock-off-siblings", start: Self.start, duration: 300)
        scenario.configuration.crossCheckGrace = 60
        scenario.gps = { _ in -TimescaleSimulationTests.rollover }
        scenario.others = [.init(name: "a", kind: .sibling) { _ in 0 }, .init(name: "b", kind: .sibling) { _ in 0 }]
        let result = TimescaleRunner(scenario: scenario).run()
        let served = result.steps.filter(\.state.isSynchronized)
        XCTAssertFalse(served.isEmpty)
        XCTAssertTrue(served.allSatisfy { abs($0.error) < 0.01 && $0.state.stratum == 2 }, "never the GPS's date, never stratum 1")
        assertServed(result, 20..<300, stratum: 2, leap: .noWarning)
        assertHonest(result)
        XCTAssertTrue(result.steps[20..<300].allSatisfy { $0.selected?.name != "GPS" })
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
            assertServed(result, 0..<600, stratum: 1, leap: .noWarning)
            assertHonest(result)
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
        assertHonest(result)
        // The samples of the two seconds after midnight are a second off as any receiver's rendering of the
        // leap second may be: dropped quietly; the jump is held from the next one.
        XCTAssertEqual(gps(result).dropped, 300)
        XCTAssertEqual(gps(result).droppedJumped ?? 0, 297, accuracy: 2)
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
        assertHonest(result)
        XCTAssertEqual(gps(result).droppedJumped ?? 0, 0, "the leap is no jump")
    }

    /// The leap file announces the leap and the receiver carries it out, as POSIX does (23:59:59 repeated)
    /// or as gpsd reports NMEA's 23:59:60 (00:00:00 repeated): the node inserts the second itself, the
    /// receiver's odd second is dropped quietly, and nothing jumps, steps or warns at midnight.
    func testLeapSecondFromTheTableAndTheReceiverAgree() {
        let midnight: Int64 = 1_798_761_600
        for gpsdStyle in [false, true] {
            var scenario = TimescaleScenario(name: "leap-agree-\(gpsdStyle)", start: midnight - 600, duration: 1_200)
            scenario.leapInsertion = midnight - 1
            scenario.gps = { _ in 0 }
            scenario.gpsLeapAsNextSecond = gpsdStyle
            let result = TimescaleRunner(scenario: scenario).run()
            assertServed(result, 0..<599, stratum: 1, leap: .insertSecond)
            assertServed(result, 601..<1_200, stratum: 1, leap: .noWarning)
            assertHonest(result)
            XCTAssertEqual(result.events, [], "no jump, step or warning: \(result.events)")
            XCTAssertEqual(result.tracking.steps, 1, "only the first step")
            XCTAssertEqual(gps(result).droppedJumped, 0)
            XCTAssertEqual(gps(result).dropped, gpsdStyle ? 1 : 0, "gpsd's repeated 00:00:00 is the one sample dropped")
        }
    }

    /// The receiver inserts a leap second the node's table does not list and the table has expired (or
    /// there is none): the receiver is probably right. A clear warning; the node stops serving as
    /// synchronised at once (a second is not within any bound) rather than hold over on a timeline that
    /// may be a second off, and follows the receiver once an operator confirms.
    func testReceiverLeapUnknownToAnExpiredTable() {
        let midnight: Int64 = 1_798_761_600
        var scenario = TimescaleScenario(name: "leap-unknown", start: midnight - 600, duration: 1_200)
        scenario.leapInsertion = midnight - 1
        scenario.leapInTable = false
        scenario.gps = { _ in 0 }
        scenario.confirmations = [720]
        let result = TimescaleRunner(scenario: scenario).run()
        assertServed(result, 0..<600, stratum: 1, leap: .noWarning)
        assertServed(result, 601..<720, stratum: 16, leap: .unsynchronized, maxError: 1.01)
        assertServed(result, 735..<1_200, stratum: 1, leap: .noWarning)
        assertHonest(result)
        XCTAssertTrue(result.events.contains(.unknownLeap(SourceID("GPS"), inserted: true, midnight: midnight, tableCovers: false)), "\(result.events)")
        let warning = result.events.first { if case .unknownLeap = $0 { true } else { false } }?.description ?? "-"
        XCTAssertTrue(warning.contains("inserted a leap second at 2027-01-01T00:00:00Z that the leap-second table does not list")
            && warning.contains("update it (leap_file)"), warning)
    }

    /// The receiver steps back a second at a month's end although the node's valid table lists no leap
    /// there: the receiver is wrong. The warning says so; the node holds over on its own (right) time.
    func testReceiverLeapTheTableRulesOut() {
        let midnight: Int64 = 1_798_761_600
        var scenario = TimescaleScenario(name: "leap-bogus", start: midnight - 600, duration: 900)
        scenario.leapTableValidUntil = midnight + 180 * 86_400
        scenario.gps = { $0 >= 600 ? -1 : 0 }
        let result = TimescaleRunner(scenario: scenario).run()
        assertServed(result, 0..<600, stratum: 1, leap: .noWarning)
        assertServed(result, 600..<900, stratum: 1, leap: .noWarning)
        assertHonest(result)
        XCTAssertTrue(result.events.contains(.unknownLeap(SourceID("GPS"), inserted: true, midnight: midnight, tableCovers: true)), "\(result.events)")
        XCTAssertEqual(gps(result).droppedJumped, 300)
    }
}

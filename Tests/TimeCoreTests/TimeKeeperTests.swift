import NTPCore
import TimeCore
import XCTest

/// The keeper's own rules, one at a time (the simulation tests cover it working as a whole).
final class TimeKeeperTests: XCTestCase {
    let second: Int64 = 1_000_000_000
    let start: LocalTime = 1_790_000_000 * 1_000_000_000

    func testPulsesNeedALockAndAnUnambiguousSecond() {
        let gps = SourceID("GPS"), pps = SourceID("PPS")
        var keeper = TimeKeeper(sources: [
            SourceDefinition(id: gps, kind: .gps, options: SourceOptions(noselect: true)),
            SourceDefinition(id: pps, kind: .pps, lock: gps),
        ])
        XCTAssertEqual(keeper.addPulse(from: pps, local: start), .unnumbered, "no GPS time yet")
        XCTAssertEqual(keeper.addPulse(from: SourceID("nope"), local: start), .unknownSource)
        // The GPS says the clock is 0.3 s behind: a pulse 0.3 s before a served whole second marks that second.
        keeper.add(SourceSample(localTime: start, offset: 0.3, dispersion: 1e-3), from: gps)
        keeper.update(now: start)
        guard case .accepted(let offset) = keeper.addPulse(from: pps, local: start + second - 300_000_000) else {
            return XCTFail("pulse not accepted")
        }
        XCTAssertEqual(offset, 0.3, accuracy: 1e-9)
        // Half a second off the lock's seconds: which second the pulse marks cannot be told.
        guard case .ambiguous = keeper.addPulse(from: pps, local: start + 2 * second + 200_000_000) else {
            return XCTFail("an ambiguous pulse was numbered")
        }
    }

    func testBadSamplesAreCountedNotFiled() {
        let id = SourceID("a")
        var keeper = TimeKeeper(sources: [SourceDefinition(id: id, kind: .ntp)])
        XCTAssertFalse(keeper.add(SourceSample(localTime: start, offset: .nan, dispersion: 0), from: id))
        XCTAssertFalse(keeper.add(SourceSample(localTime: start, offset: 0, delay: -1, dispersion: 0), from: id))
        XCTAssertTrue(keeper.add(SourceSample(localTime: start, offset: 0, dispersion: 0), from: id))
        XCTAssertFalse(keeper.add(SourceSample(localTime: start - 1, offset: 0, dispersion: 0), from: id), "time went backwards")
        XCTAssertFalse(keeper.add(SourceSample(localTime: start, offset: 0, dispersion: 0), from: SourceID("unknown")))
        let report = keeper.sourceReports(at: start).first
        XCTAssertEqual(report?.accepted, 1)
        XCTAssertEqual(report?.dropped, 3)
    }

    func testUpstreamStratumPlusOneAndStratum15IsUnsynchronised() {
        for (upstream, served) in [(UInt8(2), UInt8(3)), (15, 16)] {
            let id = SourceID("a")
            var keeper = TimeKeeper(sources: [SourceDefinition(id: id, kind: .ntp, referenceID: ReferenceID(rawValue: 0xC000_0201))])
            keeper.polled(id)
            keeper.add(SourceSample(localTime: start, offset: 0.001, delay: 0.002, dispersion: 1e-5, stratum: upstream), from: id)
            keeper.update(now: start)
            let state = keeper.serverState(at: start, precision: -20)
            XCTAssertEqual(state.stratum, served)
            if served == 16 {
                XCTAssertEqual(state.leap, .unsynchronized)
            } else {
                XCTAssertEqual(state.referenceID, ReferenceID(rawValue: 0xC000_0201))
                XCTAssertEqual(state.leap, .noWarning)
            }
        }
    }

    /// The published root dispersion carries the system jitter (RFC 5905's clock_update(), chrony's standard
    /// deviation): a lone GPS whose samples scatter by ±0.2 s tells clients so, not only its 1 ms dispersion.
    func testPublishedRootDispersionCarriesTheJitter() throws {
        let id = SourceID("GPS")
        var keeper = TimeKeeper(sources: [SourceDefinition(id: id, kind: .gps, poll: 1)])
        for k in 0..<8 {
            keeper.add(SourceSample(localTime: start + Int64(k) * second, offset: k % 2 == 0 ? 0.2 : -0.2, dispersion: 1e-3), from: id)
            keeper.update(now: start + Int64(k) * second)
        }
        let now = start + 7 * second
        XCTAssertEqual(keeper.selection?.selected, id)
        let jitter = try XCTUnwrap(keeper.selection?.jitter)
        XCTAssertGreaterThan(jitter, 0.1)
        XCTAssertGreaterThanOrEqual(keeper.serverState(at: now, precision: -20).rootDispersion, jitter)
        XCTAssertGreaterThanOrEqual(keeper.errorBound(at: now), jitter)
    }

    /// A lone SHM clock that scatters by ±0.4 s is `~` and not followed: the node holds over on what it had,
    /// says why, and follows it again once it steadies; scattered samples never leave it held as a "jump"
    /// (they are measured from the served clock, not from the last, possibly scattered, sample).
    func testJitteringReferenceClockIsHeldOverAndFollowedAgain() {
        let id = SourceID("SHM")
        var keeper = TimeKeeper(sources: [SourceDefinition(id: id, kind: .shm, poll: 1)])
        var k: Int64 = 0
        func feed(_ offset: Double) {
            keeper.add(SourceSample(localTime: start + k * second, offset: offset, dispersion: 1e-6), from: id)
            keeper.update(now: start + k * second)
            k += 1
        }
        for _ in 0..<30 { feed(0) }
        XCTAssertEqual(keeper.selection?.selected, id)
        // +0.4, -0.4, ...: each 0.8 s from the last sample (beyond the 0.5 s jump threshold), 0.4 s from the
        // served clock.
        for n in 0..<20 { feed(n % 2 == 0 ? 0.4 : -0.4) }
        XCTAssertNil(keeper.selection?.selected)
        XCTAssertEqual(keeper.sourceReports(at: start + k * second).first?.state, .jittery)
        let reason = keeper.tracking(at: start + k * second, precision: -20).reason ?? "-"
        XCTAssertTrue(reason.contains("jittery: jitter") && reason.contains("holding over"), reason)
        XCTAssertEqual(keeper.serverState(at: start + k * second, precision: -20).stratum, 1, "holding over")
        XCTAssertEqual(keeper.sourceReports(at: start + k * second).first?.droppedJumped, 0)
        for _ in 0..<10 { feed(0) }
        XCTAssertEqual(keeper.selection?.selected, id, "followed again once steady")
        XCTAssertFalse(keeper.drainEvents().contains { if case .jumpHeld = $0 { true } else { false } })
    }

    func testHoldoverThenUnsynchronisedAfterTheLimit() {
        var configuration = TimeKeeperConfiguration()
        configuration.holdoverLimit = 600
        let id = SourceID("GPS")
        var keeper = TimeKeeper(configuration: configuration, sources: [SourceDefinition(id: id, kind: .gps, poll: 1)])
        for k in 0..<30 {
            keeper.add(SourceSample(localTime: start + Int64(k) * second, offset: 0, dispersion: 1e-6), from: id)
            keeper.update(now: start + Int64(k) * second)
        }
        XCTAssertNil(keeper.holdover(at: start + 30 * second))
        keeper.update(now: start + 60 * second)
        XCTAssertNotNil(keeper.holdover(at: start + 60 * second))
        XCTAssertEqual(keeper.serverState(at: start + 60 * second, precision: -20).stratum, 1, "holdover keeps serving")
        let bound1 = keeper.errorBound(at: start + 60 * second)
        let bound2 = keeper.errorBound(at: start + 600 * second)
        XCTAssertGreaterThan(bound2, bound1, "the bound grows in holdover")
        keeper.update(now: start + 700 * second)
        XCTAssertFalse(keeper.isSynchronized(at: start + 700 * second))
        XCTAssertEqual(keeper.serverState(at: start + 700 * second, precision: -20).leap, .unsynchronized)
        XCTAssertTrue(keeper.tracking(at: start + 700 * second, precision: -20).reason?.contains("GPS: no sample") ?? false)
    }
}

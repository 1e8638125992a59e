import NTPCore
import TimeCore
import XCTest

/// Siblings in the keeper: a cross-check for a healthy reference clock, never combined with it; the majority
/// that outvotes a lying one; the fallback when it is gone; and RFC 5905 loop detection by reference id.
final class SiblingSelectionTests: XCTestCase {
    let second: Int64 = 1_000_000_000
    let start: LocalTime = 1_790_000_000 * 1_000_000_000
    let gps = SourceID("GPS"), a = SourceID("192.0.2.11"), b = SourceID("192.0.2.12")
    let own = ReferenceID(rawValue: 0xC000_020A)  // 192.0.2.10, this node

    func keeper() -> TimeKeeper {
        var configuration = TimeKeeperConfiguration()
        configuration.ownReferenceIDs = [own]
        return TimeKeeper(configuration: configuration, sources: [
            SourceDefinition(id: gps, kind: .shm, poll: 2),
            SourceDefinition(id: a, kind: .sibling, referenceID: ReferenceID(rawValue: 0xC000_020B)),
            SourceDefinition(id: b, kind: .sibling, referenceID: ReferenceID(rawValue: 0xC000_020C)),
        ])
    }

    /// Feeds `seconds` of samples: the GPS at `gpsOffset`, the siblings (stratum 1, or `siblingStratum`
    /// with `siblingReference`) at 0, 100 µs round trip.
    func run(
        _ keeper: inout TimeKeeper, from: Int, seconds: Int, gpsOffset: Double?, siblingStratum: UInt8 = 1,
        siblingReference: ReferenceID = ReferenceID(ascii: "GPS")
    ) {
        for step in from..<(from + seconds) {
            let now = start + Int64(step) * second
            if let gpsOffset {
                keeper.add(SourceSample(localTime: now, offset: gpsOffset, dispersion: 1e-6), from: gps)
            }
            for sibling in [a, b] {
                keeper.polled(sibling)
                keeper.add(SourceSample(
                    localTime: now - 50_000, offset: 0, delay: 1e-4, dispersion: 1e-6, rootDelay: 0, rootDispersion: 2e-6,
                    stratum: siblingStratum, referenceID: siblingReference), from: sibling)
            }
            keeper.update(now: now)
        }
    }

    func report(_ keeper: TimeKeeper, _ id: SourceID, at step: Int) -> SourceReport? {
        keeper.sourceReports(at: start + Int64(step) * second).first { $0.id == id }
    }

    func testHealthyReferenceClockIsServedAndSiblingsOnlyCrossCheck() {
        var keeper = keeper()
        run(&keeper, from: 0, seconds: 20, gpsOffset: 0)
        XCTAssertEqual(keeper.selection?.selected, gps)
        XCTAssertEqual(keeper.serverState(at: start + 20 * second, precision: -20).stratum, 1)
        for sibling in [a, b] {
            XCTAssertEqual(keeper.selection?.state(of: sibling), .notCombined)
            XCTAssertEqual(keeper.selection?.verdict(for: sibling)?.note, "cross-check only (a reference clock is selected)")
        }
        XCTAssertEqual(keeper.selection?.combined, [gps], "the served offset is the reference clock's alone")
    }

    func testALyingReferenceClockIsOutvotedBySiblings() throws {
        var keeper = keeper()
        run(&keeper, from: 0, seconds: 20, gpsOffset: 0)
        // The GPS now says the clock is 5 ms behind; the siblings disagree.
        run(&keeper, from: 20, seconds: 10, gpsOffset: 0.005)
        XCTAssertEqual(keeper.selection?.state(of: gps), .falseticker)
        XCTAssertNotEqual(keeper.selection?.selected, gps)
        let state = keeper.serverState(at: start + 30 * second, precision: -20)
        XCTAssertEqual(state.stratum, 2, "following a sibling, not the GPS")
        let note = try XCTUnwrap(report(keeper, gps, at: 30)?.note)
        XCTAssertTrue(note.hasPrefix("falseticker: reference clock disagrees with the majority (192.0.2.11, 192.0.2.12) by +"), note)
        XCTAssertTrue(note.contains("ms"), note)
    }

    func testLostReferenceClockFollowsBestSiblingAndReturns() {
        var keeper = keeper()
        run(&keeper, from: 0, seconds: 20, gpsOffset: 0)
        run(&keeper, from: 20, seconds: 10, gpsOffset: nil)
        let lost = keeper.serverState(at: start + 30 * second, precision: -20)
        XCTAssertEqual(lost.stratum, 2)
        XCTAssertTrue([ReferenceID(rawValue: 0xC000_020B), ReferenceID(rawValue: 0xC000_020C)].contains(lost.referenceID))
        run(&keeper, from: 30, seconds: 10, gpsOffset: 0)
        XCTAssertEqual(keeper.selection?.selected, gps)
        XCTAssertEqual(keeper.serverState(at: start + 40 * second, precision: -20).stratum, 1)
    }

    /// A reference clock is not served before a sibling could check it (or the grace period ends).
    func testReferenceClockWaitsForASiblingAtStart() throws {
        var keeper = keeper()
        for step in 0..<30 {
            keeper.add(SourceSample(localTime: start + Int64(step) * second, offset: 0.005, dispersion: 1e-6), from: gps)
            keeper.update(now: start + Int64(step) * second)
        }
        XCTAssertNil(keeper.selection?.selected, "no sibling heard yet")
        let note = try XCTUnwrap(report(keeper, gps, at: 29)?.note)
        XCTAssertTrue(note.hasPrefix("waiting for a sibling"), note)
        // The siblings answer and disagree with the GPS: it is never served.
        run(&keeper, from: 30, seconds: 10, gpsOffset: 0.005)
        XCTAssertEqual(keeper.selection?.state(of: gps), .falseticker)
        XCTAssertNotEqual(keeper.selection?.selected, gps)

        // Siblings that answer unsynchronised (a whole site starting at once) cannot check: no wait.
        var siteStart = self.keeper()
        siteStart.heardWithoutTime(a)
        siteStart.heardWithoutTime(b)
        siteStart.add(SourceSample(localTime: start, offset: 0, dispersion: 1e-6), from: gps)
        siteStart.update(now: start)
        XCTAssertEqual(siteStart.selection?.selected, gps)

        // Siblings that never answer: the GPS is served once the grace period is over.
        var alone = self.keeper()
        for step in 0..<62 {
            alone.add(SourceSample(localTime: start + Int64(step) * second, offset: 0, dispersion: 1e-6), from: gps)
            alone.update(now: start + Int64(step) * second)
        }
        XCTAssertEqual(alone.selection?.selected, gps)
    }

    func testSiblingsFollowingThisNodeAreLeftOut() throws {
        var keeper = keeper()
        // Both siblings lost their GPS and follow this node (stratum 2, reference id = this node's address).
        run(&keeper, from: 0, seconds: 10, gpsOffset: nil, siblingStratum: 2, siblingReference: own)
        XCTAssertNil(keeper.selection?.selected, "following them would be a timing loop")
        let note = try XCTUnwrap(report(keeper, a, at: 10)?.note)
        XCTAssertTrue(note.hasPrefix("follows this node"), note)
        // A stratum-1 sibling whose ASCII reference id happens to equal an address is not a loop.
        var other = self.keeper()
        run(&other, from: 0, seconds: 10, gpsOffset: nil, siblingStratum: 1, siblingReference: own)
        XCTAssertNotNil(other.selection?.selected)
    }

    /// chronyc sourcestats' fit: a source running 2 ppm fast shows +2 ppm, runs and span from its samples.
    func testSourceStatisticsFitTheSamples() throws {
        let times = (0..<8).map { Double($0 - 7) * 16 }
        let offsets = times.enumerated().map { 0.001 + 2e-6 * $1 + ($0 % 2 == 0 ? 1e-6 : -1e-6) }
        let fit = try XCTUnwrap(SourceStatistics(times: times, offsets: offsets))
        XCTAssertEqual(fit.frequencyPPM, 2, accuracy: 0.05)
        XCTAssertLessThan(fit.skewPPM, 0.05)
        XCTAssertEqual(fit.span, 112)
        XCTAssertEqual(fit.runs, 8, "alternating residuals: a run each")
        XCTAssertNil(SourceStatistics(times: [0, 1], offsets: [0, 0]), "two points fit any line")
        XCTAssertNil(SourceStatistics(times: [5, 5, 5], offsets: [0, 1, 2]), "no time spanned")
    }
}

import NTPCore
import TimeCore
import XCTest

final class SelectionTests: XCTestCase {
    /// An estimate whose root distance at time 0 is exactly `distance` (all of it dispersion).
    private func source(
        _ name: String, offset: Double, distance: Double = 0.005, kind: SourceKind = .ntp, stratum: UInt8 = 2,
        options: SourceOptions = SourceOptions(), reach: UInt8 = 0o377, jitter: Double = 0,
        leap: LeapIndicator = .noWarning, sampleCount: Int = 8
    ) -> SourceEstimate {
        SourceEstimate(
            id: SourceID(name), kind: kind, options: options, offset: offset, localTime: 0,
            dispersion: distance - jitter, jitter: jitter, stratum: stratum, leap: leap,
            referenceID: ReferenceID(ascii: String(name.prefix(4))), sampleCount: sampleCount, reach: reach)
    }

    private func select(_ sources: [SourceEstimate], policy: SelectionPolicy = SelectionPolicy()) -> SelectionResult {
        SourceSelection.select(sources, now: 0, policy: policy)
    }

    /// A reference clock jittering beyond what its kind shows when it works (PPS 1 ms, SHM 50 ms) is `~` with
    /// the figures; gpsd's serial time has no limit of its own below maxjitter, and network sources none.
    func testReferenceClockBeyondItsKindsJitterLimitIsJittery() {
        let result = select([
            source("PPS", offset: 0, distance: 0.01, kind: .pps, stratum: 0, jitter: 0.002),
            source("SHM", offset: 0, distance: 0.5, kind: .shm, stratum: 0, jitter: 0.173),
            source("GPS", offset: 0, distance: 0.5, kind: .gps, stratum: 0, jitter: 0.173),
            source("SHM2", offset: 0, distance: 0.05, kind: .shm, stratum: 0, jitter: 0.04),
        ])
        XCTAssertEqual(result.state(of: SourceID("PPS")), .jittery)
        XCTAssertEqual(result.verdict(for: SourceID("PPS"))?.note, "jitter 2.0 ms, beyond the 1.0 ms a working pps clock shows")
        XCTAssertEqual(result.state(of: SourceID("SHM")), .jittery)
        XCTAssertEqual(result.verdict(for: SourceID("SHM"))?.note, "jitter 173.0 ms, beyond the 50.0 ms a working shm clock shows")
        XCTAssertEqual(result.selected, SourceID("SHM2"), "within its limit, and the closest")
        XCTAssertNotEqual(result.state(of: SourceID("GPS")), .jittery)
        let alone = select([source("SHM", offset: 0, distance: 0.5, kind: .shm, stratum: 0, jitter: 0.173)])
        XCTAssertNil(alone.selected)
        XCTAssertEqual(alone.failure, .noSelectableSources(unreachable: 0))
    }

    func testThreeAgreeingAndOneFalseticker() {
        let result = select([
            source("a", offset: 0.0010, distance: 0.004),
            source("b", offset: 0.0012, distance: 0.003),
            source("c", offset: 0.0008, distance: 0.005),
            source("f", offset: 0.5, distance: 0.005),
        ])
        XCTAssertEqual(result.state(of: SourceID("f")), .falseticker)
        XCTAssertEqual(result.selected, SourceID("b"))
        XCTAssertEqual(result.states[SourceID("a")], .combined)
        XCTAssertEqual(result.states[SourceID("c")], .combined)
        XCTAssertNil(result.failure)
        XCTAssertNil(result.reason)
        XCTAssertEqual(result.leap, .noWarning)
        XCTAssertEqual(result.stratum, 2)
        XCTAssertEqual(result.referenceID, ReferenceID(ascii: "b"))
        XCTAssertEqual(try XCTUnwrap(result.offset), 0.001, accuracy: 0.0003)
    }

    func testTwoDisagreeingSourcesHaveNoMajority() {
        let result = select([source("a", offset: 0), source("b", offset: 1.0)])
        XCTAssertNil(result.selected)
        XCTAssertNil(result.offset)
        XCTAssertEqual(result.failure, .noMajority(agreeing: 1, candidates: 2, trusted: false))
        XCTAssertEqual(result.reason, "no majority (no agreement among 2 sources)")
        XCTAssertEqual(result.states, [SourceID("a"): .falseticker, SourceID("b"): .falseticker])
        XCTAssertEqual(result.leap, .unsynchronized)
        XCTAssertEqual(result.stratum, 16)
    }

    func testTrustedSourceWinsAgainstUntrustedMajority() {
        let result = select([
            source("gps", offset: 0.1, distance: 0.001, kind: .gps, stratum: 0, options: SourceOptions(trust: true)),
            source("a", offset: 0, distance: 0.001),
            source("b", offset: 0, distance: 0.001),
            source("c", offset: 0, distance: 0.001),
        ])
        XCTAssertEqual(result.selected, SourceID("gps"))
        XCTAssertEqual(result.offset, 0.1)
        for name in ["a", "b", "c"] { XCTAssertEqual(result.state(of: SourceID(name)), .falseticker, name) }
    }

    func testTrustedSourcesCanOnlyBeOutvotedByTrustedOnes() {
        let trust = SourceOptions(trust: true)
        let result = select([
            source("t1", offset: 0, distance: 0.001, options: trust),
            source("t2", offset: 0.0005, distance: 0.001, options: trust),
            source("t3", offset: 0.2, distance: 0.001, options: trust),
            source("u", offset: 0.0002, distance: 0.002),
        ])
        XCTAssertEqual(result.state(of: SourceID("t3")), .falseticker)
        XCTAssertEqual(result.selected, SourceID("t1"))
        XCTAssertEqual(result.state(of: SourceID("u")), .combined)
    }

    func testPreferredSurvivorIsSelectedAndOthersNotCombined() {
        let result = select([
            source("a", offset: 0.001, distance: 0.010, options: SourceOptions(prefer: true)),
            source("b", offset: 0.001, distance: 0.002),
            source("c", offset: 0.001, distance: 0.003),
        ])
        XCTAssertEqual(result.selected, SourceID("a"))
        XCTAssertEqual(result.state(of: SourceID("b")), .notCombined)
        XCTAssertEqual(result.verdict(for: SourceID("b"))?.note, "not preferred")
        XCTAssertEqual(result.state(of: SourceID("c")), .notCombined)
        XCTAssertEqual(result.offset, 0.001)
    }

    func testPreferredFalsetickerIsNotSelected() {
        let result = select([
            source("a", offset: 0.5, options: SourceOptions(prefer: true)),
            source("b", offset: 0.001),
            source("c", offset: 0.001),
        ])
        XCTAssertEqual(result.state(of: SourceID("a")), .falseticker)
        XCTAssertEqual(result.selected, SourceID("b"))
    }

    func testMissingRequiredSourceSelectsNothing() {
        let sources = [
            source("pps", offset: 0, kind: .pps, stratum: 0, options: SourceOptions(require: true), reach: 0),
            source("b", offset: 0.001),
            source("c", offset: 0.001),
        ]
        let result = select(sources)
        XCTAssertNil(result.selected)
        XCTAssertEqual(result.failure, .requiredSourceNotSelectable)
        XCTAssertEqual(result.reason, "required source not selectable")
        XCTAssertEqual(result.state(of: SourceID("pps")), .unusable)
        XCTAssertEqual(result.state(of: SourceID("b")), .notCombined)

        var reachable = sources
        reachable[0].reach = 0o377
        XCTAssertEqual(select(reachable).selected, SourceID("pps"))
    }

    func testOneSurvivingRequiredSourceIsEnoughLikeChrony() {
        let require = SourceOptions(require: true)
        let result = select([
            source("pps", offset: 0, kind: .pps, stratum: 0, options: require, reach: 0),
            source("gps", offset: 0.0001, kind: .gps, stratum: 0, options: require),
            source("b", offset: 0.001),
        ])
        XCTAssertEqual(result.selected, SourceID("gps"))
    }

    func testUntrustedSourceMustLieInsideTheTrustedInterval() {
        let result = select([
            source("pps", offset: 0, distance: 0.0001, kind: .pps, stratum: 0, options: SourceOptions(trust: true)),
            source("near", offset: 0.00005, distance: 0.002),
            source("off", offset: 0.0015, distance: 0.002),  // overlaps, but its offset would pull outside
        ])
        XCTAssertEqual(result.selected, SourceID("pps"))
        XCTAssertEqual(result.state(of: SourceID("off")), .falseticker)
        XCTAssertEqual(result.verdict(for: SourceID("off"))?.note, "offset outside the trusted sources' interval")
        XCTAssertNotEqual(result.state(of: SourceID("near")), .falseticker)
    }

    func testInvalidPolicyFallsBackToDefaults() {
        let policy = SelectionPolicy(
            minSources: -4, maxJitter: .nan, combineLimit: -1, maxDistance: .nan, dispersionRate: .infinity,
            reselectDistance: .nan)
        let result = select([source("a", offset: 0), source("b", offset: 0.001, distance: 2.5)], policy: policy)
        XCTAssertEqual(result.selected, SourceID("a"))
        XCTAssertEqual(result.state(of: SourceID("b")), .notCombined)  // combinelimit back to 3
    }

    func testUnusableSources() {
        let broken = SourceEstimate(
            id: SourceID("nan"), kind: .ntp, offset: .nan, localTime: 0, dispersion: 0.001, jitter: 0,
            sampleCount: 8, reach: 0o377)
        let negative = SourceEstimate(
            id: SourceID("neg"), kind: .ntp, offset: 0, localTime: 0, dispersion: -1, jitter: 0,
            sampleCount: 8, reach: 0o377)
        let result = select([
            source("noselect", offset: 0, options: SourceOptions(noselect: true)),
            source("unreachable", offset: 0, reach: 0),
            source("empty", offset: 0, sampleCount: 0),
            source("unsync", offset: 0, leap: .unsynchronized),
            source("s16", offset: 0, stratum: 16),
            source("far", offset: 0, distance: 3.5),
            source("jittery", offset: 0, distance: 2, jitter: 1.5),
            broken, negative,
            source("good", offset: 0.001),
        ])
        let expected: [String: (SourceState, String)] = [
            "noselect": (.unusable, "noselect"), "unreachable": (.unusable, "unreachable"),
            "empty": (.unusable, "no samples"), "unsync": (.unusable, "source unsynchronised"),
            "s16": (.unusable, "stratum 16"), "far": (.unusable, "root distance beyond maxdistance"),
            "jittery": (.jittery, "jitter beyond maxjitter"), "nan": (.unusable, "invalid estimate"),
            "neg": (.unusable, "invalid estimate"),
        ]
        for (name, (state, note)) in expected {
            XCTAssertEqual(result.state(of: SourceID(name)), state, name)
            XCTAssertEqual(result.verdict(for: SourceID(name))?.note, note, name)
        }
        XCTAssertEqual(result.verdict(for: SourceID("nan"))?.distance, .infinity)
        XCTAssertEqual(result.selected, SourceID("good"))
        XCTAssertEqual(result.verdicts.map(\.id.name), result.verdicts.map(\.id.name).sorted())
    }

    func testNothingSelectableReportsUnreachableCount() {
        let result = select([
            source("a", offset: 0, reach: 0), source("b", offset: 0, options: SourceOptions(noselect: true)),
        ])
        XCTAssertEqual(result.failure, .noSelectableSources(unreachable: 1))
        XCTAssertEqual(SourceSelection.select([], now: 0).failure, .noSources)
    }

    func testCombineWeightsByInverseDistanceWithinCombineLimit() {
        let result = select([
            source("a", offset: 0.000, distance: 0.002),
            source("b", offset: 0.001, distance: 0.004),
            source("c", offset: 0.000, distance: 0.020),  // beyond 3 × 0.002
        ])
        XCTAssertEqual(result.selected, SourceID("a"))
        XCTAssertEqual(result.state(of: SourceID("b")), .combined)
        XCTAssertEqual(result.state(of: SourceID("c")), .notCombined)
        XCTAssertEqual(result.verdict(for: SourceID("c"))?.weight, 0)
        XCTAssertEqual(try XCTUnwrap(result.verdict(for: SourceID("a"))?.weight), 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(result.verdict(for: SourceID("b"))?.weight), 1.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(result.offset), 0.001 / 3, accuracy: 1e-12)
        // chrony's combined deviation around the selected offset: sqrt(1/3 × 0.001²).
        XCTAssertEqual(result.jitter, (1.0 / 3 * 1e-6).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(result.combined, [SourceID("a"), SourceID("b")])

        let wide = SourceSelection.select(
            [source("a", offset: 0, distance: 0.002), source("c", offset: 0, distance: 0.020)], now: 0,
            policy: SelectionPolicy(combineLimit: 20))
        XCTAssertEqual(wide.state(of: SourceID("c")), .combined)
    }

    func testReferenceClockBeatsCloserNetworkSourceByStratum() {
        let result = select([
            source("PPS", offset: 0.00001, distance: 0.0005, kind: .pps, stratum: 0),
            source("ntp1", offset: 0.00002, distance: 0.0001, stratum: 1),
        ])
        XCTAssertEqual(result.selected, SourceID("PPS"))
        XCTAssertEqual(result.stratum, 0)
        // A network source votes but is never averaged into a reference clock's time.
        XCTAssertEqual(result.state(of: SourceID("ntp1")), .notCombined)
        XCTAssertEqual(result.verdict(for: SourceID("ntp1"))?.note, "cross-check only (a reference clock is selected)")
        XCTAssertEqual(result.offset, 0.00001)
    }

    func testSystemRootValuesComeFromTheSelectedSource() {
        let selected = SourceEstimate(
            id: SourceID("up"), kind: .ntp, offset: 0.001, localTime: 0, delay: 0.010, dispersion: 0.001,
            jitter: 0.0005, rootDelay: 0.020, rootDispersion: 0.002, stratum: 1, sampleCount: 8, reach: 0o377)
        let result = SourceSelection.select([selected], now: 10_000_000_000)
        XCTAssertEqual(result.rootDelay, 0.030, accuracy: 1e-15)
        XCTAssertEqual(result.rootDispersion, 0.002 + 0.001 + 10 * 15e-6, accuracy: 1e-15)
        XCTAssertEqual(result.jitter, 0.0005, accuracy: 1e-15)
    }

    func testLeapIndicatorFollowsTheMajorityOfSurvivors() {
        let two = select([
            source("a", offset: 0, leap: .insertSecond), source("b", offset: 0, leap: .insertSecond),
            source("c", offset: 0),
        ])
        XCTAssertEqual(two.leap, .insertSecond)
        let one = select([
            source("a", offset: 0, leap: .insertSecond), source("b", offset: 0), source("c", offset: 0),
        ])
        XCTAssertEqual(one.leap, .noWarning)
    }

    func testMinSources() {
        let policy = SelectionPolicy(minSources: 3)
        let sources = [source("a", offset: 0), source("b", offset: 0), source("f", offset: 1, reach: 0)]
        let result = select(sources, policy: policy)
        XCTAssertNil(result.selected)
        XCTAssertEqual(result.failure, .fewerThanMinSources(survivors: 2, minSources: 3))
        XCTAssertEqual(result.reason, "fewer than minSources (2 of 3 needed)")
        XCTAssertEqual(result.state(of: SourceID("a")), .notCombined)
    }

    func testReselectDistanceKeepsThePreviousSource() {
        let sources = [source("a", offset: 0, distance: 0.00100), source("b", offset: 0, distance: 0.00105)]
        XCTAssertEqual(SourceSelection.select(sources, now: 0).selected, SourceID("a"))
        XCTAssertEqual(SourceSelection.select(sources, now: 0, previous: SourceID("b")).selected, SourceID("b"))
        let farther = [source("a", offset: 0, distance: 0.001), source("b", offset: 0, distance: 0.002)]
        XCTAssertEqual(SourceSelection.select(farther, now: 0, previous: SourceID("b")).selected, SourceID("a"))
    }

    func testSelectionIsDeterministicWhateverTheInputOrder() {
        let sources = [
            source("d", offset: 0.0010, distance: 0.004), source("b", offset: 0.0010, distance: 0.004),
            source("c", offset: 0.0012, distance: 0.004), source("a", offset: 0.0009, distance: 0.004),
            source("x", offset: 0.3, distance: 0.004),
        ]
        let reference = select(sources)
        XCTAssertEqual(reference.selected, SourceID("a"))  // all tied on stratum and distance: lowest id
        var generator = SeededRandom(seed: 7)
        for _ in 0..<20 {
            XCTAssertEqual(select(sources.shuffled(using: &generator)), reference)
        }
        // Duplicated ids: the first occurrence counts.
        let duplicated = select(sources + [source("a", offset: 5)])
        XCTAssertEqual(duplicated, reference)
    }

    func testHugeAndTiedIntervalsDoNotTrap() {
        let result = select([
            source("a", offset: 1e9, distance: 1e-9), source("b", offset: -1e9, distance: 2.9),
            source("c", offset: 0, distance: 2.9),
        ])
        XCTAssertNil(result.selected)
        XCTAssertNotNil(result.failure)

        // Tied regions: x covers both y and z, which disagree; chrony keeps all three and lets distance choose.
        let tied = select([
            source("x", offset: 0.005, distance: 0.005), source("y", offset: 0.0005, distance: 0.0005),
            source("z", offset: 0.0095, distance: 0.0005),
        ])
        XCTAssertEqual(tied.selected, SourceID("y"))
        XCTAssertFalse(tied.states.values.contains(.falseticker))
    }
}

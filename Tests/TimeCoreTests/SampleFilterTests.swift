import NTPCore
import TimeCore
import XCTest

final class SampleFilterTests: XCTestCase {
    private let second: LocalTime = 1_000_000_000

    private func sample(
        _ time: LocalTime, offset: Double, delay: Double = 0, dispersion: Double = 1e-6,
        leap: LeapIndicator = .noWarning, stratum: UInt8 = 1
    ) -> SourceSample {
        SourceSample(
            localTime: time, offset: offset, delay: delay, dispersion: dispersion, stratum: stratum, leap: leap)
    }

    // MARK: Network sources (RFC 5905 §10)

    func testNetworkFilterPicksLeastDelaySample() {
        var filter = SampleFilter(kind: .ntp)
        let delays = [0.020, 0.018, 0.025, 0.004, 0.030, 0.019, 0.022, 0.021]
        let offsets = [0.0010, 0.0012, 0.0008, 0.0021, 0.0009, 0.0011, 0.0013, 0.0010]
        for i in 0..<8 {
            let admission = filter.add(sample(LocalTime(i) * 64 * second, offset: offsets[i], delay: delays[i]))
            XCTAssertEqual(admission, .accepted)
        }
        let estimate = try! XCTUnwrap(
            filter.estimate(id: SourceID("ntp1"), kind: .ntp, reach: 0o377, now: 8 * 64 * second))
        XCTAssertEqual(estimate.offset, 0.0021)
        XCTAssertEqual(estimate.delay, 0.004)
        XCTAssertEqual(estimate.localTime, 3 * 64 * second)
        XCTAssertEqual(estimate.sampleCount, 8)
        // psi: RMS over n - 1 of the offsets' differences to the chosen one.
        let squares = offsets.map { ($0 - 0.0021) * ($0 - 0.0021) }.reduce(0, +)
        XCTAssertEqual(estimate.jitter, (squares / 7).squareRoot(), accuracy: 1e-15)
        XCTAssertEqual(estimate.reach, 0o377)
    }

    func testOldSamplesLoseToFresherOnesAsDispersionGrows() {
        var filter = SampleFilter(kind: .ntp)
        // 5 ms delay but 2000 s old: its distance grows by 30 ms, so the 10 ms-delay sample wins.
        filter.add(sample(0, offset: 0.001, delay: 0.005))
        filter.add(sample(2000 * second, offset: 0.002, delay: 0.010))
        let estimate = try! XCTUnwrap(filter.estimate(id: SourceID("a"), kind: .ntp, reach: 1, now: 2000 * second))
        XCTAssertEqual(estimate.offset, 0.002)
    }

    func testPopcornSpikeIsHeldBackOnceThenDropped() {
        var filter = SampleFilter(kind: .ntp)
        let steady = [0.00100, 0.00102, 0.00098, 0.00101, 0.00099]
        for (i, offset) in steady.enumerated() {
            XCTAssertEqual(filter.add(sample(LocalTime(i) * 16 * second, offset: offset, delay: 0.010)), .accepted)
        }
        let before = filter.estimate(id: SourceID("a"), kind: .ntp, reach: 0o37, now: 5 * 16 * second)
        // A spike with the least delay of all: without suppression it would become the output at once.
        XCTAssertEqual(filter.add(sample(5 * 16 * second, offset: 0.050, delay: 0.002)), .heldBack)
        XCTAssertEqual(filter.heldBackCount, 1)
        XCTAssertEqual(filter.samples.count, 5)
        XCTAssertEqual(filter.estimate(id: SourceID("a"), kind: .ntp, reach: 0o37, now: 5 * 16 * second), before)
        // The next sample agrees with the old output: the spike is dropped for good.
        XCTAssertEqual(filter.add(sample(6 * 16 * second, offset: 0.00100, delay: 0.010)), .accepted)
        XCTAssertNil(filter.heldSpike)
        XCTAssertEqual(filter.samples.count, 6)
        XCTAssertFalse(filter.samples.contains { $0.offset == 0.050 })
        let after = try! XCTUnwrap(filter.estimate(id: SourceID("a"), kind: .ntp, reach: 0o77, now: 6 * 16 * second))
        XCTAssertLessThan(abs(after.offset - 0.001), 0.0001)
    }

    func testStepConfirmedBySecondSampleIsAdmitted() {
        var filter = SampleFilter(kind: .ntp)
        for i in 0..<4 {
            filter.add(sample(LocalTime(i) * second, offset: 0.001 + Double(i % 2) * 1e-5, delay: 0.010))
        }
        XCTAssertEqual(filter.add(sample(4 * second, offset: 0.100, delay: 0.010)), .heldBack)
        XCTAssertEqual(filter.add(sample(5 * second, offset: 0.1001, delay: 0.010)), .accepted)
        XCTAssertEqual(filter.samples.count, 6)
        XCTAssertEqual(filter.samples.suffix(2).map(\.offset), [0.100, 0.1001])
    }

    func testNonFiniteHugeAndOutOfOrderSamplesAreRejectedAndCounted() {
        var filter = SampleFilter(kind: .ntp)
        XCTAssertEqual(filter.add(sample(0, offset: .nan)), .rejected(.nonFinite))
        XCTAssertEqual(filter.add(sample(0, offset: 0, delay: .infinity)), .rejected(.nonFinite))
        XCTAssertEqual(filter.add(sample(0, offset: 0, dispersion: -.nan)), .rejected(.nonFinite))
        XCTAssertEqual(filter.add(sample(0, offset: 1e300)), .rejected(.outOfRange))
        XCTAssertEqual(filter.rejectedCount, 4)
        XCTAssertTrue(filter.samples.isEmpty)
        XCTAssertNil(filter.estimate(id: SourceID("a"), kind: .ntp, reach: 0, now: 0))

        XCTAssertEqual(filter.add(sample(10 * second, offset: 0.001)), .accepted)
        XCTAssertEqual(filter.add(sample(9 * second, offset: 0.001)), .rejected(.outOfOrder))
        XCTAssertEqual(filter.rejectedCount, 5)
        // Negative delay is noise around zero: clamped, not rejected.
        XCTAssertEqual(filter.add(sample(11 * second, offset: 0.001, delay: -1e-7)), .accepted)
        XCTAssertEqual(filter.samples.last?.delay, 0)
    }

    func testCapacityAndClear() {
        var filter = SampleFilter(kind: .nts)
        for i in 0..<20 { filter.add(sample(LocalTime(i) * second, offset: 0.001, delay: 0.01)) }
        XCTAssertEqual(filter.capacity, 8)
        XCTAssertEqual(filter.samples.count, 8)
        XCTAssertEqual(filter.samples.first?.localTime, 12 * second)
        filter.clear()
        XCTAssertTrue(filter.samples.isEmpty)
        XCTAssertEqual(SampleFilter(kind: .pps).capacity, 16)
        XCTAssertEqual(SampleFilter(method: .regression, capacity: 0).capacity, 1)
        XCTAssertEqual(SampleFilter(method: .clockFilter, capacity: Int.max).capacity, SampleFilter.maximumCapacity)
    }

    func testConfiguredOffsetAndNewestSampleStateAreApplied() {
        var filter = SampleFilter(kind: .gps)
        filter.add(sample(0, offset: 0.010))
        filter.add(sample(second, offset: 0.010, leap: .insertSecond))
        let options = SourceOptions(prefer: true, offset: -0.010)
        let estimate = try! XCTUnwrap(
            filter.estimate(id: SourceID("GPS"), kind: .gps, options: options, reach: 3, now: second))
        XCTAssertEqual(estimate.offset, 0, accuracy: 1e-15)
        XCTAssertEqual(estimate.leap, .insertSecond)
        XCTAssertEqual(estimate.options, options)
        XCTAssertEqual(estimate.kind, .gps)
    }

    func testGarbageSamplesNeverTrap() {
        var random = SeededRandom(seed: 99)
        let odd: [Double] = [.nan, .infinity, -.infinity, 0, -1, 1e-300, 1e300, 1e10, -1e10, 0.001, -0.001]
        for kind in [SourceKind.ntp, .pps] {
            var filter = SampleFilter(kind: kind)
            for _ in 0..<2000 {
                func pick() -> Double { odd.randomElement(using: &random)! }
                let time = Int64.random(in: -1_000_000_000_000...1_000_000_000_000, using: &random)
                filter.add(
                    SourceSample(
                        localTime: time, offset: pick(), delay: pick(), dispersion: pick(), rootDelay: pick(),
                        rootDispersion: pick()))
                if let estimate = filter.estimate(id: SourceID("g"), kind: kind, reach: 1, now: time) {
                    XCTAssertTrue(estimate.offset.isFinite)
                    XCTAssertFalse(estimate.jitter.isNaN)
                }
            }
            XCTAssertGreaterThan(filter.rejectedCount, 0)
        }
    }

    // MARK: Reference clocks

    func testReferenceClockOutlierIsRejected() {
        var filter = SampleFilter(kind: .pps)
        // ±100 ns of reading noise and one missed-pulse glitch of 1 ms.
        let noise = [0.5, -0.3, 0.8, -0.9, 0.1, 0.4, -0.6, 0.2, -0.1, 0.7, -0.4, 0.3, -0.8, 0.6, 0.0, -0.2]
        for i in 0..<16 {
            let offset = i == 9 ? 1e-3 : noise[i] * 1e-7
            filter.add(sample(LocalTime(i) * second, offset: offset))
        }
        let estimate = try! XCTUnwrap(filter.estimate(id: SourceID("PPS"), kind: .pps, reach: 0o377, now: 16 * second))
        XCTAssertEqual(estimate.sampleCount, 15)
        XCTAssertLessThan(abs(estimate.offset), 2e-7)
        // The offset ignores the glitch; the jitter owns up to it (1 ms over 14 degrees of freedom).
        XCTAssertEqual(estimate.jitter, 1e-3 / 14.0.squareRoot(), accuracy: 2e-6)
        XCTAssertEqual(estimate.localTime, 15 * second)
        XCTAssertEqual(estimate.delay, 0)
    }

    func testReferenceClockFitFollowsLinearDriftToNewestSample() {
        var filter = SampleFilter(kind: .shm)
        // 2 ppm drift with ±50 ns alternating noise: a plain mean would lag by 15 µs.
        for i in 0..<16 {
            let offset = 2e-6 * Double(i) + (i % 2 == 0 ? 5e-8 : -5e-8)
            filter.add(sample(LocalTime(i) * second, offset: offset))
        }
        let estimate = try! XCTUnwrap(filter.estimate(id: SourceID("SHM0"), kind: .shm, reach: 0o377, now: 15 * second))
        XCTAssertEqual(estimate.sampleCount, 16)
        XCTAssertEqual(estimate.offset, 30e-6, accuracy: 1e-7)
        XCTAssertEqual(estimate.jitter, 5e-8, accuracy: 2e-8)
    }

    func testReferenceClockWithFewSamplesUsesNewest() {
        var filter = SampleFilter(kind: .gps)
        filter.add(sample(0, offset: 0.001))
        filter.add(sample(second, offset: 0.002))
        filter.add(sample(2 * second, offset: 0.003))
        let estimate = try! XCTUnwrap(filter.estimate(id: SourceID("GPS"), kind: .gps, reach: 7, now: 2 * second))
        XCTAssertEqual(estimate.offset, 0.003)
        XCTAssertEqual(estimate.sampleCount, 3)
    }

    func testReferenceClockKeepsAtLeastSixtyPercent() {
        var filter = SampleFilter(kind: .pps)
        // Ten identical readings and six scattered ones: the MAD is 0, so everything off zero looks like an
        // outlier, yet at least 60 % (10 of 16 here, so with ceil(9.6) = 10 exactly the ten zeros) are kept.
        let offsets: [Double] = [0, 0, 3e-3, 0, 0, -2e-3, 0, 0, 4e-3, 0, 0, -5e-3, 0, 6e-3, 0, -7e-3]
        for (i, offset) in offsets.enumerated() { filter.add(sample(LocalTime(i) * second, offset: offset)) }
        let estimate = try! XCTUnwrap(filter.estimate(id: SourceID("PPS"), kind: .pps, reach: 0o377, now: 16 * second))
        XCTAssertEqual(estimate.sampleCount, 10)
        XCTAssertEqual(estimate.offset, 0, accuracy: 1e-12)

        // All different: the 60 % floor applies when the MAD rule would keep fewer.
        var scattered = SampleFilter(method: .regression, capacity: 5)
        for (i, offset) in [0.0, 1.0, -1.0, 100.0, -100.0].enumerated() {
            scattered.add(sample(LocalTime(i) * second, offset: offset))
        }
        let kept = try! XCTUnwrap(scattered.estimate(id: SourceID("X"), kind: .pps, reach: 1, now: 5 * second))
        XCTAssertGreaterThanOrEqual(kept.sampleCount, 3)
    }
}

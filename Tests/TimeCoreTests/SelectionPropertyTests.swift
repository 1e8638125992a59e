import NTPCore
import TimeCore
import XCTest

/// Randomised, seeded check of RFC 5905 §11.2.1's promise: with a majority of truechimers (sources whose
/// correctness interval contains true time), a falseticker that agrees with none of them is exposed and the
/// selected source's interval contains true time.
///
/// Falsetickers are placed clear of every truechimer's interval: a falseticker that overlaps truechimers can
/// legitimately join the largest agreeing group (Marzullo cannot tell it apart), so that case proves nothing.
final class SelectionPropertyTests: XCTestCase {
    func testFalsetickersAreExposedAndSelectionContainsTrueTime() {
        var random = SeededRandom(seed: 0x5EED_2024)
        for round in 0..<500 {
            let trueTime = Double.random(in: -1...1, using: &random)
            let truechimers = Int.random(in: 3...7, using: &random)
            let falsetickers = Int.random(in: 0..<truechimers, using: &random)
            var estimates: [SourceEstimate] = []
            for i in 0..<truechimers {
                let distance = Double.random(in: 0.001...0.010, using: &random)
                let offset = trueTime + Double.random(in: -0.9...0.9, using: &random) * distance
                let stratum = UInt8.random(in: 1...3, using: &random)
                estimates.append(estimate("t\(i)", offset: offset, distance: distance, stratum: stratum))
            }
            for i in 0..<falsetickers {
                let sign: Double = Bool.random(using: &random) ? 1 : -1
                let offset = trueTime + sign * Double.random(in: 0.05...1.0, using: &random)
                let distance = Double.random(in: 0.0001...0.010, using: &random)
                let stratum = UInt8.random(in: 1...3, using: &random)
                estimates.append(estimate("f\(i)", offset: offset, distance: distance, stratum: stratum))
            }
            estimates.shuffle(using: &random)
            let result = SourceSelection.select(estimates, now: 0)

            let context = "round \(round): \(truechimers) truechimers, \(falsetickers) falsetickers"
            for i in 0..<falsetickers {
                XCTAssertEqual(result.state(of: SourceID("f\(i)")), .falseticker, context)
            }
            guard let selectedID = result.selected, let selected = estimates.first(where: { $0.id == selectedID }),
                let offset = result.offset
            else {
                XCTFail("nothing selected: \(result.reason ?? "?"); \(context)")
                continue
            }
            XCTAssertTrue(selectedID.name.hasPrefix("t"), context)
            let distance = selected.rootDistance(at: 0)
            XCTAssertTrue(abs(selected.offset - trueTime) <= distance, context)
            // The combined offset is a weighted mean of truechimers' offsets, each within 0.9 × 10 ms of true time.
            XCTAssertLessThanOrEqual(abs(offset - trueTime), 0.009, context)
            XCTAssertEqual(result.verdicts.reduce(0) { $0 + $1.weight }, 1, accuracy: 1e-9, context)
        }
    }

    func testGarbageEstimatesNeverTrap() {
        var random = SeededRandom(seed: 42)
        let odd: [Double] = [.nan, .infinity, -.infinity, 0, -0.0, -1, 1e-300, 1e300, .greatestFiniteMagnitude, 0.001]
        for _ in 0..<300 {
            var estimates: [SourceEstimate] = []
            for i in 0..<Int.random(in: 0...6, using: &random) {
                func pick() -> Double { odd.randomElement(using: &random)! }
                estimates.append(
                    SourceEstimate(
                        id: SourceID("s\(i % 4)"), kind: SourceKind.allCases.randomElement(using: &random)!,
                        options: SourceOptions(
                            prefer: Bool.random(using: &random), trust: Bool.random(using: &random),
                            require: Bool.random(using: &random)),
                        offset: pick(), localTime: Int64.random(in: Int64.min...Int64.max, using: &random),
                        delay: pick(), dispersion: pick(), jitter: pick(), rootDelay: pick(), rootDispersion: pick(),
                        stratum: UInt8.random(in: 0...255, using: &random),
                        leap: LeapIndicator.allCases.randomElement(using: &random)!,
                        sampleCount: Int.random(in: -1...8, using: &random),
                        reach: UInt8.random(in: 0...255, using: &random)))
            }
            let result = SourceSelection.select(
                estimates, now: Int64.random(in: Int64.min...Int64.max, using: &random),
                previous: SourceID("s\(Int.random(in: 0...4, using: &random))"))
            XCTAssertEqual(result.selected == nil, result.failure != nil)
            if let offset = result.offset { XCTAssertFalse(offset.isNaN) }
        }
    }

    private func estimate(_ name: String, offset: Double, distance: Double, stratum: UInt8) -> SourceEstimate {
        SourceEstimate(
            id: SourceID(name), kind: .ntp, offset: offset, localTime: 0, dispersion: distance, jitter: 0,
            stratum: stratum, sampleCount: 8, reach: 0o377)
    }
}

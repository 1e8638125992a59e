import TimeCore
import XCTest

final class ClockModelTests: XCTestCase {
    /// `roundedToInt64` replaces `Int64(value.rounded())` on the packet path: the two agree bit for bit,
    /// ties (away from zero), the largest Double below one half, the 2^52 boundary and random values of
    /// every magnitude included.
    func testRoundedToInt64MatchesRounded() {
        var values: [Double] = [
            0, -0.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0.49999999999999994, -0.49999999999999994, 1e-300, -1e-300,
            4_503_599_627_370_495.5, -4_503_599_627_370_495.5, 4_503_599_627_370_496, 9_007_199_254_740_994,
            -9_223_372_036_854_775_808, 9_223_372_036_854_774_784, 123_456_789.499_999_99, 123_456_789.5,
        ]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200_000 {
            let scale = Double(sign: .plus, exponent: Int.random(in: -30...62, using: &generator), significand: 1)
            let value = Double.random(in: -1...1, using: &generator) * scale
            values.append(value)
            values.append(value.rounded(.down) + 0.5)
        }
        for value in values where value.magnitude < 9.2e18 || value == -9_223_372_036_854_775_808 {
            XCTAssertEqual(ClockModel.roundedToInt64(value), Int64(value.rounded()), "\(value)")
        }
    }

    func testServedTimeUnchanged() {
        let model = ClockModel(base: 1_000, phase: 0.000_123_456_789_5, frequency: 12.5e-6, reference: 5_000_000_000)
        for local: Int64 in [0, 1, 5_000_000_000, 7_123_456_789, -3_000_000_000, 1_764_000_000_000_000_000] {
            let expected = local &+ model.base &+ Int64((model.correction(at: local) * 1e9).rounded())
            XCTAssertEqual(model.served(at: local), expected)
        }
    }
}

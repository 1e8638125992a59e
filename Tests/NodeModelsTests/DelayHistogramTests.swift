import NodeModels
import XCTest

final class DelayHistogramTests: XCTestCase {
    /// `bucket(of:)` compares instead of walking `bounds`: both must give the same bucket everywhere,
    /// including at, just below and just above every bound.
    func testBucketAgreesWithBounds() {
        var values: [Int64] = [.min, -1_000, -1, 1, 3, 777, 123_456_789, .max]
        for bound in DelayHistogram.bounds { values += [bound - 1, bound, bound + 1] }
        for value in values {
            var walked = 0
            while walked < DelayHistogram.bounds.count && value > DelayHistogram.bounds[walked] { walked += 1 }
            XCTAssertEqual(DelayHistogram.bucket(of: value), walked, "\(value)")
        }
        var histogram = DelayHistogram()
        histogram.record(nanoseconds: 1_500)
        XCTAssertEqual(histogram.buckets[4], 1)
        XCTAssertEqual(histogram.quantileNanoseconds(0.5), 1_500)
    }
}

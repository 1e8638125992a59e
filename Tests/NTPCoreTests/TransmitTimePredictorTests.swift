import NTPCore
import XCTest

/// The predictor learns a send path's lead and per-datagram spacing from kernel stamps, and sealing time.
final class TransmitTimePredictorTests: XCTestCase {
    func testLearnsLeadAndSpacingFromBatches() {
        var predictor = TransmitTimePredictor()
        XCTAssertEqual(predictor.delay(position: 5), .zero, "nothing learned: the clock reading itself")
        for batch in 0..<400 {
            for position in 0..<16 {
                let jitter = Int64((batch * 7 + position * 13) % 5) - 2
                predictor.observe(position: position, delay: NTPDuration(nanoseconds: 3_000 + Int64(position) * 1_200 + jitter))
            }
            predictor.learn()
        }
        XCTAssertEqual(predictor.leadNanoseconds, 3_000, accuracy: 20)
        XCTAssertEqual(predictor.spacingNanoseconds, 1_200, accuracy: 5)
        XCTAssertEqual(Double(predictor.delay(position: 10).nanoseconds), 15_000, accuracy: 100)
    }

    func testSingleStampsLearnTheLeadAndNonsenseIsBounded() {
        var predictor = TransmitTimePredictor()
        for _ in 0..<100 {
            predictor.observe(position: 0, delay: NTPDuration(nanoseconds: 4_000))
            predictor.learn()
        }
        XCTAssertEqual(predictor.leadNanoseconds, 4_000, accuracy: 10)
        XCTAssertEqual(predictor.spacingNanoseconds, 0)
        predictor.observe(position: 0, delay: NTPDuration(seconds: 0.0007))  // one stall moves it by little
        predictor.learn()
        XCTAssertEqual(predictor.leadNanoseconds, 4_000 + TransmitTimePredictor.maximumStepNanoseconds, accuracy: 1)
        for _ in 0..<10_000 {
            predictor.observe(position: 0, delay: NTPDuration(seconds: 0.005))  // stalls only: within range, clamped
            predictor.learn()
        }
        XCTAssertEqual(predictor.leadNanoseconds, TransmitTimePredictor.maximumNanoseconds, accuracy: 1)
        predictor.observe(position: 0, delay: NTPDuration(seconds: 60))  // another packet's stamp: ignored
        let before = predictor
        predictor.learn()
        XCTAssertEqual(predictor, before)
    }

    func testStampingTimeDelaysEveryReply() {
        var predictor = TransmitTimePredictor()
        for _ in 0..<200 { predictor.observeStamping(10, took: NTPDuration(nanoseconds: 3_000)) }
        XCTAssertEqual(predictor.stampingNanoseconds, 300, accuracy: 1)
        XCTAssertEqual(Double(predictor.delay(position: 0, stamps: 10).nanoseconds), 3_000, accuracy: 20)
    }

    func testSealingTime() {
        var predictor = TransmitTimePredictor()
        for _ in 0..<200 { predictor.observeSealing(4, took: NTPDuration(nanoseconds: 20_000)) }
        XCTAssertEqual(predictor.sealingNanoseconds, 5_000, accuracy: 10)
        XCTAssertEqual(Double(predictor.delay(position: 0, sealsAfter: 3).nanoseconds), 15_000, accuracy: 50)
    }
}

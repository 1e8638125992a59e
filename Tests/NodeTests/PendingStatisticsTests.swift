import NodeModels
import NTPCore
import XCTest
@testable import Node

/// Status counters are exact per batch; the precision histograms and the metric counts wait in the loop's
/// `PendingStatistics` until it publishes them (every interval, or when it goes quiet), and then nothing is
/// lost or counted twice.
final class PendingStatisticsTests: XCTestCase {
    func testCountersAtOncePrecisionWhenPublished() {
        let statistics = ServerStatistics()
        var pending = PendingStatistics(now: 1_000)
        XCTAssertTrue(pending.isEmpty)
        XCTAssertFalse(pending.isDue(now: 1_000 + PendingStatistics.interval - 1))
        XCTAssertTrue(pending.isDue(now: 1_000 + PendingStatistics.interval))

        for batch in 1...3 {
            var tally = BatchTally()
            tally.received = batch
            tally.answered = batch - 1
            tally.drop(.rateLimited)
            statistics.record(tally)
            pending.counts.add(tally)
            pending.precision.queueingDelay.record(nanoseconds: 5_000)
            pending.precision.transmitTimestampError.record(nanoseconds: 1_000 * Int64(batch))
            pending.precision.interleaved += 1
        }
        var snapshot = statistics.snapshot
        XCTAssertEqual(snapshot.received, 6, "counters are recorded per batch")
        XCTAssertEqual(snapshot.answered, 3)
        XCTAssertEqual(snapshot.dropped["rateLimited"], 3)
        XCTAssertNil(snapshot.precision, "precision waits for the publication")
        XCTAssertFalse(pending.isEmpty)
        XCTAssertEqual(pending.counts.received, 6)
        XCTAssertEqual(pending.counts.dropped, 3)

        statistics.publish(&pending, now: 5_000)
        XCTAssertTrue(pending.isEmpty, "emptied by the publication")
        XCTAssertFalse(pending.isDue(now: 5_000 + PendingStatistics.interval - 1), "the interval restarts")
        snapshot = statistics.snapshot
        XCTAssertEqual(snapshot.received, 6, "counters not counted twice")
        XCTAssertEqual(snapshot.precision?.queueingDelay.count, 3)
        XCTAssertEqual(snapshot.precision?.transmitTimestampError.count, 3)
        XCTAssertEqual(snapshot.precision?.transmitTimestampError.meanNanoseconds ?? 0, 2_000, accuracy: 1e-9)
        XCTAssertEqual(snapshot.precision?.interleaved, 3)

        // A wake-up for the error queue alone: precision without a batch.
        pending.precision.kernelTransmitTimestamps += 2
        XCTAssertFalse(pending.isEmpty)
        statistics.publish(&pending, now: 6_000)
        XCTAssertEqual(statistics.snapshot.precision?.kernelTransmitTimestamps, 2)
        XCTAssertEqual(statistics.snapshot.precision?.queueingDelay.count, 3)
    }
}

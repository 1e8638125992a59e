import XCTest
@testable import Node

/// The receive loop's fixed-capacity per-batch lists: appended to, read and changed in place, emptied by a
/// count reset and refilled, batch after batch, without growing.
final class BatchBufferTests: XCTestCase {
    func testAppendsReadsChangesAndEmptiesAcrossBatches() {
        var buffer = BatchBuffer<(id: Int, value: UInt64)>(capacity: 4)
        XCTAssertTrue(buffer.isEmpty)
        XCTAssertEqual(buffer.capacity, 4)
        for batch in 0..<3 {
            buffer.removeAll()
            XCTAssertEqual(buffer.count, 0)
            for index in 0..<(batch + 2) { buffer.append((index, UInt64(batch * 10 + index))) }
            XCTAssertEqual(buffer.count, batch + 2)
            buffer[1].value += 100
            XCTAssertEqual(buffer.indices, 0..<(batch + 2))
            XCTAssertEqual(buffer.indices.map { buffer[$0].id }, Array(0..<(batch + 2)))
            XCTAssertEqual(buffer[0].value, UInt64(batch * 10))
            XCTAssertEqual(buffer[1].value, UInt64(batch * 10 + 1 + 100), "changed in place")
        }
    }

    /// A capacity of 0 still holds one (a loop's batch size is at least 1; this only keeps the allocation valid).
    func testZeroCapacityHoldsOne() {
        var buffer = BatchBuffer<Int>(capacity: 0)
        XCTAssertEqual(buffer.capacity, 1)
        buffer.append(7)
        XCTAssertEqual(buffer[0], 7)
    }
}

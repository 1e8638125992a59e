import Foundation
import NodeModels
import XCTest

final class NTSKECountersTests: XCTestCase {
    /// Every counter survives JSON both ways; the sum of refusals covers every kind.
    func testRoundTripAndRefusals() throws {
        var counters = NTSKECounters()
        counters.connections = 10
        counters.timeouts = 5
        counters.handshakeTimeouts = 4
        counters.refusedOverLimit = 1
        counters.refusedPerSource = 2
        counters.refusedConnectionRate = 3
        counters.refusedRateLimited = 4
        counters.evicted = 6
        counters.acceptBackoffs = 7
        let decoded = try JSONDecoder().decode(NTSKECounters.self, from: JSONEncoder().encode(counters))
        XCTAssertEqual(decoded, counters)
        XCTAssertEqual(decoded.refused, 10)
    }

    /// A node from before the connection budget sends fewer counters: the missing ones read as 0.
    func testCountersANodeDoesNotSendReadAsZero() throws {
        let older = #"{"connections":3,"keysEstablished":2,"noCommonAlgorithm":0,"errorResponses":0,"handshakeFailures":1,"timeouts":1,"refusedOverLimit":1,"refusedRateLimited":0}"#
        let decoded = try JSONDecoder().decode(NTSKECounters.self, from: Data(older.utf8))
        XCTAssertEqual(decoded.keysEstablished, 2)
        XCTAssertEqual(decoded.refusedOverLimit, 1)
        XCTAssertEqual(decoded.evicted, 0)
        XCTAssertEqual(decoded.refusedPerSource, 0)
        XCTAssertThrowsError(try JSONDecoder().decode(NTSKECounters.self, from: Data(#"{"timeouts":-1}"#.utf8)), "a negative count is an error")
    }
}

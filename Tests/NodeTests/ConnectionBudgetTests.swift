import NIOCore
import XCTest
import NetworkEdges

/// The bookkeeping of `ConnectionBudget` without sockets: caps, eviction order, reserved places, rates.
final class ConnectionBudgetTests: XCTestCase {
    final class Closed: @unchecked Sendable {
        var ids: [Int] = []
    }

    func limits(total: Int = 4, reserved: Int = 1, perSource: Int = 2, rate: Double = 1000) -> ConnectionBudget.Limits {
        .init(total: total, reservedForAuthenticated: reserved, perSource: perSource, rate: .init(perSecond: rate, burst: rate),
              handshakeDeadline: .seconds(1), requestDeadline: .seconds(2))
    }

    func source(_ last: UInt32) -> ConnectionSource { .v4(0x7F01_0000 | last) }

    func testPerSourceCapAndEvictionOfTheOldestUnauthenticated() throws {
        let budget = ConnectionBudget(listener: "test", limits: limits())
        let closed = Closed()
        func admit(_ source: ConnectionSource, _ id: Int) -> ConnectionBudget.Ticket? {
            try? budget.admit(source, close: { closed.ids.append(id) }).get()
        }
        XCTAssertNotNil(admit(source(1), 1))
        XCTAssertNotNil(admit(source(1), 2))
        XCTAssertNil(admit(source(1), 3), "a third from one source is refused")
        let fourth = try XCTUnwrap(admit(source(2), 4))
        XCTAssertEqual(budget.held.unauthenticated, 3, "3 = total 4 - 1 reserved")
        XCTAssertNotNil(admit(source(3), 5), "full for unauthenticated: the oldest is evicted, not the newcomer")
        XCTAssertEqual(closed.ids, [1])
        budget.authenticated(fourth)
        XCTAssertNotNil(admit(source(4), 6), "the authenticated one left room among the unauthenticated")
        XCTAssertEqual(closed.ids, [1])
        XCTAssertNotNil(admit(source(5), 7))
        XCTAssertEqual(closed.ids, [1, 2], "the oldest unauthenticated goes; the older authenticated one is never evicted")
        XCTAssertEqual(budget.held.total, 4)
        budget.release(fourth)
        XCTAssertEqual(budget.held.total, 3)
    }

    func testReservedPlacesStayForAuthenticatedOperators() throws {
        let budget = ConnectionBudget(listener: "test", limits: limits(total: 3, reserved: 1, perSource: 5))
        let first = try budget.admit(source(1), close: {}).get()
        budget.authenticated(first)
        let second = try budget.admit(source(1), close: {}).get()
        budget.authenticated(second)
        // Two operators hold two places; the one left is for unauthenticated newcomers, evicting each other.
        _ = try budget.admit(source(2), close: {}).get()
        _ = try budget.admit(source(3), close: {}).get()
        XCTAssertEqual(budget.held.total, 3)
        XCTAssertEqual(budget.held.unauthenticated, 1)
    }

    func testFullOfOperatorsRefusesNewcomers() throws {
        let budget = ConnectionBudget(listener: "test", limits: limits(total: 2, reserved: 1, perSource: 5))
        for _ in 0..<2 {
            let ticket = try budget.admit(source(1), close: {}).get()
            budget.authenticated(ticket)
        }
        XCTAssertThrowsError(try budget.admit(source(2), close: {}).get())
    }

    /// A listener's own statistics (NTS-KE's status) hear of every refusal and budget closure.
    func testObserverHearsRefusalsAndEvictions() throws {
        final class Events: @unchecked Sendable {
            var list: [ConnectionBudget.Event] = []
        }
        let events = Events()
        let budget = ConnectionBudget(listener: "test", limits: limits(total: 2, reserved: 0, perSource: 1)) { events.list.append($0) }
        _ = try budget.admit(source(1), close: {}).get()
        XCTAssertEqual(budget.screen(source(1), now: 0), .perSource)
        _ = try budget.admit(source(2), close: {}).get()
        _ = try budget.admit(source(3), close: {}).get()
        budget.count(.requestDeadline)
        XCTAssertEqual(events.list, [.refused(.perSource), .closed(.evicted), .closed(.requestDeadline)])
    }

    func testRatePerSourceAndRefundForOperators() throws {
        var rate = ConnectionRate(limits: .init(perSecond: 1, burst: 2), capacity: 2)
        let a = source(1), b = source(2), c = source(3)
        XCTAssertTrue(rate.take(a, now: 0))
        XCTAssertTrue(rate.take(a, now: 0))
        XCTAssertFalse(rate.take(a, now: 0), "burst of 2")
        XCTAssertTrue(rate.take(a, now: 1_000_000_000), "one more after a second")
        rate.refund(a)
        XCTAssertTrue(rate.take(a, now: 1_000_000_000), "a refunded token")
        XCTAssertTrue(rate.take(b, now: 1_000_000_000))
        XCTAssertTrue(rate.take(c, now: 1_000_000_000), "a full table is emptied rather than grown")
        XCTAssertEqual(rate.tableResets, 1)
    }

    func testIPv6CountsPer64AndMappedIPv4AsIPv4() throws {
        let one = try SocketAddress(ipAddress: "2001:db8:1:2::1", port: 1)
        let two = try SocketAddress(ipAddress: "2001:db8:1:2:ffff::9", port: 2)
        let other = try SocketAddress(ipAddress: "2001:db8:1:3::1", port: 1)
        XCTAssertEqual(ConnectionSource(one), ConnectionSource(two))
        XCTAssertNotEqual(ConnectionSource(one), ConnectionSource(other))
        XCTAssertEqual(ConnectionSource(one).description, "2001:db8:1:2::/64")
        let mapped = try SocketAddress(ipAddress: "::ffff:192.0.2.7", port: 1)
        XCTAssertEqual(ConnectionSource(mapped), ConnectionSource(try SocketAddress(ipAddress: "192.0.2.7", port: 1)))
        XCTAssertEqual(ConnectionSource(mapped).description, "192.0.2.7")
    }
}

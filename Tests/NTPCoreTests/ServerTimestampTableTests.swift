import NTPCore
import XCTest

/// The bounded table of our responses' timestamps and the pending ring that matches kernel transmit
/// timestamps to sent responses by datagram number.
final class ServerTimestampTableTests: XCTestCase {
    let client = IPAddress.v4(0x0A00_0001)
    var random = SeededRandom(seed: 9)

    func testSaveUpdateAndLookUp() {
        var table = ServerTimestampTable(capacity: 16, hashSeed: 1)
        let receive = NTPTimestamp(rawValue: 0x1000_0001)
        let daemon = NTPTimestamp(rawValue: 0x2000_0000_0000)
        XCTAssertNil(table.transmit(for: client, receive: receive))
        table.save(client: client, receive: receive, transmit: daemon, using: &random)
        XCTAssertEqual(table.transmit(for: client, receive: receive)?.timestamp, daemon)
        XCTAssertEqual(table.transmit(for: client, receive: receive)?.source, .daemon)
        XCTAssertNil(table.transmit(for: .v4(0x0A00_0002), receive: receive), "per client")
        XCTAssertNil(table.transmit(for: client, receive: NTPTimestamp(rawValue: 0x1000_0003)))

        let kernel = daemon.adding(NTPDuration(nanoseconds: 6_000))
        XCTAssertTrue(table.update(client: client, receive: receive, transmit: kernel, source: .kernel))
        XCTAssertEqual(table.transmit(for: client, receive: receive)?.timestamp, kernel)
        XCTAssertEqual(table.transmit(for: client, receive: receive)?.source, .kernel)
        XCTAssertFalse(table.update(client: client, receive: receive, transmit: kernel.adding(NTPDuration(nanoseconds: 1)), source: .kernel),
                       "one kernel stamp per response")
        table.disable(client: client, receive: receive)
        XCTAssertNil(table.transmit(for: client, receive: receive), "used once")
    }

    /// Hints (the index a save or lookup returned) only save the keyed hash: a hint that no longer holds the
    /// key (another response took the entry, or it is out of range) falls back to the lookup, and a hint never
    /// reaches another client's entry.
    func testHintsAreCheckedAgainstTheKey() throws {
        var table = ServerTimestampTable(capacity: 16, hashSeed: 1)
        let receive = NTPTimestamp(rawValue: 0x1000_0001)
        let daemon = NTPTimestamp(rawValue: 0x2000_0000_0000)
        let kernel = daemon.adding(NTPDuration(nanoseconds: 6_000))
        let slot = try XCTUnwrap(table.save(client: client, receive: receive, transmit: daemon, using: &random))
        let other = NTPTimestamp(rawValue: 0x1000_0005)
        let otherSlot = try XCTUnwrap(table.save(client: .v4(0x0A00_0002), receive: other, transmit: daemon, using: &random))
        XCTAssertNotEqual(slot, otherSlot)
        XCTAssertTrue(table.update(client: client, receive: receive, transmit: kernel, source: .kernel, hint: otherSlot),
                      "a wrong hint falls back to the lookup")
        XCTAssertEqual(table.transmit(for: client, receive: receive)?.timestamp, kernel)
        XCTAssertEqual(table.transmit(for: .v4(0x0A00_0002), receive: other)?.source, .daemon, "the hinted entry of another client is untouched")
        XCTAssertTrue(table.update(client: .v4(0x0A00_0002), receive: other, transmit: kernel, source: .kernel, hint: 1 << 40), "out of range: looked up")

        var header = NTPHeader(mode: .client)
        header.originTimestamp = receive
        header.receiveTimestamp = NTPTimestamp(rawValue: 0x1234)
        header.transmitTimestamp = NTPTimestamp(rawValue: 0x5678)
        let found = try XCTUnwrap(table.earlierIndexed(for: header, from: client))
        XCTAssertEqual(found.index, slot)
        XCTAssertEqual(found.timestamp, kernel)
        XCTAssertEqual(table.earlier(for: header, from: client)?.timestamp, kernel)
        XCTAssertNil(table.earlierIndexed(for: header, from: .v4(0x0A00_0003)), "per client")
        let saved = table.sent(ServerReply.Interleaving(earlierReceive: receive, earlierTransmit: kernel, earlierSource: .kernel),
                               receive: NTPTimestamp(rawValue: 0x1000_0009), to: client, transmit: daemon, using: &random, earlierHint: found.index)
        XCTAssertNotNil(saved)
        XCTAssertNil(table.earlierIndexed(for: header, from: client), "the hinted earlier response is used up")
        XCTAssertEqual(table.transmit(for: client, receive: NTPTimestamp(rawValue: 0x1000_0009))?.timestamp, daemon)
    }

    func testStampsOutsideTheWindowAreIgnored() {
        var table = ServerTimestampTable(capacity: 16, hashSeed: 1)
        let receive = NTPTimestamp(rawValue: 0x1000_0001)
        let daemon = NTPTimestamp(rawValue: 0x2000_0000_0000)
        table.save(client: client, receive: receive, transmit: daemon, using: &random)
        XCTAssertFalse(table.update(client: client, receive: receive, transmit: daemon.adding(NTPDuration(nanoseconds: -2_000_000)), source: .kernel),
                       "well before the daemon's timestamp: another packet's")
        XCTAssertFalse(table.update(client: client, receive: receive, transmit: daemon.adding(NTPDuration(seconds: 0.5)), source: .kernel))
        XCTAssertEqual(table.transmit(for: client, receive: receive)?.source, .daemon)
    }

    func testTheTableIsBoundedAndForgetsTheOldest() {
        var table = ServerTimestampTable(capacity: 16, hashSeed: 2)
        XCTAssertEqual(table.capacity, 16)
        for index in 0..<1_000 {
            table.save(client: .v4(UInt32(index)), receive: NTPTimestamp(rawValue: UInt64(index) << 8 | 1),
                       transmit: NTPTimestamp(rawValue: UInt64(index) << 20), using: &random)
        }
        var kept = 0
        for index in 0..<1_000 where table.transmit(for: .v4(UInt32(index)), receive: NTPTimestamp(rawValue: UInt64(index) << 8 | 1)) != nil {
            kept += 1
            XCTAssertGreaterThanOrEqual(index, 1_000 - 200, "only recent entries survive")
        }
        XCTAssertLessThanOrEqual(kept, 16)
        XCTAssertGreaterThan(kept, 0)
        XCTAssertGreaterThanOrEqual(table.evictions, UInt64(1_000 - 16))
    }

    func testPendingTransmitsMatchExactIdsOnce() {
        var pending = PendingTransmits(capacity: 4)
        let sent = PendingTransmits.Sent(client: client, receive: NTPTimestamp(rawValue: 3), transmit: NTPTimestamp(rawValue: 4), saved: true, interleaved: false)
        pending.record(id: 7, sent)
        XCTAssertNil(pending.take(id: 3), "same slot, another id")
        XCTAssertEqual(pending.take(id: 7), sent)
        XCTAssertNil(pending.take(id: 7), "once")
        pending.record(id: 8, sent)
        pending.record(id: 12, sent)  // overwrites 8's slot: 8's stamp is given up
        XCTAssertNil(pending.take(id: 8))
        XCTAssertNotNil(pending.take(id: 12))
        pending.record(id: UInt32.max, sent)
        XCTAssertNotNil(pending.take(id: UInt32.max), "the 32-bit counter wraps")
        pending.record(id: 1, sent)
        pending.removeAll()
        XCTAssertNil(pending.take(id: 1))
    }
}

import NTPCore
import XCTest

/// The client side of interleaved mode (RFC 9769 §2) against the project's own server core: the server's
/// clock is 2 ms ahead, each way takes 100 µs, the server's basic T3 is read 5 µs before the kernel sends
/// (its kernel stamp comes back), so basic samples are 2.5 µs off and interleaved ones exact.
final class InterleavedClientTests: XCTestCase {
    let state = ServerState.local(stratum: 1, precision: -20, referenceTime: NTPTimestamp(seconds: 3_900_000_000, fraction: 0))
    let alice = IPAddress.v4(0xC000_0201)
    let offset = NTPDuration(seconds: 0.002)
    let path = NTPDuration(nanoseconds: 100_000)
    var core = NTPServerCore(policy: ServerPolicy(), timestampCapacity: 64, timestampSeed: 7)
    var random = SeededRandom(seed: 11)
    var now = NTPTimestamp(seconds: 3_900_000_100, fraction: 0)

    struct Lost: Error {}

    /// One poll: the request, the server's decision and send, and (unless lost) the answer taken by `client`.
    /// `tamper` edits the answer on the way.
    func poll(
        _ client: inout InterleavedClient, lose: Bool = false, tamper: ((inout NTPHeader) -> Void)? = nil
    ) throws -> (request: InterleavedClient.Request, measurement: NTPMeasurement?) {
        now = now.adding(NTPDuration(seconds: 1))
        let request = client.request(using: &random)
        let t1 = now
        let received = t1.adding(offset + path)
        let bytes = NTPPacket(header: request.header).serialized()
        let decision = bytes.withUnsafeBytes {
            core.handle(request: $0, from: alice, receivedAt: received, monotonicNow: 0, state: state, random: &random)
        }
        guard case .reply(let reply) = decision else { throw XCTSkip("no reply: \(decision)") }
        let daemon = received.adding(NTPDuration(nanoseconds: 3_000))
        var wire = reply.serialized(transmit: daemon)
        core.sent(reply, to: alice, transmit: daemon, random: &random)
        let kernel = daemon.adding(NTPDuration(nanoseconds: 5_000))
        core.transmitted(to: alice, receive: reply.header.receiveTimestamp, at: kernel)
        guard !lose else { throw Lost() }
        if let tamper {
            var header = try NTPHeader(parsing: wire)
            tamper(&header)
            wire = NTPPacket(header: header).serialized()
        }
        let t4 = kernel.adding(path - offset)
        return (request, try client.complete(request, response: wire, localTransmit: t1, localReceive: t4, localPrecision: 1e-9))
    }

    func testFirstExchangesAreBasicThenInterleavedSamplesAreExact() throws {
        var client = InterleavedClient(enabled: true)
        let first = try poll(&client)
        XCTAssertFalse(first.request.isInterleaved, "nothing to name yet")
        XCTAssertEqual(first.request.header.originTimestamp, .zero)
        let basic = try XCTUnwrap(first.measurement)
        XCTAssertFalse(basic.interleaved)
        XCTAssertEqual(basic.offset, 0.002 - 2.5e-6, accuracy: 1e-8, "basic T3 is the daemon's, 5 µs early")

        let second = try poll(&client)
        XCTAssertTrue(second.request.isInterleaved)
        XCTAssertEqual(second.request.header.originTimestamp.rawValue & 1, 1, "names the server's receive timestamp")
        XCTAssertFalse(try XCTUnwrap(second.measurement).interleaved, "the server kept nothing of the first exchange")

        let third = try poll(&client)
        XCTAssertNil(third.measurement, "interleaved, but the exchange it names gave a basic sample already")
        XCTAssertEqual(client.statistics.repeated, 1)

        for _ in 0..<3 {
            let next = try poll(&client)
            let measurement = try XCTUnwrap(next.measurement)
            XCTAssertTrue(measurement.interleaved)
            XCTAssertEqual(measurement.offset, 0.002, accuracy: 1e-8, "the kernel's T3")
            XCTAssertEqual(measurement.delay, 200e-6, accuracy: 1e-8)
            XCTAssertNotNil(measurement.localReceive, "filed at the previous exchange's time")
        }
        XCTAssertEqual(client.statistics.basicSamples, 2)
        XCTAssertEqual(client.statistics.interleavedSamples, 3)
        XCTAssertEqual(client.statistics.lastInterleaved, true)
        XCTAssertEqual(client.statistics.bogus, 0)
    }

    func testSpoofedOriginAndImpossibleTransmitAreDroppedAndCounted() throws {
        var client = InterleavedClient(enabled: true)
        for _ in 0..<4 { _ = try poll(&client) }
        XCTAssertThrowsError(try poll(&client) { $0.transmitTimestamp = NTPTimestamp(rawValue: 1 << 40) }) {
            XCTAssertEqual($0 as? ExchangeError, .bogusInterleaved, "T3 before the named exchange's T2")
        }
        XCTAssertThrowsError(try poll(&client) { $0.originTimestamp = NTPTimestamp(rawValue: 0x1234_5678_9ABC_DEF1) }) {
            XCTAssertEqual($0 as? ExchangeError, .bogusOrigin)
        }
        XCTAssertEqual(client.statistics.bogus, 2)
        // Nothing was taken from either: the next request names the last good exchange, whose entry the
        // server spent on the dropped answer, so the answer is basic; interleaved again after that.
        XCTAssertEqual(try poll(&client).measurement?.interleaved, false)
        XCTAssertNil(try poll(&client).measurement, "names the exchange sampled in basic mode")
        XCTAssertEqual(try poll(&client).measurement?.interleaved, true)
    }

    func testLostAnswersFallBackToBasicPerPacketAndAfterFourToTheBasicForm() throws {
        var client = InterleavedClient(enabled: true)
        for _ in 0..<4 { _ = try poll(&client) }
        XCTAssertThrowsError(try poll(&client, lose: true))
        let afterLoss = try poll(&client)
        XCTAssertTrue(afterLoss.request.isInterleaved, "still names the last answered exchange")
        XCTAssertEqual(afterLoss.measurement?.interleaved, false, "the server spent that entry on the lost answer: basic")

        for _ in 0..<InterleavedClient.maximumUnanswered { XCTAssertThrowsError(try poll(&client, lose: true)) }
        let afterSilence = try poll(&client)
        XCTAssertFalse(afterSilence.request.isInterleaved, "after four unanswered requests, basic again")
        XCTAssertEqual(afterSilence.request.header.originTimestamp, .zero)
    }

    func testServerThatDoesNotInterleaveIsMeasuredInBasicMode() throws {
        core = NTPServerCore(policy: ServerPolicy(interleaved: false), timestampCapacity: 64, timestampSeed: 7)
        var client = InterleavedClient(enabled: true)
        for _ in 0..<5 {
            let answer = try poll(&client)
            XCTAssertFalse(try XCTUnwrap(answer.measurement).interleaved)
        }
        XCTAssertEqual(client.statistics.basicSamples, 5)
        XCTAssertEqual(client.statistics.lastInterleaved, false)
    }

    func testDisabledClientSendsOnlyBasicRequests() throws {
        var client = InterleavedClient(enabled: false)
        for _ in 0..<3 {
            let answer = try poll(&client)
            XCTAssertFalse(answer.request.isInterleaved)
            XCTAssertEqual(answer.request.header.receiveTimestamp, .zero)
        }
    }
}

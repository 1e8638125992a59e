import NTPCore
import XCTest

final class ClientExchangeTests: XCTestCase {
    let cookie = NTPTimestamp(rawValue: 0xAAAA_BBBB_CCCC_DDDD)

    func response(t2: NTPTimestamp, t3: NTPTimestamp, stratum: UInt8 = 2, leap: LeapIndicator = .noWarning, origin: NTPTimestamp? = nil, mode: NTPMode = .server) -> [UInt8] {
        NTPPacket(header: NTPHeader(
            leap: leap, version: 4, mode: mode, stratum: stratum, poll: 6, precision: -20,
            rootDelay: NTPShort(seconds: 0.002), rootDispersion: NTPShort(seconds: 0.003),
            referenceID: ReferenceID(ascii: "GPS"), referenceTimestamp: t2,
            originTimestamp: origin ?? cookie, receiveTimestamp: t2, transmitTimestamp: t3)).serialized()
    }

    func time(_ seconds: Double) -> NTPTimestamp {
        NTPTimestamp(UnixTime(seconds: 1_800_000_000, nanoseconds: 0)).adding(NTPDuration(seconds: seconds))
    }

    func testOffsetDelayAndDispersion() throws {
        // Server 5 ms ahead; 2 ms each way; 1 ms in the server.
        let t1 = time(0), t2 = time(0.007), t3 = time(0.008), t4 = time(0.005)
        let m = try ClientExchange.measure(response: response(t2: t2, t3: t3), sentTransmit: cookie, t1: t1, t4: t4, localPrecision: 1e-6)
        XCTAssertEqual(m.offset, 0.005, accuracy: 1e-9)
        XCTAssertEqual(m.delay, 0.004, accuracy: 1e-9)
        XCTAssertEqual(m.dispersion, ClientExchange.precisionSeconds(-20) + 1e-6 + 15e-6 * 0.005, accuracy: 1e-12)
        XCTAssertEqual(m.stratum, 2)
        XCTAssertEqual(m.rootDistance, (m.rootDelay + m.delay) / 2 + m.rootDispersion + m.dispersion, accuracy: 1e-12)
        XCTAssertEqual(m.rootDelay, 0.002, accuracy: 1.0 / 65536)
    }

    func testNegativeDelayIsClampedToPrecision() throws {
        let m = try ClientExchange.measure(
            response: response(t2: time(0.004), t3: time(0.006)), sentTransmit: cookie, t1: time(0), t4: time(0.001), localPrecision: 1e-6)
        XCTAssertEqual(m.delay, ClientExchange.precisionSeconds(-20) + 1e-6, accuracy: 1e-12)
    }

    func testAcrossTheEraBoundary() throws {
        // T1 just before 2036-02-07T06:28:16Z, T4 just after: the arithmetic is era independent.
        let before = NTPTimestamp(seconds: UInt32.max, fraction: 0)
        let after = NTPTimestamp(seconds: 0, fraction: 0x8000_0000)
        let m = try ClientExchange.measure(
            response: response(t2: NTPTimestamp(seconds: 0, fraction: 1), t3: NTPTimestamp(seconds: 0, fraction: 0x1000_0000)),
            sentTransmit: cookie, t1: before, t4: after, localPrecision: 1e-6)
        XCTAssertEqual(m.delay, 1.5 - 0.0625, accuracy: 1e-6)
        XCTAssertEqual(m.offset, (1.0 + (0.0625 - 0.5)) / 2, accuracy: 1e-6)
    }

    func testRejections() {
        func check(_ bytes: [UInt8], _ expected: ExchangeError) {
            XCTAssertThrowsError(try ClientExchange.measure(response: bytes, sentTransmit: cookie, t1: time(0), t4: time(0.001), localPrecision: 1e-6)) {
                XCTAssertEqual($0 as? ExchangeError, expected)
            }
        }
        check(Array(response(t2: time(0), t3: time(0)).prefix(40)), .malformed(.tooShort(length: 40)))
        check(response(t2: time(0), t3: time(0), origin: NTPTimestamp(rawValue: 1)), .bogusOrigin)
        check(response(t2: time(0), t3: time(0), mode: .client), .unexpectedMode(.client))
        var kiss = try! NTPHeader(parsing: response(t2: time(0), t3: time(0)))
        kiss.stratum = 0
        kiss.referenceID = .rate
        check(kiss.serialized(), .kissOfDeath(.rate))
        check(response(t2: time(0), t3: time(0), leap: .unsynchronized), .unsynchronized)
        // What an unsynchronised server sends: leap 3, stratum 0, reference id zero. Not a kiss.
        var unsynchronised = try! NTPHeader(parsing: response(t2: time(0), t3: time(0), leap: .unsynchronized))
        unsynchronised.stratum = 0
        unsynchronised.referenceID = ReferenceID(rawValue: 0)
        check(unsynchronised.serialized(), .unsynchronized)
        check(response(t2: .zero, t3: time(0)), .zeroTimestamp)
    }

    func testRequestRoundTripThroughTheServerRules() throws {
        let request = NTPPacket(header: ClientExchange.request(transmit: cookie)).serialized()
        var core = NTPServerCore(policy: ServerPolicy())
        // Not SystemRandomNumberGenerator: an empty struct passed inout through a closure crashes ThreadSanitizer (README, Sanitizers).
        var random = SeededRandom(seed: 7)
        let state = ServerState.local(stratum: 3, precision: -24, referenceTime: time(0))
        let decision = request.withUnsafeBytes {
            core.handle(request: $0, from: .v4(1), receivedAt: time(0.0101), monotonicNow: 0, state: state, random: &random)
        }
        guard case .reply(let reply) = decision else { return XCTFail("\(decision)") }
        let m = try ClientExchange.measure(
            response: reply.serialized(transmit: time(0.0102)), sentTransmit: cookie, t1: time(0), t4: time(0.0003), localPrecision: 1e-6)
        XCTAssertEqual(m.stratum, 3)
        XCTAssertEqual(m.offset, 0.01, accuracy: 1e-9)
        XCTAssertEqual(m.delay, 0.0002, accuracy: 1e-9)
    }

    func testPrecisionSeconds() {
        XCTAssertEqual(ClientExchange.precisionSeconds(0), 1)
        XCTAssertEqual(ClientExchange.precisionSeconds(-20), 1.0 / 1_048_576)
        XCTAssertEqual(ClientExchange.precisionSeconds(3), 8)
        XCTAssertEqual(ClientExchange.precisionSeconds(-128), 0x1p-128)
    }
}

import FleetCrypto
import NTPCore
import XCTest

/// Interleaved client/server mode (RFC 9769 §2) as chrony serves it, driven through `NTPServerCore` the way
/// a chrony client with `xleave` drives a server: its request names our previous response by the receive
/// timestamp that response carried (origin), and carries its own receive timestamp of that response.
final class ServerRulesInterleavedTests: XCTestCase {
    let state = ServerState.local(stratum: 1, precision: -20, referenceTime: NTPTimestamp(seconds: 3_900_000_000, fraction: 0))
    let alice = IPAddress.v4(0xC000_0201)
    let mallory = IPAddress.v4(0xC000_0202)

    /// A client's view of its last exchange, as chrony keeps it (remote_ntp_rx, local_ntp_rx).
    struct Client {
        var address: IPAddress
        var serverReceive = NTPTimestamp.zero
        var localReceive = NTPTimestamp.zero
        var transmit: UInt64 = 0x1000

        mutating func request(interleaved: Bool = true) -> [UInt8] {
            transmit &+= 0x1_0000_0002
            var header = ClientExchange.request(transmit: NTPTimestamp(rawValue: transmit))
            if interleaved {
                header.originTimestamp = serverReceive
                header.receiveTimestamp = localReceive
            }
            return NTPPacket(header: header).serialized()
        }
    }

    var core = NTPServerCore(policy: ServerPolicy(), timestampCapacity: 64, timestampSeed: 7)
    var random = SeededRandom(seed: 3)
    var clock = NTPTimestamp(seconds: 3_900_000_100, fraction: 0)

    /// One exchange: the server decides at `clock`, sends with the daemon's T3 a few microseconds later, and
    /// (unless `kernelStamp` is false) its kernel transmit stamp comes back 5 µs after that. Returns the
    /// response as the client parses it; `delivered: false` loses it on the way.
    func exchange(
        _ client: inout Client, interleaved: Bool = true, kernelStamp: Bool = true, delivered: Bool = true
    ) throws -> (header: NTPHeader, reply: ServerReply, daemon: NTPTimestamp, kernel: NTPTimestamp) {
        clock = clock.adding(NTPDuration(seconds: 1))
        let bytes = client.request(interleaved: interleaved)
        let decision = bytes.withUnsafeBytes {
            core.handle(request: $0, from: client.address, receivedAt: clock, monotonicNow: 0, state: state, random: &random)
        }
        guard case .reply(let reply) = decision else { throw XCTSkip("no reply: \(decision)") }
        let daemon = clock.adding(NTPDuration(nanoseconds: 3_000))
        let wire = reply.serialized(transmit: daemon)
        core.sent(reply, to: client.address, transmit: daemon, random: &random)
        let kernel = daemon.adding(NTPDuration(nanoseconds: 5_000))
        if kernelStamp { core.transmitted(to: client.address, receive: reply.header.receiveTimestamp, at: kernel) }
        let header = try NTPHeader(parsing: wire)
        if delivered {
            client.serverReceive = header.receiveTimestamp
            client.localReceive = clock.adding(NTPDuration(nanoseconds: 40_000))
        }
        return (header, reply, daemon, kernel)
    }

    func testThirdResponseIsInterleavedWithTheKernelTimestampOfTheSecond() throws {
        var client = Client(address: alice)
        let first = try exchange(&client)
        XCTAssertNil(first.reply.interleaving, "a zero origin is not the interleaved form")
        XCTAssertEqual(first.header.originTimestamp.rawValue, client.transmit, "basic: the client's transmit")
        XCTAssertEqual(first.header.receiveTimestamp.rawValue & 1, 1, "our receive timestamps are marked")
        XCTAssertEqual(first.header.transmitTimestamp.rawValue & 1, 0)

        let second = try exchange(&client)
        XCTAssertNotNil(second.reply.interleaving, "interleaved form, saved for the next request")
        XCTAssertFalse(second.reply.isInterleaved, "the first response was not saved: basic")
        XCTAssertEqual(second.header.originTimestamp.rawValue, client.transmit)

        let previousLocalReceive = client.localReceive
        let third = try exchange(&client)
        XCTAssertTrue(third.reply.isInterleaved)
        XCTAssertEqual(third.header.originTimestamp, previousLocalReceive, "interleaved: origin is the request's receive")
        XCTAssertEqual(third.header.transmitTimestamp.rawValue, second.kernel.rawValue & ~1, "the second response's kernel stamp")
        XCTAssertEqual(third.reply.interleaving?.earlierSource, .kernel)

        let fourth = try exchange(&client)
        XCTAssertEqual(fourth.header.transmitTimestamp.rawValue, third.kernel.rawValue & ~1, "and so on, every response")
    }

    func testWithoutAKernelStampTheDaemonTimestampIsSent() throws {
        var client = Client(address: alice)
        _ = try exchange(&client)
        let second = try exchange(&client, kernelStamp: false)
        let third = try exchange(&client)
        XCTAssertTrue(third.reply.isInterleaved)
        XCTAssertEqual(third.header.transmitTimestamp.rawValue, second.daemon.rawValue & ~1)
        XCTAssertEqual(third.reply.interleaving?.earlierSource, .daemon)
    }

    func testAClientThatLostAResponseGetsABasicOneThenInterleavesAgain() throws {
        var client = Client(address: alice)
        _ = try exchange(&client)
        _ = try exchange(&client)
        let used = try exchange(&client)
        XCTAssertTrue(used.reply.isInterleaved)
        // The fourth response is lost: the client names the third again, whose entry has served once.
        _ = try exchange(&client, delivered: false)
        let again = try exchange(&client)
        XCTAssertFalse(again.reply.isInterleaved, "a used entry serves no second interleaved response")
        XCTAssertEqual(again.header.originTimestamp.rawValue, client.transmit, "basic, so the client can tell")
        XCTAssertTrue(try exchange(&client).reply.isInterleaved, "back to interleaved on the next exchange")
    }

    func testAnotherAddressCannotUseOrSpoilAClientsEntry() throws {
        var client = Client(address: alice)
        _ = try exchange(&client)
        _ = try exchange(&client)
        // Mallory (or a spoofed packet) names Alice's response from another address, and a made-up origin.
        var spoofer = client
        spoofer.address = mallory
        let spoofed = try exchange(&spoofer)
        XCTAssertFalse(spoofed.reply.isInterleaved)
        XCTAssertEqual(spoofed.header.originTimestamp.rawValue, spoofer.transmit)
        var guesser = Client(address: alice, serverReceive: NTPTimestamp(rawValue: 0x1234_5678_9ABC_DEF1), localReceive: NTPTimestamp(rawValue: 5))
        XCTAssertFalse(try exchange(&guesser).reply.isInterleaved, "an origin we never sent")
        // Alice's entry is untouched.
        XCTAssertTrue(try exchange(&client).reply.isInterleaved)
    }

    func testAClientSwitchingToBasicGetsBasicAndIsNotSaved() throws {
        var client = Client(address: alice)
        _ = try exchange(&client)
        _ = try exchange(&client)
        let basic = try exchange(&client, interleaved: false)
        XCTAssertNil(basic.reply.interleaving)
        XCTAssertEqual(basic.header.originTimestamp.rawValue, client.transmit)
        let named = try exchange(&client)
        XCTAssertFalse(named.reply.isInterleaved, "the basic exchange was not saved")
        XCTAssertTrue(try exchange(&client).reply.isInterleaved)
    }

    func testTheFormNeedsVersionFourAnOddOriginAndDistinctTimestamps() {
        var header = ClientExchange.request(transmit: NTPTimestamp(rawValue: 0xAB))
        header.originTimestamp = NTPTimestamp(rawValue: 0x11)
        header.receiveTimestamp = NTPTimestamp(rawValue: 0x22)
        XCTAssertEqual(NTPServerRules.interleavedOrigin(of: header), NTPTimestamp(rawValue: 0x11))
        var even = header
        even.originTimestamp = NTPTimestamp(rawValue: 0x10)
        XCTAssertNil(NTPServerRules.interleavedOrigin(of: even))
        var v3 = header
        v3.version = 3
        XCTAssertNil(NTPServerRules.interleavedOrigin(of: v3))
        var same = header
        same.receiveTimestamp = same.transmitTimestamp
        XCTAssertNil(NTPServerRules.interleavedOrigin(of: same))
    }

    func testDisabledByPolicy() throws {
        core = NTPServerCore(policy: ServerPolicy(interleaved: false), timestampCapacity: 64, timestampSeed: 7)
        var client = Client(address: alice)
        for _ in 0..<4 {
            let exchanged = try exchange(&client)
            XCTAssertNil(exchanged.reply.interleaving)
            XCTAssertEqual(exchanged.header.originTimestamp.rawValue, client.transmit)
        }
    }

    func testSymmetricKeyResponsesAreInterleavedWithTheMACOverTheFinalPacket() throws {
        let computer = OpenSSLMACComputer()
        let key = try SymmetricKey(id: 1, type: .aes128, secret: [UInt8](repeating: 7, count: 16))
        core = NTPServerCore(
            policy: ServerPolicy(), symmetric: SymmetricServerConfiguration(keys: [key], computer: computer), timestampCapacity: 64,
            timestampSeed: 7)
        var serverReceive = NTPTimestamp.zero
        var kernel = NTPTimestamp.zero
        for round in 0..<3 {
            clock = clock.adding(NTPDuration(seconds: 1))
            var packet = NTPPacket(header: ClientExchange.request(transmit: NTPTimestamp(rawValue: 0x0123_4567_89AB_CDEF &+ UInt64(round) << 33)))
            packet.header.originTimestamp = serverReceive
            packet.header.receiveTimestamp = NTPTimestamp(rawValue: 0x77 &+ UInt64(round))
            let header = packet.header.serialized()
            packet.mac = header.withUnsafeBytes { SymmetricAuthentication.mac(for: $0, key: key, version: 4, computer: computer) }
            let bytes = packet.serialized()
            let decision = bytes.withUnsafeBytes {
                core.handle(request: $0, from: alice, receivedAt: clock, monotonicNow: 0, state: state, random: &random)
            }
            guard case .reply(let reply) = decision else { return XCTFail("not answered: \(decision)") }
            let daemon = clock.adding(NTPDuration(nanoseconds: 2_000))
            let wire = reply.serialized(transmit: daemon, mac: computer)
            let parsed = try NTPPacket(parsing: wire)
            let mac = try XCTUnwrap(parsed.mac)
            XCTAssertTrue(wire.withUnsafeBytes {
                SymmetricAuthentication.verify(mac, message: UnsafeRawBufferPointer(rebasing: $0[0..<48]), key: key, version: 4, computer: computer)
            })
            if round == 2 {
                XCTAssertTrue(reply.isInterleaved)
                XCTAssertEqual(parsed.header.transmitTimestamp.rawValue, kernel.rawValue & ~1)
            }
            core.sent(reply, to: alice, transmit: daemon, random: &random)
            kernel = daemon.adding(NTPDuration(nanoseconds: 4_000))
            core.transmitted(to: alice, receive: parsed.header.receiveTimestamp, at: kernel)
            serverReceive = parsed.header.receiveTimestamp
        }
    }
}

import NTPCore
import XCTest

final class ServerRulesTests: XCTestCase {
    let receivedAt = NTPTimestamp(seconds: 3_900_000_000, fraction: 0x8000_0000)
    let clientTransmit = NTPTimestamp(rawValue: 0xDEAD_BEEF_0BAD_F00D)

    var synced: ServerState {
        ServerState(
            leap: .noWarning, stratum: 1, precision: -20, rootDelay: 0.0005, rootDispersion: 0.001,
            referenceID: ReferenceID(ascii: "GPS"), referenceTime: NTPTimestamp(seconds: 3_899_999_990, fraction: 0x8000_0000))
    }

    func request(version: UInt8 = 4, mode: NTPMode = .client, poll: Int8 = 6) -> [UInt8] {
        var header = ClientExchange.request(transmit: clientTransmit, poll: poll, version: version)
        header.mode = mode
        return NTPPacket(header: header).serialized()
    }

    func decide(_ bytes: [UInt8], core: inout NTPServerCore, state: ServerState? = nil, from source: IPAddress = .v4(0x7F00_0001), now: UInt64 = 0, random: inout SeededRandom) -> ServerDecision {
        bytes.withUnsafeBytes {
            core.handle(request: $0, from: source, receivedAt: receivedAt, monotonicNow: now, state: state ?? synced, random: &random)
        }
    }

    func decide(_ bytes: [UInt8], policy: ServerPolicy = ServerPolicy(), state: ServerState? = nil, from source: IPAddress = .v4(0x7F00_0001)) -> ServerDecision {
        var core = NTPServerCore(policy: policy)
        var random = SeededRandom(seed: 1)
        return decide(bytes, core: &core, state: state, from: source, random: &random)
    }

    func reply(_ decision: ServerDecision, file: StaticString = #filePath, line: UInt = #line) throws -> ServerReply {
        guard case .reply(let reply) = decision else {
            XCTFail("expected a reply, got \(decision)", file: file, line: line)
            throw XCTSkip()
        }
        return reply
    }

    func testClientRequestGetsServerResponseFromState() throws {
        for version: UInt8 in 1...4 {
            let bytes = request(version: version, poll: 10)
            let answer = try reply(decide(bytes))
            let transmit = NTPTimestamp(rawValue: 0x1122_3344_5566_7788)
            let wire = answer.serialized(transmit: transmit)
            XCTAssertEqual(wire.count, 48)
            let header = try NTPHeader(parsing: wire)
            XCTAssertEqual(header.version, version, "version echoed")
            XCTAssertEqual(header.mode, .server)
            XCTAssertEqual(header.leap, .noWarning)
            XCTAssertEqual(header.stratum, 1)
            XCTAssertEqual(header.poll, 10)
            XCTAssertEqual(header.precision, -20)
            XCTAssertEqual(header.referenceID, ReferenceID(ascii: "GPS"))
            XCTAssertEqual(header.referenceTimestamp, synced.referenceTime)
            XCTAssertEqual(header.originTimestamp, clientTransmit, "origin is the client's transmit, unchanged")
            XCTAssertEqual(header.receiveTimestamp, NTPTimestamp(rawValue: receivedAt.rawValue | 1), "lowest bit set: ours, as chrony's")
            XCTAssertEqual(header.transmitTimestamp, transmit)
            XCTAssertEqual(header.rootDelay.seconds, 0.0005, accuracy: 1.0 / 65536)
            // 10 s after the reference: 1 ms + 15 ppm * 10 s, never rounded down.
            XCTAssertGreaterThanOrEqual(header.rootDispersion.seconds, 0.001 + 15e-6 * 10)
            XCTAssertLessThan(header.rootDispersion.seconds, 0.001 + 15e-6 * 10 + 2.0 / 65536)
        }
    }

    func testLoadSheddingBound() {
        let receivedAt = NTPTimestamp(seconds: 3_900_000_000, fraction: 0)
        func at(_ seconds: Double) -> NTPTimestamp { receivedAt.adding(NTPDuration(seconds: seconds)) }
        var behind = ReceiveBacklog()
        behind.read(count: ReceiveBacklog.minimumRequests, leftWaiting: true, at: receivedAt)
        XCTAssertFalse(ServerPolicy(maximumQueueDelay: nil).isTooOld(receivedAt: receivedAt, now: at(60), backlog: behind), "no bound: never")
        let policy = ServerPolicy(maximumQueueDelay: NTPDuration(seconds: 0.005))
        XCTAssertEqual(ServerPolicy().maximumQueueDelay, ServerPolicy.defaultMaximumQueueDelay, "on by default")
        XCTAssertFalse(policy.isTooOld(receivedAt: receivedAt, now: at(0.004), backlog: behind), "waited less than the bound")
        XCTAssertTrue(policy.isTooOld(receivedAt: receivedAt, now: at(0.006), backlog: behind), "waited longer, behind for longer")
        XCTAssertFalse(policy.isTooOld(receivedAt: receivedAt, now: at(0.006), backlog: ReceiveBacklog()), "a loop that keeps up answers late requests")
        var fresh = ReceiveBacklog()
        fresh.read(count: ReceiveBacklog.minimumRequests, leftWaiting: true, at: at(0.004))
        XCTAssertFalse(policy.isTooOld(receivedAt: receivedAt, now: at(0.006), backlog: fresh), "behind for 2 ms only: a burst, not overload")
        var small = ReceiveBacklog()
        small.read(count: 32, leftWaiting: true, at: receivedAt)
        XCTAssertFalse(policy.isTooOld(receivedAt: receivedAt, now: at(0.006), backlog: small), "old but small: a starved thread, answered")
    }

    func testBacklogLastsFromTheFirstReadLeavingRequestsUntilTheQueueRunsDry() {
        let start = NTPTimestamp(seconds: 3_900_000_000, fraction: 0)
        var backlog = ReceiveBacklog()
        XCTAssertEqual(backlog.behind(at: start), .zero)
        backlog.read(count: 32, leftWaiting: true, at: start)
        backlog.read(count: 32, leftWaiting: true, at: start.adding(NTPDuration(seconds: 0.001)))
        XCTAssertEqual(backlog.behindSince, start, "the run of full reads began with the first")
        XCTAssertEqual(backlog.behind(at: start.adding(NTPDuration(seconds: 0.003))), NTPDuration(seconds: 0.003))
        XCTAssertEqual(backlog.readWhileBehind, 64)
        XCTAssertFalse(backlog.isLasting(longerThan: NTPDuration(seconds: 0.002), at: start.adding(NTPDuration(seconds: 0.003))), "64 requests: small")
        for step in 2...7 { backlog.read(count: 32, leftWaiting: true, at: start.adding(NTPDuration(seconds: 0.001 * Double(step)))) }
        XCTAssertTrue(backlog.isLasting(longerThan: NTPDuration(seconds: 0.002), at: start.adding(NTPDuration(seconds: 0.003))), "256 requests over 3 ms")
        XCTAssertFalse(backlog.isLasting(longerThan: NTPDuration(seconds: 0.004), at: start.adding(NTPDuration(seconds: 0.003))), "not for longer than 4 ms")
        backlog.read(count: 3, leftWaiting: false, at: start.adding(NTPDuration(seconds: 0.008)))
        XCTAssertNil(backlog.behindSince, "a read emptied the queue")
        XCTAssertEqual(backlog.readWhileBehind, 0)
        backlog.read(count: 0, leftWaiting: false, at: .zero)
        XCTAssertEqual(backlog.behind(at: start.adding(NTPDuration(seconds: 1))), .zero)
    }

    func testUnsynchronisedAnswersLeapThreeStratumZero() throws {
        let answer = try reply(decide(request(), state: .unsynchronized(precision: -20)))
        XCTAssertEqual(answer.header.leap, .unsynchronized)
        XCTAssertEqual(answer.header.stratum, 0)
        XCTAssertEqual(answer.kind, .time)

        var lying = synced
        lying.stratum = 16
        XCTAssertEqual(try reply(decide(request(), state: lying)).header.leap, .unsynchronized)
    }

    func testLocalStateIsMarked() throws {
        let local = ServerState.local(stratum: 10, precision: -22, referenceTime: receivedAt)
        XCTAssertTrue(local.isLocal)
        XCTAssertTrue(local.isSynchronized)
        let answer = try reply(decide(request(), state: local))
        XCTAssertEqual(answer.header.stratum, 10)
        XCTAssertEqual(answer.header.referenceID, .locl)
        XCTAssertEqual(answer.header.rootDispersion.rawValue, 0)
    }

    func testNeverAnswered() {
        XCTAssertEqual(decide([]), .drop(.malformed))
        XCTAssertEqual(decide(Array(request().prefix(47))), .drop(.malformed))
        XCTAssertEqual(decide(request() + [0, 0]), .drop(.malformed), "length not a multiple of 4")
        for version: UInt8 in [0, 5, 6, 7] {
            XCTAssertEqual(decide(request(version: version)), .drop(.unsupportedVersion), "version \(version)")
        }
        for mode: NTPMode in [.reserved, .symmetricActive, .symmetricPassive, .server, .broadcast] {
            XCTAssertEqual(decide(request(mode: mode)), .drop(.unexpectedMode), "mode \(mode)")
        }
        for mode: NTPMode in [.control, .privateUse] {
            XCTAssertEqual(decide(request(mode: mode)), .drop(.controlQuery))
            // A 12-byte mode 6 header (ntpq's readvar) and a 8-byte mode 7 (monlist-style) probe.
            var short = [UInt8](repeating: 0, count: mode == .control ? 12 : 8)
            short[0] = 0x18 | mode.rawValue
            XCTAssertEqual(decide(short), .drop(.controlQuery))
        }
    }

    func testExtensionFieldsAndMACs() throws {
        // Unknown extension fields are ignored: a plain 48-byte answer.
        var packet = try NTPPacket(parsing: request())
        packet.extensionFields = [ExtensionField(type: 0x7777, body: [UInt8](repeating: 1, count: 28))]
        let withField = packet.serialized()
        let plain = try reply(decide(withField))
        XCTAssertEqual(plain.trailer, .none)
        XCTAssertEqual(plain.serialized(transmit: .zero).count, 48)

        // A MAC under a key this server does not hold, or a crypto-NAK-shaped one: no answer, as chrony does.
        packet = try NTPPacket(parsing: request())
        packet.mac = MAC(keyID: 42, digest: [UInt8](repeating: 9, count: 20))
        XCTAssertEqual(decide(packet.serialized()), .drop(.authenticationFailed))
        XCTAssertEqual(decide(request() + [0, 0, 0, 0]), .drop(.authenticationFailed))
    }

    func testReplyNeverLargerThanRequestOrBuffer() throws {
        let answer = try reply(decide(request()))
        var small = [UInt8](repeating: 0xEE, count: 40)
        XCTAssertEqual(small.withUnsafeMutableBytes { answer.write(transmit: .zero, to: $0) }, 0)
        XCTAssertEqual(small, [UInt8](repeating: 0xEE, count: 40), "nothing written")
        var shrunk = answer
        shrunk.trailer = .ntsNAK(uniqueIdentifier: [UInt8](repeating: 1, count: 32), authenticationFailed: false)
        shrunk.requestLength = 48
        XCTAssertEqual(shrunk.serialized(transmit: .zero).count, 0, "52 bytes never answer 48")
    }

    func testAccessIsCheckedFirst() {
        let policy = ServerPolicy(access: AccessList(rules: [AccessRule(allow: false, subnet: try! Subnet(parsing: "127.0.0.0/8"))]))
        XCTAssertEqual(decide(request(), policy: policy), .drop(.denied))
        XCTAssertEqual(decide([1, 2, 3], policy: policy), .drop(.denied), "a denied client learns nothing")
        XCTAssertNotEqual(decide(request(), policy: policy, from: .v6(high: 0, low: 1)), .drop(.denied))
    }

    func testRateLimitingInThePipeline() throws {
        let policy = ServerPolicy(rateLimit: try RateLimitPolicy(interval: 4, burst: 3, leak: 4, kod: 1))
        var core = NTPServerCore(policy: policy, rateLimitCapacity: 64)
        var random = SeededRandom(seed: 7)
        var outcomes: [String: Int] = [:]
        for _ in 0..<2000 {
            switch decide(request(), core: &core, random: &random) {
            case .reply(let answer):
                if case .kissOfDeath(let code) = answer.kind {
                    XCTAssertEqual(code, .rate)
                    XCTAssertEqual(answer.header.stratum, 0)
                    XCTAssertEqual(answer.header.referenceID, .rate)
                    XCTAssertEqual(answer.header.originTimestamp, clientTransmit)
                    outcomes["kod", default: 0] += 1
                } else {
                    outcomes["time", default: 0] += 1
                }
            case .drop(let reason):
                XCTAssertEqual(reason, .rateLimited)
                outcomes["drop", default: 0] += 1
            }
        }
        // burst 3, then leak 1/16 answered and half of the rest kissed.
        XCTAssertEqual(Double(outcomes["time"] ?? 0), 3 + 1997.0 / 16, accuracy: 40)
        XCTAssertEqual(Double(outcomes["kod"] ?? 0), 1997.0 * 15 / 16 / 2, accuracy: 120)
        XCTAssertEqual(core.busiestClients(limit: 1).first?.requests, 2000)

        // Other clients are not affected, and a reload without limits stops limiting.
        XCTAssertEqual(try reply(decide(request(), core: &core, from: .v4(0x0A00_0001), random: &random)).kind, .time)
        core.update(policy: ServerPolicy())
        XCTAssertEqual(try reply(decide(request(), core: &core, random: &random)).kind, .time)
    }

    /// The receive loop answers a request that is its header alone with `respond(toHeader:)`: the same
    /// decision and the same bytes as `respond(to:)` for every rate-limit verdict, state, version and form
    /// (basic, interleaved with and without the earlier response kept, interleaving off).
    func testHeaderOnlyRespondAgreesWithRespond() throws {
        let states = [synced, .unsynchronized(precision: -20), .local(stratum: 10, precision: -22, referenceTime: receivedAt)]
        let earliers: [(timestamp: NTPTimestamp, source: TransmitTimestampSource)?] = [nil, (NTPTimestamp(rawValue: 0x1234_5678_9ABC_DEF0), .kernel)]
        var random = SeededRandom(seed: 7)
        var compared = 0
        for interleavedPolicy in [true, false] {
            let rules = NTPServerRules(policy: ServerPolicy(interleaved: interleavedPolicy))
            for version: UInt8 in 1...4 {
                for interleavedForm in [false, true] {
                    var header = ClientExchange.request(transmit: clientTransmit, poll: 6, version: version)
                    if interleavedForm {
                        // RFC 9769 §2: origin = our earlier receive timestamp (lowest bit set), receive != transmit.
                        header.originTimestamp = NTPTimestamp(rawValue: 0xAAAA_0000_0000_0001)
                        header.receiveTimestamp = NTPTimestamp(rawValue: 0xBBBB_0000_0000_0000)
                    }
                    let bytes = NTPPacket(header: header).serialized()
                    let packet = try NTPPacket(parsing: bytes)
                    XCTAssertTrue(packet.extensionFields.isEmpty && packet.mac == nil)
                    for verdict in [nil, RateLimitVerdict.respond, .drop, .kissOfDeath] {
                        for state in states {
                            for earlier in earliers {
                                let full = bytes.withUnsafeBytes {
                                    rules.respond(
                                        to: packet, request: $0, rateLimit: verdict, receivedAt: receivedAt, state: state,
                                        earlier: earlier, random: &random)
                                }
                                let plain = rules.respond(
                                    toHeader: packet.header, rateLimit: verdict, receivedAt: receivedAt, state: state, earlier: earlier)
                                compared += 1
                                guard let plain else {
                                    XCTAssertEqual(full, .drop(.rateLimited))
                                    continue
                                }
                                let reply = try reply(full)
                                XCTAssertEqual(plain.reply(), reply)
                                XCTAssertEqual(plain.isInterleaved, reply.isInterleaved)
                                let transmit = NTPTimestamp(rawValue: 0x1122_3344_5566_7789)
                                var buffer = [UInt8](repeating: 0xFF, count: 64)
                                let length = buffer.withUnsafeMutableBytes { plain.write(transmit: transmit, to: $0) }
                                XCTAssertEqual(length, 48)
                                XCTAssertEqual(Array(buffer[0..<48]), reply.serialized(transmit: transmit))
                                XCTAssertEqual(buffer[48...].filter { $0 != 0xFF }.count, 0, "nothing written past the header")
                            }
                        }
                    }
                }
            }
        }
        XCTAssertEqual(compared, 2 * 4 * 2 * 4 * 3 * 2)
        var short = [UInt8](repeating: 0, count: 47)
        let header = try NTPHeader(parsing: request())
        let written = short.withUnsafeMutableBytes {
            NTPServerRules(policy: ServerPolicy()).respond(toHeader: header, rateLimit: nil, receivedAt: receivedAt, state: synced)!
                .write(transmit: .zero, to: $0)
        }
        XCTAssertEqual(written, 0, "a buffer shorter than the header gets nothing")
    }

    /// `admitHeader` (the receive loop's phase 1) decides as `admit` does, for valid, mutated, short, long
    /// and random datagrams and a denying access list; 48-byte requests come back as their header.
    func testAdmitHeaderAgreesWithAdmit() throws {
        var random = SeededRandom(seed: 0xAD17)
        let base = request()
        let deny = AccessList(rules: [AccessRule(allow: false, subnet: try Subnet(parsing: "10.0.0.0/8"))])
        for rules in [NTPServerRules(policy: ServerPolicy()), NTPServerRules(policy: ServerPolicy(access: deny))] {
            var headers = 0
            for iteration in 0..<50_000 {
                var bytes = base
                switch iteration % 4 {
                case 0: break
                case 1:
                    for _ in 0..<(1 + random.next() % 3) { bytes[Int(random.next() % 48)] = UInt8(truncatingIfNeeded: random.next()) }
                case 2:
                    bytes = (0..<Int(random.next() % 120)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                default:
                    bytes[0] = UInt8(truncatingIfNeeded: random.next())
                    bytes += [UInt8](repeating: 0, count: [0, 4, 20, 24, 28][Int(random.next() % 5)])
                }
                let source: IPAddress = iteration % 5 == 0 ? .v4(0x0A00_0001) : .v4(0x7F00_0001)
                let (full, header) = bytes.withUnsafeBytes { (rules.admit(request: $0, from: source), rules.admitHeader(request: $0, from: source)) }
                switch (full, header) {
                case (.drop(let a), .drop(let b)):
                    XCTAssertEqual(a, b)
                case (.admitted(let packet), .header(let header)):
                    XCTAssertEqual(bytes.count, 48)
                    XCTAssertEqual(packet, NTPPacket(header: header))
                    headers += 1
                case (.admitted(let a), .packet(let b)):
                    XCTAssertNotEqual(bytes.count, 48)
                    XCTAssertEqual(a, b)
                default:
                    XCTFail("\(full) against \(header) for \(bytes)")
                }
            }
            XCTAssertGreaterThan(headers, 1000)
        }
    }

    /// Random and mutated datagrams: the rules never trap, and whatever they answer is a well-formed server
    /// response, no larger than the request, echoing its transmit timestamp.
    func testFuzzNeverTrapsAndAnswersOnlyClientRequests() throws {
        var core = NTPServerCore(policy: ServerPolicy())
        var random = SeededRandom(seed: 0xF00D)
        let base = request()
        var answered = 0
        for iteration in 0..<200_000 {
            var bytes: [UInt8]
            switch iteration % 3 {
            case 0:
                bytes = (0..<Int(random.next() % 200)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            case 1:
                bytes = base
                for _ in 0..<(1 + random.next() % 4) { bytes[Int(random.next() % 48)] = UInt8(truncatingIfNeeded: random.next()) }
                if random.next() % 3 == 0 { bytes += (0..<Int(random.next() % 100)).map { _ in UInt8(truncatingIfNeeded: random.next()) } }
            default:
                bytes = Array(base.prefix(Int(random.next() % 49)))
            }
            if case .reply(let answer) = decide(bytes, core: &core, random: &random) {
                answered += 1
                let wire = answer.serialized(transmit: .zero)
                XCTAssertFalse(wire.isEmpty)
                XCTAssertLessThanOrEqual(wire.count, bytes.count)
                XCTAssertEqual(bytes[0] & 7, 3, "only client requests are answered")
                XCTAssertEqual(Array(wire[24..<32]), Array(bytes[40..<48]))
            }
        }
        XCTAssertGreaterThan(answered, 1000)
    }
}

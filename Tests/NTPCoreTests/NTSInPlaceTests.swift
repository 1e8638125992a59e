import FleetCrypto
@testable import NTPCore
import XCTest

/// The receive loop's NTS path reads a request where it lies (`ExtensionFieldScan`, `HeaderAdmission.nts`,
/// `respond(toNTS:)`) instead of parsing it into an `NTPPacket` (issue 18). It must decide exactly as the
/// packet path: same fields, same admission, same checks, same responses, for valid, tampered, truncated
/// and random datagrams.
final class NTSInPlaceTests: XCTestCase {
    let ciphers = NettleCipherFactory()
    var random = SeededRandom(seed: 0x1A_91ACE)
    let state = ServerState.local(stratum: 1, precision: -20, referenceTime: NTPTimestamp(seconds: 3_900_000_000, fraction: 0))
    let receivedAt = NTPTimestamp(seconds: 3_900_000_001, fraction: 0)

    func keySet(id: UInt32) -> CookieKeySet {
        try! CookieKeySet(keys: [CookieKey.generate(id: id, createdAt: 0, using: &random)])
    }

    /// A valid NTS request under `keySet`, with `placeholders` placeholders.
    func request(keySet: CookieKeySet, placeholders: Int) -> [UInt8] {
        let keys = NTSKeys(
            clientToServer: (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) },
            serverToClient: (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) })
        let cookie = NTSCookie.seal(keys, under: keySet.current, ciphers: ciphers, using: &random)
        return NTSClientRequest.build(
            header: ClientExchange.request(transmit: NTPTimestamp(rawValue: random.next())), cookie: cookie,
            placeholders: placeholders, keys: keys, ciphers: ciphers, using: &random
        ).packet
    }

    /// Valid requests, each mutated in one of several ways (or not), and random datagrams.
    func datagrams(keySet: CookieKeySet, count: Int) -> [[UInt8]] {
        let foreign = self.keySet(id: 99)
        return (0..<count).map { index in
            var bytes = request(keySet: index % 7 == 6 ? foreign : keySet, placeholders: index % 3 == 0 ? 1 : 0)
            switch index % 9 {
            case 0, 6: break  // valid; unknown cookie key
            case 1: bytes[Int(random.next() % UInt64(bytes.count))] ^= UInt8(truncatingIfNeeded: 1 + random.next() % 255)
            case 2: bytes = Array(bytes.prefix(48 + 4 * Int(random.next() % UInt64((bytes.count - 48) / 4))))
            case 3: bytes += [UInt8](repeating: 0, count: [4, 20, 24, 28, 16][Int(random.next() % 5)])
            case 4: bytes[0] = UInt8(truncatingIfNeeded: random.next())  // version and mode
            case 5: bytes[50 + 4 * Int(random.next() % 8)] = UInt8(truncatingIfNeeded: random.next())  // a field length
            case 7: bytes.swapAt(48, 48 + 36)  // field types shuffled
            default: bytes = (0..<(48 + 4 * Int(random.next() % 60))).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            }
            return bytes
        }
    }

    /// ExtensionFieldScan finds the fields `NTPPacket(parsing:)` finds, and the MAC, and fails where it throws.
    func testScanAgreesWithPacketParsing() {
        let keys = keySet(id: 1)
        var parsed = 0
        for bytes in datagrams(keySet: keys, count: 20_000) {
            var fields: [ExtensionFieldScan.Field] = []
            let scanned = bytes.withUnsafeBytes { ExtensionFieldScan.scan($0) { fields.append($0) } }
            guard let packet = try? NTPPacket(parsing: bytes), packet.header.version == 4 else {
                XCTAssertNil(scanned, "\(bytes)")
                continue
            }
            parsed += 1
            XCTAssertEqual(scanned, packet.mac != nil, "\(bytes)")
            XCTAssertEqual(fields.map(\.type), packet.extensionFields.map(\.type))
            XCTAssertEqual(fields.map(\.length), packet.extensionFields.map(\.encodedLength))
            var offset = NTPHeader.length
            for (field, parsedField) in zip(fields, packet.extensionFields) {
                XCTAssertEqual(field.offset, offset)
                XCTAssertEqual(Array(bytes[field.body]), parsedField.body)
                offset += parsedField.encodedLength
            }
        }
        XCTAssertGreaterThan(parsed, 10_000)
    }

    /// Admission and response: `admitHeader` takes the in-place path only for what `admit` admits as an
    /// NTPv4 client request with an NTS field and no MAC, and `respond(toNTS:)` then answers as
    /// `respond(to:)` does, under every rate-limit verdict; the in-place check equals the packet check.
    func testInPlaceDecisionsAgreeWithThePacketPath() {
        let keys = keySet(id: 1)
        let rules = NTPServerRules(policy: ServerPolicy(), nts: NTSServerConfiguration(keySet: keys, ciphers: ciphers))
        let source = IPAddress.v4(0x7F00_0001)
        var inPlace = 0
        var outcomes: Set<String> = []
        for bytes in datagrams(keySet: keys, count: 6_000) {
            let (full, header) = bytes.withUnsafeBytes { (rules.admit(request: $0, from: source), rules.admitHeader(request: $0, from: source)) }
            switch (full, header) {
            case (.drop(let a), .drop(let b)):
                XCTAssertEqual(a, b)
            case (.admitted(let packet), .header(let header)):
                XCTAssertEqual(bytes.count, NTPHeader.length)
                XCTAssertEqual(packet, NTPPacket(header: header))
            case (.admitted(let a), .packet(let b)):
                XCTAssertEqual(a, b)
                XCTAssertFalse(
                    a.header.version == 4 && a.mac == nil && a.extensionFields.contains { NTSExtensionType.isNTS($0.type) },
                    "an NTS request left on the packet path")
            case (.admitted(let packet), .nts(let nts)):
                inPlace += 1
                XCTAssertEqual(packet.header, nts)
                XCTAssertNil(packet.mac)
                XCTAssertTrue(packet.extensionFields.contains { NTSExtensionType.isNTS($0.type) })
                bytes.withUnsafeBytes { raw in
                    let check = NTSServer.check(request: raw, header: nts, configuration: rules.nts!)
                    XCTAssertEqual(check, NTSServer.check(request: raw, packet: packet, configuration: rules.nts!))
                    outcomes.insert("\(check)".prefix(while: { $0 != "(" }).description)
                    for verdict in [nil, RateLimitVerdict.respond, .drop, .kissOfDeath] {
                        var unused = SeededRandom(seed: 1)
                        XCTAssertEqual(
                            rules.respond(toNTS: nts, request: raw, rateLimit: verdict, receivedAt: receivedAt, state: state),
                            rules.respond(
                                to: packet, request: raw, rateLimit: verdict, receivedAt: receivedAt, state: state, client: source,
                                random: &unused))
                    }
                }
            default:
                XCTFail("\(full) against \(header) for \(bytes)")
            }
        }
        XCTAssertGreaterThan(inPlace, 2_000)
        XCTAssertEqual(outcomes, ["valid", "nak", "authenticationFailed", "invalid"])
    }

    /// The receive loop's way: one request slot reused for every datagram and a small key cache (clients of
    /// a few sessions polling again, so hits, misses and replacements all happen) decide as `respond(toNTS:)`
    /// and write the same bytes as `ServerReply.write`, which the client verifies.
    func testSlotAndKeyCacheAnswerAsThePacketPath() {
        let keys = keySet(id: 1)
        let configuration = NTSServerConfiguration(keySet: keys, ciphers: ciphers)
        let rules = NTPServerRules(policy: ServerPolicy(), nts: configuration)
        let sessions = (0..<6).map { _ in
            NTSKeys(
                clientToServer: (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) },
                serverToClient: (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) })
        }
        let cache = NTSKeyCipherCache(capacity: 4)
        var slot = NTSRequest()
        var sealed = 0
        var outcomes: Set<String> = []
        for index in 0..<600 {
            let session = sessions[Int(random.next() % UInt64(sessions.count))]
            let cookie = NTSCookie.seal(session, under: keys.current, ciphers: ciphers, using: &random)
            var (bytes, identifier) = NTSClientRequest.build(
                header: ClientExchange.request(transmit: NTPTimestamp(rawValue: random.next())), cookie: cookie,
                placeholders: index % 3, keys: session, ciphers: ciphers, using: &random)
            if index % 5 == 4 { bytes[bytes.count - 1 - Int(random.next() % 16)] ^= 1 }  // the authenticator's tag
            if index % 11 == 10 { bytes[52 + 36 + 8] ^= 1 }  // the cookie
            let verdict: RateLimitVerdict? = [nil, .respond, .kissOfDeath, .drop][index % 4]
            bytes.withUnsafeBytes { raw in
                guard case .nts(let header) = rules.admitHeader(request: raw, from: .v4(0x7F00_0001)) else { return XCTFail("not in place") }
                let expected = rules.respond(toNTS: header, request: raw, rateLimit: verdict, receivedAt: receivedAt, state: state)
                let answer = rules.respond(
                    toNTS: header, request: raw, rateLimit: verdict, receivedAt: receivedAt, state: state, keeping: &slot, ciphers: cache)
                outcomes.insert("\(answer)".prefix(while: { $0 != "(" }).description)
                switch answer {
                case .drop(let reason): XCTAssertEqual(expected, .drop(reason))
                case .decided(let decision): XCTAssertEqual(expected, decision)
                case .sealed(let reply, let cookies):
                    sealed += 1
                    let whole = ServerReply(
                        header: reply.header, trailer: .nts(slot, cookies: cookies), kind: reply.kind, requestLength: raw.count,
                        interleaving: reply.interleaving)
                    XCTAssertEqual(expected, .reply(whole))
                    var first = SeededRandom(seed: UInt64(index))
                    var second = SeededRandom(seed: UInt64(index))
                    let written = [UInt8](unsafeUninitializedCapacity: 2048) { buffer, count in
                        count = ServerReply.writeNTS(
                            reply, request: slot, cookies: cookies, requestLength: raw.count, transmit: receivedAt,
                            to: UnsafeMutableRawBufferPointer(buffer), nts: configuration,
                            random: { NTSWire.writeRandom(into: $0, using: &first) }, ciphers: cache)
                    }
                    XCTAssertFalse(written.isEmpty)
                    XCTAssertEqual(written, whole.serialized(transmit: receivedAt, nts: configuration, using: &second))
                    let verified = NTSClient.verify(response: written, uniqueIdentifier: identifier, keys: slot.keys, ciphers: ciphers)
                    guard case .authenticated(let fresh) = verified else { return XCTFail("\(verified)") }
                    XCTAssertEqual(fresh.count, cookies)
                }
            }
        }
        XCTAssertGreaterThan(sealed, 200)
        XCTAssertEqual(outcomes, ["sealed", "decided", "drop"])
        XCTAssertEqual(cache.occupied, 4)
    }

    /// A node without NTS answers NTS requests plain, on the packet path, as before.
    func testWithoutNTSTheInPlacePathIsNotTaken() {
        let rules = NTPServerRules(policy: ServerPolicy())
        let bytes = request(keySet: keySet(id: 1), placeholders: 0)
        let admission = bytes.withUnsafeBytes { rules.admitHeader(request: $0, from: .v4(0x7F00_0001)) }
        guard case .packet = admission else { return XCTFail("\(admission)") }
    }

    /// `NTSRequest` keeps keys and unique identifier inline when they fit (AES-SIV-CMAC-256 keys, 32-byte
    /// identifier) and in one array otherwise: both give back what went in, compare and hash by content, and
    /// never print key material.
    func testRequestKeepsKeysAndIdentifierInlineOrSpilled() {
        for (algorithm, keyLength, identifierLength) in [(UInt16(15), 32, 32), (15, 32, 33), (17, 64, 32), (15, 32, 200), (16, 48, 0)] {
            let keys = NTSKeys(
                algorithm: algorithm, clientToServer: (0..<keyLength).map { _ in UInt8.random(in: 0...255, using: &random) },
                serverToClient: (0..<keyLength).map { _ in UInt8.random(in: 0...255, using: &random) })
            let identifier = (0..<identifierLength).map { _ in UInt8.random(in: 0...255, using: &random) }
            let request = NTSRequest(keys: keys, uniqueIdentifier: identifier, cookieLength: 104, cookiesRequested: 2)
            XCTAssertEqual(request.keys, keys)
            XCTAssertEqual(request.algorithm, algorithm)
            XCTAssertEqual(request.uniqueIdentifier, identifier)
            XCTAssertEqual(request.cookieLength, 104)
            XCTAssertEqual(request.cookiesRequested, 2)
            request.withBytes { c2s, s2c, id in
                XCTAssertEqual(Array(c2s), keys.clientToServer)
                XCTAssertEqual(Array(s2c), keys.serverToClient)
                XCTAssertEqual(Array(id), identifier)
            }
            let same = NTSRequest(keys: keys, uniqueIdentifier: identifier, cookieLength: 104, cookiesRequested: 2)
            XCTAssertEqual(request, same)
            XCTAssertEqual(request.hashValue, same.hashValue)
            XCTAssertNotEqual(request, NTSRequest(keys: keys, uniqueIdentifier: identifier + [1], cookieLength: 104, cookiesRequested: 2))
            XCTAssertFalse("\(request)".contains("\(keys.clientToServer)"), "key material in the description")
        }
    }

    /// A request with a unique identifier too long to be kept inline is answered in full on the packet
    /// path: identifier echoed, response authenticated, its fresh cookie opening to the request's keys.
    func testLongUniqueIdentifierRoundTrip() throws {
        let keys = keySet(id: 3)
        let configuration = NTSServerConfiguration(keySet: keys, ciphers: ciphers)
        let rules = NTPServerRules(policy: ServerPolicy(), nts: configuration)
        let sessionKeys = NTSKeys(
            clientToServer: (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) },
            serverToClient: (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) })
        let identifier = (0..<72).map { _ in UInt8.random(in: 0...255, using: &random) }
        let cookie = NTSCookie.seal(sessionKeys, under: keys.current, ciphers: ciphers, using: &random)
        let bytes = NTSClientRequest.build(
            header: ClientExchange.request(transmit: NTPTimestamp(rawValue: random.next())), cookie: cookie, placeholders: 1,
            keys: sessionKeys, ciphers: ciphers, uniqueIdentifier: identifier, using: &random
        ).packet
        let admission = bytes.withUnsafeBytes { rules.admitHeader(request: $0, from: .v4(0x7F00_0001)) }
        guard case .nts(let header) = admission else { return XCTFail("\(admission)") }
        let decision = bytes.withUnsafeBytes {
            rules.respond(toNTS: header, request: $0, rateLimit: nil, receivedAt: receivedAt, state: state)
        }
        guard case .reply(let reply) = decision, case .nts(let request, let count) = reply.trailer else { return XCTFail("\(decision)") }
        XCTAssertEqual(request.uniqueIdentifier, identifier)
        XCTAssertEqual(request.keys, sessionKeys)
        XCTAssertEqual(count, 2)
        let response = reply.serialized(transmit: .zero, nts: configuration, using: &random)
        let verdict = NTSClient.verify(response: response, uniqueIdentifier: identifier, keys: sessionKeys, ciphers: ciphers)
        guard case .authenticated(let fresh) = verdict else { return XCTFail("\(verdict)") }
        XCTAssertEqual(fresh.count, 2)
        for cookie in fresh { XCTAssertEqual(NTSCookie.open(cookie, keySet: keys, ciphers: ciphers), sessionKeys) }
    }
}

import NTPCore
import XCTest

/// The NTS scenarios, parameterised by the AEAD implementation so NTSRealCipherTests can run the same
/// ones with the real AES-SIV (FleetCrypto).
struct NTSFixture {
    let ciphers: any AEADCipherFactory
    var random = SeededRandom(seed: 0x5EED)
    var configuration: NTSServerConfiguration
    let keys: NTSKeys

    init(ciphers: any AEADCipherFactory, history: Int = 3) {
        self.ciphers = ciphers
        var random = SeededRandom(seed: 42)
        let master = CookieKey.generate(id: 7, createdAt: 1_700_000_000, using: &random)
        configuration = NTSServerConfiguration(keySet: try! CookieKeySet(keys: [master], history: history), ciphers: ciphers)
        keys = NTSKeys(
            algorithm: AEADAlgorithm.aesSIVCMAC256,
            clientToServer: (0..<32).map { UInt8($0) },
            serverToClient: (0..<32).map { UInt8(0x80 | $0) })
    }

    var clientHeader: NTPHeader {
        NTPHeader(mode: .client, poll: 6, transmitTimestamp: NTPTimestamp(rawValue: 0x0123_4567_89AB_CDEF))
    }

    mutating func cookie() -> [UInt8] {
        NTSCookie.seal(keys, under: configuration.keySet.current, ciphers: ciphers, using: &random)
    }

    mutating func request(placeholders: Int = 0, cookie: [UInt8]? = nil, uniqueIdentifier: [UInt8]? = nil) -> (packet: [UInt8], uniqueIdentifier: [UInt8]) {
        let cookie = cookie ?? self.cookie()
        return NTSClientRequest.build(
            header: clientHeader, cookie: cookie, placeholders: placeholders, keys: keys, ciphers: ciphers,
            uniqueIdentifier: uniqueIdentifier, using: &random)
    }

    func check(_ bytes: [UInt8], configuration: NTSServerConfiguration? = nil) -> NTSServerCheck {
        guard let packet = try? NTPPacket(parsing: bytes) else { return .invalid("(test) does not parse") }
        return bytes.withUnsafeBytes { NTSServer.check(request: $0, packet: packet, configuration: configuration ?? self.configuration) }
    }

    /// The server's whole answer to a valid request: header || responseFields.
    mutating func respond(to request: NTSRequest, requestLength: Int) -> (response: [UInt8], cookies: [[UInt8]]) {
        let cookies = NTSServer.freshCookies(for: request, requestLength: requestLength, configuration: configuration, using: &random)
        var header = NTPHeader(mode: .server, stratum: 1, referenceID: ReferenceID(ascii: "GPS"))
        header.transmitTimestamp = NTPTimestamp(rawValue: 0xCAFE_F00D_0000_0001)
        let headerBytes = header.serialized()
        let fields = headerBytes.withUnsafeBytes {
            NTSServer.responseFields(header: $0, request: request, cookies: cookies, configuration: configuration, using: &random)
        }
        return (headerBytes + fields, cookies)
    }
}

func ntsValidRequest(_ check: NTSServerCheck, file: StaticString = #filePath, line: UInt = #line) throws -> NTSRequest {
    guard case .valid(let request) = check else {
        XCTFail("expected a valid request, got \(check)", file: file, line: line)
        throw XCTSkip("not valid")
    }
    return request
}

/// The end-to-end scenarios shared with NTSRealCipherTests.
enum NTSScenarios {
    static func fullExchange(ciphers: any AEADCipherFactory) throws {
        var fixture = NTSFixture(ciphers: ciphers)
        let (packet, uid) = fixture.request(placeholders: 2)
        let request = try ntsValidRequest(fixture.check(packet))
        XCTAssertEqual(request.keys, fixture.keys)
        XCTAssertEqual(request.uniqueIdentifier, uid)
        XCTAssertEqual(request.cookiesRequested, 3)
        XCTAssertEqual(request.cookieLength, 104)

        let (response, cookies) = fixture.respond(to: request, requestLength: packet.count)
        XCTAssertEqual(cookies.count, 3)
        XCTAssertLessThanOrEqual(response.count, packet.count)
        XCTAssertEqual(response.count, NTPHeader.length + NTSServer.responseFieldsLength(request: request, cookies: cookies))
        XCTAssertEqual(response.count % 4, 0)

        guard case .authenticated(let received) = NTSClient.verify(response: response, uniqueIdentifier: uid, keys: fixture.keys, ciphers: ciphers) else {
            return XCTFail("response did not verify")
        }
        XCTAssertEqual(received, cookies)
        // Each fresh cookie is good for the next request.
        for cookie in received {
            let next = fixture.request(cookie: cookie)
            XCTAssertEqual(try ntsValidRequest(fixture.check(next.packet)).keys, fixture.keys)
        }
    }

    static func tamperingDetected(ciphers: any AEADCipherFactory) throws {
        var fixture = NTSFixture(ciphers: ciphers)
        let (packet, uid) = fixture.request()
        // Every byte before the authenticator's nonce is authenticated or checked.
        for index in [0, 1, 5, 17, 40, 47] {
            var tampered = packet
            tampered[index] ^= index == 0 ? 0x40 : 0x01  // the leap bits, not the mode
            XCTAssertEqual(fixture.check(tampered), .authenticationFailed(uniqueIdentifier: uid), "header byte \(index)")
        }
        var tamperedUID = packet
        tamperedUID[52] ^= 0x80
        guard case .authenticationFailed = fixture.check(tamperedUID) else { return XCTFail("UID tampering not detected") }
        var tamperedTag = packet
        tamperedTag[packet.count - 1] ^= 0x01
        XCTAssertEqual(fixture.check(tamperedTag), .authenticationFailed(uniqueIdentifier: uid))

        let request = try ntsValidRequest(fixture.check(packet))
        let (response, _) = fixture.respond(to: request, requestLength: packet.count)
        for index in [1, 12, 30, 47, 50, 60, response.count - 1] {
            var tampered = response
            tampered[index] ^= 0x04
            guard case .rejected = NTSClient.verify(response: tampered, uniqueIdentifier: uid, keys: fixture.keys, ciphers: ciphers) else {
                return XCTFail("tampered response byte \(index) accepted")
            }
        }
    }

    static func cookieRoundTrip(ciphers: any AEADCipherFactory) throws {
        var random = SeededRandom(seed: 9)
        let keySet = try CookieKeySet(keys: [CookieKey.generate(id: 1, createdAt: 0, using: &random)])
        let keys = NTSKeys(clientToServer: [UInt8](repeating: 1, count: 32), serverToClient: [UInt8](repeating: 2, count: 32))
        let cookie = NTSCookie.seal(keys, under: keySet.current, ciphers: ciphers, using: &random)
        XCTAssertEqual(cookie.count, 104)
        XCTAssertEqual(NTSCookie.open(cookie, keySet: keySet, ciphers: ciphers), keys)
        // Two cookies of the same keys differ (fresh nonce), so a client's cookies are unlinkable.
        XCTAssertNotEqual(NTSCookie.seal(keys, under: keySet.current, ciphers: ciphers, using: &random), cookie)
        for index in cookie.indices {
            var tampered = cookie
            tampered[index] ^= 0x20
            XCTAssertNil(NTSCookie.open(tampered, keySet: keySet, ciphers: ciphers), "byte \(index)")
        }
    }
}

final class NTSTests: XCTestCase {
    let ciphers: any AEADCipherFactory = ToyCipherFactory()

    // MARK: Authenticator body

    func testAuthenticatorBodyRoundTrip() throws {
        for nonceLength in 1...20 {
            for ciphertextLength in [0, 1, 3, 15, 16, 17, 40, 41] {
                let authenticator = NTSAuthenticator(
                    nonce: (0..<nonceLength).map { UInt8($0 + 1) }, ciphertext: (0..<ciphertextLength).map { UInt8(0xFF - $0) })
                let body = authenticator.body()
                XCTAssertEqual(body.count % 4, 0)
                XCTAssertEqual(body.count, NTSAuthenticator.bodyLength(nonceLength: nonceLength, ciphertextLength: ciphertextLength))
                // The nonce field plus additional padding is at least 16 bytes (RFC 8915 §5.6).
                XCTAssertGreaterThanOrEqual(body.count - 4 - ((ciphertextLength + 3) & ~3), 16)
                XCTAssertEqual(try NTSAuthenticator(parsing: body), authenticator)
                let padded = authenticator.body(minimumLength: 101)
                XCTAssertEqual(padded.count, max(104, body.count))
                XCTAssertEqual(try NTSAuthenticator(parsing: padded), authenticator)
            }
        }
    }

    func testAuthenticatorBodyLayout() throws {
        let body = NTSAuthenticator(nonce: [1, 2, 3, 4, 5], ciphertext: [9, 8, 7]).body()
        XCTAssertEqual(body, [0, 5, 0, 3, 1, 2, 3, 4, 5, 0, 0, 0, 9, 8, 7, 0] + [UInt8](repeating: 0, count: 8))
        // chrony's usual request authenticator: 16-byte nonce, 16-byte tag, no extra padding.
        XCTAssertEqual(NTSAuthenticator(nonce: [UInt8](repeating: 1, count: 16), ciphertext: [UInt8](repeating: 2, count: 16)).body().count, 36)
    }

    func testMalformedAuthenticatorBodies() {
        func fails(_ body: [UInt8], _ expected: NTSError, line: UInt = #line) {
            XCTAssertThrowsError(try NTSAuthenticator(parsing: body), line: line) { error in
                XCTAssertEqual(error as? NTSError, expected, line: line)
            }
        }
        fails([], .authenticatorTooShort(bodyLength: 0))
        fails([0, 16, 0], .authenticatorTooShort(bodyLength: 3))
        fails([0, 0, 0, 16] + [UInt8](repeating: 0, count: 32), .emptyNonce)
        fails([0, 16, 0, 16] + [UInt8](repeating: 0, count: 28), .authenticatorOverrun(nonceLength: 16, ciphertextLength: 16, bodyLength: 32))
        fails([0xFF, 0xFF, 0xFF, 0xFF] + [UInt8](repeating: 0, count: 60), .authenticatorOverrun(nonceLength: 65535, ciphertextLength: 65535, bodyLength: 64))
        // A 4-byte nonce without the additional padding that brings it to 16.
        fails([0, 4, 0, 16] + [UInt8](repeating: 0, count: 20), .missingNoncePadding(nonceLength: 4, bodyLength: 24))
        // With the padding it parses.
        XCTAssertNoThrow(try NTSAuthenticator(parsing: [0, 4, 0, 16] + [UInt8](repeating: 0, count: 32)))
        // Random bodies never trap.
        var random = SeededRandom(seed: 3)
        for _ in 0..<20_000 {
            let length = Int(random.next() % 64)
            var body = (0..<length).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            if length >= 4, random.next() % 2 == 0 {
                body[0] = 0
                body[2] = 0
                body[1] = UInt8(random.next() % 40)
                body[3] = UInt8(random.next() % 40)
            }
            _ = try? NTSAuthenticator(parsing: body)
        }
    }

    // MARK: Cookies

    func testCookieSealOpenRoundTrip() throws {
        try NTSScenarios.cookieRoundTrip(ciphers: ciphers)
    }

    func testCookieLayoutAndOtherAlgorithm() throws {
        var random = SeededRandom(seed: 10)
        let master = CookieKey.generate(id: 0xA1B2_C3D4, createdAt: 5, using: &random)
        let keySet = try CookieKeySet(keys: [master])
        let keys = NTSKeys(algorithm: AEADAlgorithm.aesSIVCMAC512, clientToServer: [UInt8](repeating: 3, count: 64), serverToClient: [UInt8](repeating: 4, count: 64))
        let cookie = NTSCookie.seal(keys, under: master, ciphers: ciphers, using: &random)
        XCTAssertEqual(Array(cookie[0..<4]), [0xA1, 0xB2, 0xC3, 0xD4])
        XCTAssertEqual(NTSCookie.keyID(of: cookie), 0xA1B2_C3D4)
        XCTAssertEqual(cookie.count, 4 + 16 + 16 + 4 + 128)
        XCTAssertEqual(cookie.count % 4, 0)
        XCTAssertEqual(NTSCookie.open(cookie, keySet: keySet, ciphers: ciphers), keys)
        // A factory without that algorithm refuses it.
        XCTAssertNil(NTSCookie.open(cookie, keySet: keySet, ciphers: ToyCipherFactory(supportedAlgorithms: [AEADAlgorithm.aesSIVCMAC256])))
        // Wrong key lengths for the algorithm inside are refused.
        let odd = NTSKeys(clientToServer: [UInt8](repeating: 3, count: 16), serverToClient: [UInt8](repeating: 4, count: 16))
        XCTAssertNil(NTSCookie.open(NTSCookie.seal(odd, under: master, ciphers: ciphers, using: &random), keySet: keySet, ciphers: ciphers))
        // Too short, empty.
        XCTAssertNil(NTSCookie.open([], keySet: keySet, ciphers: ciphers))
        XCTAssertNil(NTSCookie.open(Array(cookie.prefix(20)), keySet: keySet, ciphers: ciphers))
        XCTAssertNil(NTSCookie.keyID(of: [1, 2, 3]))
    }

    func testCookieOpensOnAnotherNodeWithTheSameKeySet() throws {
        var random = SeededRandom(seed: 11)
        var nodeA = try CookieKeySet(keys: [CookieKey.generate(id: 1, createdAt: 100, using: &random)])
        try nodeA.rotate(to: CookieKey.generate(id: nodeA.nextID, createdAt: 200, using: &random))
        // Node B gets the set as the fleet distributes it: as text.
        let nodeB = try CookieKeySet(parsing: nodeA.serialized())
        XCTAssertEqual(nodeB, nodeA)
        let keys = NTSKeys(clientToServer: [UInt8](repeating: 5, count: 32), serverToClient: [UInt8](repeating: 6, count: 32))
        let cookie = NTSCookie.seal(keys, under: nodeA.current, ciphers: ciphers, using: &random)
        XCTAssertEqual(NTSCookie.open(cookie, keySet: nodeB, ciphers: ciphers), keys)
        // And a whole request made with a cookie from A is valid on B.
        var fixture = NTSFixture(ciphers: ciphers)
        fixture.configuration.keySet = nodeA
        let (packet, _) = fixture.request()
        let onB = NTSServerConfiguration(keySet: nodeB, ciphers: ciphers)
        XCTAssertEqual(try ntsValidRequest(fixture.check(packet, configuration: onB)).keys, fixture.keys)
    }

    func testCookieUnderRotatedOutKeyFailsAfterHistoryRotations() throws {
        for history in 1...4 {
            var random = SeededRandom(seed: UInt64(history))
            var keySet = try CookieKeySet(keys: [CookieKey.generate(id: 1, createdAt: 0, using: &random)], history: history)
            let keys = NTSKeys(clientToServer: [UInt8](repeating: 7, count: 32), serverToClient: [UInt8](repeating: 8, count: 32))
            let cookie = NTSCookie.seal(keys, under: keySet.current, ciphers: ciphers, using: &random)
            for rotation in 1..<history {
                try keySet.rotate(to: CookieKey.generate(id: keySet.nextID, createdAt: Int64(rotation), using: &random))
                XCTAssertEqual(NTSCookie.open(cookie, keySet: keySet, ciphers: ciphers), keys, "history \(history), rotation \(rotation)")
            }
            try keySet.rotate(to: CookieKey.generate(id: keySet.nextID, createdAt: 99, using: &random))
            XCTAssertNil(NTSCookie.open(cookie, keySet: keySet, ciphers: ciphers), "history \(history)")
            XCTAssertEqual(keySet.keys.count, history)
        }
    }

    // MARK: Server check

    func testFullExchange() throws {
        try NTSScenarios.fullExchange(ciphers: ciphers)
    }

    func testRequestLayoutMatchesChrony() throws {
        var fixture = NTSFixture(ciphers: ciphers)
        let (packet, uid) = fixture.request(placeholders: 1)
        XCTAssertEqual(uid.count, 32)
        let parsed = try NTPPacket(parsing: packet)
        XCTAssertNil(parsed.mac)
        XCTAssertEqual(parsed.extensionFields.map(\.type), [0x0104, 0x0204, 0x0304, 0x0404])
        XCTAssertEqual(parsed.extensionFields.map(\.encodedLength), [36, 108, 108, 40])
        XCTAssertEqual(parsed.extensionFields[2].body, [UInt8](repeating: 0, count: 104))
        let authenticator = try NTSAuthenticator(parsing: parsed.extensionFields[3].body)
        XCTAssertEqual(authenticator.nonce.count, 16)
        XCTAssertEqual(authenticator.ciphertext.count, 16)  // the tag of an empty plaintext
        XCTAssertEqual(packet.count, 48 + 36 + 108 + 108 + 40)
    }

    func testUnknownKeyAndTamperedCookieGetNAK() throws {
        var fixture = NTSFixture(ciphers: ciphers)
        var random = SeededRandom(seed: 12)
        let stranger = try CookieKeySet(keys: [CookieKey.generate(id: 99, createdAt: 0, using: &random)])
        let foreignCookie = NTSCookie.seal(fixture.keys, under: stranger.current, ciphers: ciphers, using: &random)
        let (packet, uid) = fixture.request(cookie: foreignCookie)
        XCTAssertEqual(fixture.check(packet), .nak(uniqueIdentifier: uid))

        var cookie = fixture.cookie()
        cookie[30] ^= 0x01
        let (tampered, uid2) = fixture.request(cookie: cookie)
        XCTAssertEqual(fixture.check(tampered), .nak(uniqueIdentifier: uid2))
        // Same key id as ours but garbage.
        var garbage = [UInt8](repeating: 0x55, count: 104)
        garbage[0...3] = [0, 0, 0, 7]
        let (garbageRequest, uid3) = fixture.request(cookie: garbage)
        XCTAssertEqual(fixture.check(garbageRequest), .nak(uniqueIdentifier: uid3))
    }

    func testTamperingGivesAuthenticationFailed() throws {
        try NTSScenarios.tamperingDetected(ciphers: ciphers)
    }

    func testWrongClientKeyGivesAuthenticationFailed() throws {
        var fixture = NTSFixture(ciphers: ciphers)
        let cookie = fixture.cookie()
        var random = SeededRandom(seed: 13)
        var wrong = fixture.keys
        wrong.clientToServer[0] ^= 1
        let (packet, uid) = NTSClientRequest.build(header: fixture.clientHeader, cookie: cookie, placeholders: 0, keys: wrong, ciphers: ciphers, using: &random)
        XCTAssertEqual(fixture.check(packet), .authenticationFailed(uniqueIdentifier: uid))
    }

    /// Assembles a request by hand: `fields` are (type, body) in order; an authenticator over everything
    /// before it is appended when `authenticate` and then `trailing` fields.
    func handmade(_ fixture: inout NTSFixture, _ fields: [(UInt16, [UInt8])], authenticate: Bool = true, plaintext: [UInt8] = [], trailing: [(UInt16, [UInt8])] = []) -> [UInt8] {
        var packet = fixture.clientHeader.serialized()
        for (type, body) in fields { ExtensionField(type: type, body: body).write(into: &packet) }
        if authenticate {
            let cipher = ciphers.cipher(algorithm: fixture.keys.algorithm, key: fixture.keys.clientToServer)!
            let nonce = [UInt8](repeating: 0x11, count: 16)
            let sealed = cipher.seal(nonce: nonce, associatedData: packet, plaintext: plaintext)
            ExtensionField(type: NTSExtensionType.authenticator, body: NTSAuthenticator(nonce: nonce, ciphertext: sealed).body()).write(into: &packet)
        }
        for (type, body) in trailing { ExtensionField(type: type, body: body).write(into: &packet) }
        return packet
    }

    func testInvalidRequests() throws {
        var fixture = NTSFixture(ciphers: ciphers)
        let uid = [UInt8](repeating: 0xAB, count: 32)
        let cookie = fixture.cookie()
        let placeholder = [UInt8](repeating: 0, count: cookie.count)
        func invalid(_ packet: [UInt8], _ why: String, line: UInt = #line) {
            guard case .invalid = fixture.check(packet) else {
                return XCTFail("\(why): got \(fixture.check(packet))", line: line)
            }
        }
        // The baseline is valid.
        XCTAssertNoThrow(try ntsValidRequest(fixture.check(handmade(&fixture, [(0x0104, uid), (0x0204, cookie)]))))
        invalid(handmade(&fixture, [(0x0104, Array(uid.prefix(28))), (0x0204, cookie)]), "UID of 28 bytes")
        invalid(handmade(&fixture, [(0x0104, [1, 2, 3, 4]), (0x0204, cookie)]), "UID of 4 bytes")
        invalid(handmade(&fixture, [(0x0204, cookie)]), "no UID")
        invalid(handmade(&fixture, [(0x0104, uid), (0x0104, uid), (0x0204, cookie)]), "two UIDs")
        invalid(handmade(&fixture, [(0x0104, uid)]), "no cookie")
        invalid(handmade(&fixture, [(0x0104, uid), (0x0304, placeholder)]), "placeholder but no cookie")
        invalid(handmade(&fixture, [(0x0104, uid), (0x0204, cookie), (0x0204, cookie)]), "two cookies")
        invalid(handmade(&fixture, [(0x0104, uid), (0x0204, cookie)], authenticate: false), "no authenticator")
        invalid(handmade(&fixture, [(0x0104, uid), (0x0204, cookie)], trailing: [(0x0304, placeholder)]), "placeholder after the authenticator")
        invalid(handmade(&fixture, [(0x0104, uid), (0x0204, cookie)], trailing: [(0x0404, [UInt8](repeating: 0, count: 36))]), "two authenticators")
        invalid(handmade(&fixture, [(0x0104, uid), (0x0204, cookie)], plaintext: [0x12, 0x34, 0x00, 0x09]), "malformed encrypted field")
        // A legacy MAC after the authenticator.
        invalid(handmade(&fixture, [(0x0104, uid), (0x0204, cookie)]) + [0, 0, 0, 1] + [UInt8](repeating: 0xEE, count: 16), "MAC")
        // NTS fields in a server-mode packet.
        var serverMode = handmade(&fixture, [(0x0104, uid), (0x0204, cookie)])
        serverMode[0] = (serverMode[0] & ~0x07) | 4
        invalid(serverMode, "server mode")
        // A packet that does not match the datagram.
        let good = handmade(&fixture, [(0x0104, uid), (0x0204, cookie)])
        let mismatched = try NTPPacket(parsing: good)
        var longer = good + [0, 0, 0, 0]
        let result = longer.withUnsafeMutableBytes { NTSServer.check(request: UnsafeRawBufferPointer($0), packet: mismatched, configuration: fixture.configuration) }
        guard case .invalid = result else { return XCTFail("mismatch: \(result)") }
        longer.removeAll()
    }

    func testNotNTS() throws {
        let fixture = NTSFixture(ciphers: ciphers)
        XCTAssertEqual(fixture.check(NTPPacket(header: fixture.clientHeader).serialized()), .notNTS)
        let unknown = NTPPacket(header: fixture.clientHeader, extensionFields: [ExtensionField(type: 0x2005, body: [UInt8](repeating: 1, count: 28))])
        XCTAssertEqual(fixture.check(unknown.serialized()), .notNTS)
    }

    func testUnknownFieldsAreIgnoredAnywhere() throws {
        var fixture = NTSFixture(ciphers: ciphers)
        let uid = [UInt8](repeating: 0xCD, count: 40)
        let cookie = fixture.cookie()
        let unknown: (UInt16, [UInt8]) = (0x7777, [UInt8](repeating: 9, count: 24))
        let packet = handmade(&fixture, [unknown, (0x0104, uid), unknown, (0x0204, cookie)], trailing: [unknown])
        let request = try ntsValidRequest(fixture.check(packet))
        XCTAssertEqual(request.uniqueIdentifier, uid)
        XCTAssertEqual(request.cookiesRequested, 1)
    }

    func testEncryptedPlaceholdersAreCounted() throws {
        var fixture = NTSFixture(ciphers: ciphers)
        let uid = [UInt8](repeating: 0xEF, count: 32)
        let cookie = fixture.cookie()
        var plaintext: [UInt8] = []
        for _ in 0..<2 {
            plaintext += [0x03, 0x04, 0x00, 0x6C] + [UInt8](repeating: 0, count: 104)
        }
        plaintext += [0x55, 0x55, 0x00, 0x04]  // a short unknown encrypted field: allowed and ignored
        let packet = handmade(&fixture, [(0x0104, uid), (0x0204, cookie), (0x0304, [UInt8](repeating: 0, count: 104))], plaintext: plaintext)
        let request = try ntsValidRequest(fixture.check(packet))
        XCTAssertEqual(request.cookiesRequested, 4)
        let (response, cookies) = fixture.respond(to: request, requestLength: packet.count)
        XCTAssertEqual(cookies.count, 4)
        XCTAssertLessThanOrEqual(response.count, packet.count)
    }

    // MARK: Responses

    func testResponseNoLargerThanRequest() throws {
        var fixture = NTSFixture(ciphers: ciphers)
        for placeholders in 0...8 {  // 9 would exceed NTPPacket.maximumLength
            let (packet, uid) = fixture.request(placeholders: placeholders)
            let request = try ntsValidRequest(fixture.check(packet))
            XCTAssertEqual(request.cookiesRequested, placeholders + 1)
            let (response, cookies) = fixture.respond(to: request, requestLength: packet.count)
            XCTAssertEqual(cookies.count, min(placeholders + 1, NTSServer.maximumCookies), "placeholders \(placeholders)")
            XCTAssertLessThanOrEqual(response.count, packet.count, "placeholders \(placeholders)")
            if placeholders < NTSServer.maximumCookies {
                // Each placeholder is exactly the room of one fresh cookie: nothing wasted.
                XCTAssertEqual(response.count, packet.count, "placeholders \(placeholders)")
            }
            XCTAssertEqual(NTSClient.verify(response: response, uniqueIdentifier: uid, keys: fixture.keys, ciphers: ciphers), .authenticated(cookies: cookies))
        }
    }

    func testShortPlaceholdersGetFewerCookies() throws {
        var fixture = NTSFixture(ciphers: ciphers)
        let uid = [UInt8](repeating: 0x42, count: 32)
        let cookie = fixture.cookie()
        // Three placeholders of 40 bytes: 3 * 44 = 132 spare bytes, room for just one more 108-byte cookie field.
        let short = [UInt8](repeating: 0, count: 40)
        let packet = handmade(&fixture, [(0x0104, uid), (0x0204, cookie), (0x0304, short), (0x0304, short), (0x0304, short)])
        let request = try ntsValidRequest(fixture.check(packet))
        XCTAssertEqual(request.cookiesRequested, 4)
        let (response, cookies) = fixture.respond(to: request, requestLength: packet.count)
        XCTAssertEqual(cookies.count, 2)
        XCTAssertLessThanOrEqual(response.count, packet.count)
        // A request length too small for even one (not a real request) gets none rather than amplification.
        XCTAssertEqual(NTSServer.freshCookies(for: request, requestLength: 200, configuration: fixture.configuration, using: &fixture.random), [])
    }

    func testFreshCookiesAreSealedUnderTheCurrentKey() throws {
        var fixture = NTSFixture(ciphers: ciphers)
        let (packet, _) = fixture.request(placeholders: 1)
        var random = SeededRandom(seed: 14)
        try fixture.configuration.keySet.rotate(to: CookieKey.generate(id: 8, createdAt: 1_700_086_400, using: &random))
        // The old cookie still opens (history 3), the fresh ones use key 8.
        let request = try ntsValidRequest(fixture.check(packet))
        let (_, cookies) = fixture.respond(to: request, requestLength: packet.count)
        XCTAssertEqual(cookies.map { NTSCookie.keyID(of: $0) }, [8, 8])
    }

    func testClientRejections() throws {
        var fixture = NTSFixture(ciphers: ciphers)
        let (packet, uid) = fixture.request()
        let request = try ntsValidRequest(fixture.check(packet))
        let (response, _) = fixture.respond(to: request, requestLength: packet.count)
        func rejected(_ verdict: NTSClientVerdict, _ why: String, line: UInt = #line) {
            guard case .rejected = verdict else { return XCTFail("\(why): \(verdict)", line: line) }
        }
        var otherUID = uid
        otherUID[0] ^= 1
        rejected(NTSClient.verify(response: response, uniqueIdentifier: otherUID, keys: fixture.keys, ciphers: ciphers), "wrong UID")
        var otherKeys = fixture.keys
        otherKeys.serverToClient[5] ^= 1
        rejected(NTSClient.verify(response: response, uniqueIdentifier: uid, keys: otherKeys, ciphers: ciphers), "wrong S2C key")
        // Sealed with C2S instead of S2C (a reflected request) fails.
        rejected(NTSClient.verify(response: packet, uniqueIdentifier: uid, keys: fixture.keys, ciphers: ciphers), "client mode")
        var reflected = packet
        reflected[0] = (reflected[0] & ~0x07) | 4
        rejected(NTSClient.verify(response: reflected, uniqueIdentifier: uid, keys: fixture.keys, ciphers: ciphers), "reflected request")
        // Without the authenticator, and not a NAK.
        rejected(NTSClient.verify(response: Array(response.prefix(48 + 36)), uniqueIdentifier: uid, keys: fixture.keys, ciphers: ciphers), "no authenticator")
        // Without the UID.
        let noUID = Array(response.prefix(48)) + Array(response[(48 + 36)...])
        rejected(NTSClient.verify(response: noUID, uniqueIdentifier: uid, keys: fixture.keys, ciphers: ciphers), "no UID")
        // Something after the authenticator.
        rejected(NTSClient.verify(response: response + [0x77, 0x77, 0, 16] + [UInt8](repeating: 0, count: 12), uniqueIdentifier: uid, keys: fixture.keys, ciphers: ciphers), "field after authenticator")
        rejected(NTSClient.verify(response: [1, 2, 3], uniqueIdentifier: uid, keys: fixture.keys, ciphers: ciphers), "garbage")
    }

    func testNAKPath() throws {
        var fixture = NTSFixture(ciphers: ciphers)
        var random = SeededRandom(seed: 15)
        let stranger = try CookieKeySet(keys: [CookieKey.generate(id: 1234, createdAt: 0, using: &random)])
        let (packet, uid) = fixture.request(placeholders: 3, cookie: NTSCookie.seal(fixture.keys, under: stranger.current, ciphers: ciphers, using: &random))
        guard case .nak(let echoed) = fixture.check(packet) else { return XCTFail("expected a NAK") }
        XCTAssertEqual(echoed, uid)
        let fields = NTSServer.nakFields(uniqueIdentifier: echoed)
        XCTAssertEqual(fields.count, 36)
        let header = NTPHeader(leap: .unsynchronized, mode: .server, stratum: 0, referenceID: .ntsNak)
        let nak = header.serialized() + fields
        XCTAssertLessThanOrEqual(nak.count, packet.count)
        XCTAssertEqual(try NTPPacket(parsing: nak).extensionFields.map(\.type), [NTSExtensionType.uniqueIdentifier])
        XCTAssertEqual(NTSClient.verify(response: nak, uniqueIdentifier: uid, keys: fixture.keys, ciphers: ciphers), .nak)
        // Someone else's NAK, or a NAK-looking packet without the NTSN kiss, is not one.
        var otherUID = uid
        otherUID[31] ^= 1
        guard case .rejected = NTSClient.verify(response: nak, uniqueIdentifier: otherUID, keys: fixture.keys, ciphers: ciphers) else { return XCTFail() }
        let notKiss = NTPHeader(mode: .server, stratum: 1, referenceID: ReferenceID(ascii: "GPS")).serialized() + fields
        guard case .rejected = NTSClient.verify(response: notKiss, uniqueIdentifier: uid, keys: fixture.keys, ciphers: ciphers) else { return XCTFail() }
    }

    func testResponseFieldsEdgeCases() throws {
        var fixture = NTSFixture(ciphers: ciphers)
        let (packet, uid) = fixture.request()
        let request = try ntsValidRequest(fixture.check(packet))
        // No cookies: still authenticated, with an empty list.
        let header = NTPHeader(mode: .server, stratum: 1).serialized()
        let fields = header.withUnsafeBytes {
            NTSServer.responseFields(header: $0, request: request, cookies: [], configuration: fixture.configuration, using: &fixture.random)
        }
        XCTAssertEqual(fields.count, NTSServer.responseFieldsLength(request: request, cookies: []))
        XCTAssertEqual(NTSClient.verify(response: header + fields, uniqueIdentifier: uid, keys: fixture.keys, ciphers: ciphers), .authenticated(cookies: []))
        // A short header gives nothing.
        let short = [UInt8](repeating: 0, count: 20).withUnsafeBytes {
            NTSServer.responseFields(header: $0, request: request, cookies: [], configuration: fixture.configuration, using: &fixture.random)
        }
        XCTAssertEqual(short, [])
    }

    // MARK: Key set

    func testKeySetBasics() throws {
        var random = SeededRandom(seed: 16)
        let a = CookieKey.generate(id: 10, createdAt: 1000, using: &random)
        XCTAssertEqual(a.key.count, 32)
        XCTAssertFalse(a.description.contains(String(a.key[0])) && a.description.contains("key:"))
        var set = try CookieKeySet(keys: [a], history: 2)
        XCTAssertEqual(set.current, a)
        XCTAssertEqual(set.nextID, 11)
        XCTAssertTrue(set.needsRotation(now: 1000 + 86_400, interval: 86_400))
        XCTAssertFalse(set.needsRotation(now: 1000 + 86_399, interval: 86_400))
        XCTAssertFalse(set.needsRotation(now: 10, interval: 86_400))  // clock went backwards
        XCTAssertTrue(set.needsRotation(now: .max, interval: 86_400))
        let b = CookieKey.generate(id: 11, createdAt: 2000, using: &random)
        try set.rotate(to: b)
        XCTAssertEqual(set.keys, [a, b])
        XCTAssertThrowsError(try set.rotate(to: b))
        XCTAssertThrowsError(try set.rotate(to: CookieKey(id: 50, key: [1, 2, 3], createdAt: 0)))
        let c = CookieKey.generate(id: 12, createdAt: 3000, using: &random)
        try set.rotate(to: c)
        XCTAssertEqual(set.keys, [b, c])
        XCTAssertNil(set.key(id: 10))
        XCTAssertEqual(set.key(id: 11), b)
        set.history = 1
        XCTAssertEqual(set.keys, [c])
        set.history = 0
        XCTAssertEqual(set.history, 1)

        // nextID skips ids still present and wraps.
        let wrap = try CookieKeySet(keys: [CookieKey(id: 0, key: a.key, createdAt: 0), CookieKey(id: .max, key: a.key, createdAt: 1)])
        XCTAssertEqual(wrap.nextID, 1)

        XCTAssertThrowsError(try CookieKeySet(keys: []))
        XCTAssertThrowsError(try CookieKeySet(keys: [a, a]))
        XCTAssertThrowsError(try CookieKeySet(keys: [CookieKey(id: 1, key: [0], createdAt: 0)]))
        XCTAssertThrowsError(try CookieKeySet(keys: [a], history: 0))
        // More keys than history: the oldest go.
        XCTAssertEqual(try CookieKeySet(keys: [a, b, c], history: 2).keys, [b, c])
    }

    func testKeySetTextRoundTrip() throws {
        var random = SeededRandom(seed: 17)
        let keys = (0..<3).map { CookieKey.generate(id: UInt32(100 + $0), createdAt: 1_700_000_000 + Int64($0) * 86_400, using: &random) }
        let set = try CookieKeySet(keys: keys)
        let text = set.serialized()
        let lines = text.split(separator: "\n")
        XCTAssertEqual(lines.first, "timefleet-cookie-keys 1")
        XCTAssertEqual(lines.count, 4)
        XCTAssertEqual(lines[1].split(separator: " ").last?.count, 64)
        XCTAssertEqual(try CookieKeySet(parsing: text), set)
        // Comments, blank lines, tabs, CRLF and upper-case hex are accepted.
        let hex = String(lines[1].split(separator: " ")[2]).uppercased()
        let decorated = "# site keys\r\n\r\ntimefleet-cookie-keys 1\r\n  # oldest first\n100\t1700000000\t\(hex)\r\n"
        XCTAssertEqual(try CookieKeySet(parsing: decorated).keys, [keys[0]])
        // Negative creation times round-trip.
        let old = try CookieKeySet(keys: [CookieKey(id: 1, key: keys[0].key, createdAt: -5)])
        XCTAssertEqual(try CookieKeySet(parsing: old.serialized()), old)
    }

    func testKeySetMalformedLinesAreNamed() {
        let hex = String(repeating: "ab", count: 32)
        let cases: [(String, Int?)] = [
            ("", nil),
            ("# only a comment\n", nil),
            ("timefleet-cookie-keys 1\n", nil),
            ("timefleet-cookie-keys 2\n1 0 \(hex)\n", 1),
            ("cookie-keys 1\n1 0 \(hex)\n", 1),
            ("timefleet-cookie-keys\n", 1),
            ("# c\n\ntimefleet-cookie-keys 1\n1 0\n", 4),
            ("timefleet-cookie-keys 1\n1 0 \(hex) extra\n", 2),
            ("timefleet-cookie-keys 1\nx 0 \(hex)\n", 2),
            ("timefleet-cookie-keys 1\n-1 0 \(hex)\n", 2),
            ("timefleet-cookie-keys 1\n4294967296 0 \(hex)\n", 2),
            ("timefleet-cookie-keys 1\n1 1.5 \(hex)\n", 2),
            ("timefleet-cookie-keys 1\n1 99999999999999999999 \(hex)\n", 2),
            ("timefleet-cookie-keys 1\n1 0 \(hex.dropLast(2))\n", 2),
            ("timefleet-cookie-keys 1\n1 0 \(hex)ab\n", 2),
            ("timefleet-cookie-keys 1\n1 0 \(hex.dropLast())\n", 2),
            ("timefleet-cookie-keys 1\n1 0 \(hex.dropLast())g\n", 2),
            ("timefleet-cookie-keys 1\n1 0 \(hex)\n\n# dup\n1 5 \(hex)\n", 5),
            ("timefleet-cookie-keys 1\n1 0 \(hex)\ntimefleet-cookie-keys 1\n", 3),
        ]
        for (text, line) in cases {
            XCTAssertThrowsError(try CookieKeySet(parsing: text), text) { error in
                let error = error as? CookieKeySetError
                XCTAssertEqual(error?.line, line, text)
                if let line { XCTAssertTrue(error?.description.hasPrefix("line \(line): ") ?? false, text) }
            }
        }
    }

    func testSecretsStayOutOfDescriptions() {
        let key = CookieKey(id: 3, key: [UInt8](repeating: 0xEE, count: 32), createdAt: 4)
        XCTAssertFalse(String(describing: key).contains("238"))
        XCTAssertFalse(String(reflecting: key).contains("238"))
        let keys = NTSKeys(clientToServer: [UInt8](repeating: 0xEE, count: 32), serverToClient: [UInt8](repeating: 0xEE, count: 32))
        XCTAssertFalse(String(describing: keys).contains("238"))
        XCTAssertFalse(String(describing: try! CookieKeySet(keys: [key])).contains("238"))
    }

    // MARK: Fuzz

    func testFuzzedRequestsNeverTrap() throws {
        var fixture = NTSFixture(ciphers: ciphers)
        var seeds: [[UInt8]] = []
        for placeholders in [0, 1, 3, 7] { seeds.append(fixture.request(placeholders: placeholders).packet) }
        var random = SeededRandom(seed: 0xF022)
        var outcomes: [String: Int] = [:]
        for iteration in 0..<50_000 {
            var bytes = seeds[iteration % seeds.count]
            let mutations = 1 + Int(random.next() % 4)
            for _ in 0..<mutations {
                switch random.next() % 6 {
                case 0, 1:  // flip a byte, biased towards the EF headers and authenticator lengths
                    let index = Int(random.next() % UInt64(bytes.count))
                    bytes[index] = UInt8(truncatingIfNeeded: random.next())
                case 2:  // rewrite a 16-bit length/type at a 4-aligned offset past the header
                    guard bytes.count > 52 else { break }
                    let offset = 48 + 4 * Int(random.next() % UInt64((bytes.count - 48) / 4))
                    let value = UInt16(truncatingIfNeeded: random.next() % 3 == 0 ? random.next() % 128 : random.next())
                    bytes[offset + Int(random.next() % 2) * 2] = UInt8(value >> 8)
                    bytes[min(bytes.count - 1, offset + 1 + Int(random.next() % 2) * 2)] = UInt8(truncatingIfNeeded: value)
                case 3:  // truncate to a multiple of 4
                    let keep = 48 + 4 * Int(random.next() % UInt64((bytes.count - 48) / 4 + 1))
                    bytes.removeLast(bytes.count - keep)
                case 4:  // append garbage
                    bytes += (0..<(4 * Int(random.next() % 8))).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                default:  // set an authenticator's lengths to edge values
                    if let index = bytes.indices.dropLast(8).last(where: { bytes[$0] == 0x04 && $0 > 0 && bytes[$0 - 1] == 0x04 }) {
                        let edges: [UInt16] = [0, 1, 15, 16, 17, 0x7FFF, 0xFFFF]
                        let n = edges[Int(random.next() % UInt64(edges.count))]
                        let c = edges[Int(random.next() % UInt64(edges.count))]
                        bytes[index + 3] = UInt8(n >> 8)
                        bytes[index + 4] = UInt8(truncatingIfNeeded: n)
                        bytes[index + 5] = UInt8(c >> 8)
                        bytes[index + 6] = UInt8(truncatingIfNeeded: c)
                    }
                }
            }
            guard let packet = try? NTPPacket(parsing: bytes) else {
                outcomes["unparsable", default: 0] += 1
                continue
            }
            let result = bytes.withUnsafeBytes { NTSServer.check(request: $0, packet: packet, configuration: fixture.configuration) }
            switch result {
            case .notNTS: outcomes["notNTS", default: 0] += 1
            case .nak: outcomes["nak", default: 0] += 1
            case .invalid: outcomes["invalid", default: 0] += 1
            case .authenticationFailed: outcomes["authenticationFailed", default: 0] += 1
            case .valid(let request):
                outcomes["valid", default: 0] += 1
                // Whatever got through must still be answerable without amplification.
                let (response, _) = fixture.respond(to: request, requestLength: bytes.count)
                XCTAssertLessThanOrEqual(response.count, bytes.count)
            }
            // The client side must not trap on the same bytes either.
            _ = NTSClient.verify(response: bytes, uniqueIdentifier: [UInt8](repeating: 0, count: 32), keys: fixture.keys, ciphers: ciphers)
        }
        // The mutations reach every verdict.
        for verdict in ["nak", "invalid", "authenticationFailed", "valid"] {
            XCTAssertGreaterThan(outcomes[verdict, default: 0], 0, "\(verdict): \(outcomes)")
        }
    }
}

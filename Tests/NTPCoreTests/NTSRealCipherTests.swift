// The NTS scenarios of NTSTests with the real AES-SIV (FleetCrypto, on Nettle) instead of the test-only ToyCipher.
// Needs "FleetCrypto" among the dependencies of this test target (Package.swift); without it the
// file compiles to nothing (canImport(CFleetCrypto) is false for targets that do not depend on it).
#if canImport(FleetCrypto) && canImport(CFleetCrypto)
import FleetCrypto
import NTPCore
import XCTest

final class NTSRealCipherTests: XCTestCase {
    let ciphers: any AEADCipherFactory = NettleCipherFactory()

    func testFullExchangeWithAESSIV() throws {
        try NTSScenarios.fullExchange(ciphers: ciphers)
    }

    func testTamperingDetectedWithAESSIV() throws {
        try NTSScenarios.tamperingDetected(ciphers: ciphers)
    }

    func testCookieRoundTripWithAESSIV() throws {
        try NTSScenarios.cookieRoundTrip(ciphers: ciphers)
    }

    /// The request authenticator is plain RFC 5297 AES-SIV over (AD = every byte before it, N = nonce, P = empty),
    /// which is what chrony computes: check it with AESSIV directly, independently of NTSServer.
    func testRequestAuthenticatorIsAESSIVOverThePrecedingBytes() throws {
        var fixture = NTSFixture(ciphers: ciphers)
        let (packet, _) = fixture.request(placeholders: 1)
        let parsed = try NTPPacket(parsing: packet)
        let authenticatorField = try XCTUnwrap(parsed.extensionFields.last)
        let authenticator = try NTSAuthenticator(parsing: authenticatorField.body)
        let siv = try AESSIV(key: fixture.keys.clientToServer)
        let ad = Array(packet.prefix(packet.count - authenticatorField.encodedLength))
        XCTAssertEqual(siv.open(nonce: authenticator.nonce, associatedData: ad, sealed: authenticator.ciphertext), [])
        XCTAssertEqual(siv.seal(nonce: authenticator.nonce, associatedData: ad, plaintext: []), authenticator.ciphertext)
    }

    /// Cookies sealed by one "node" open on another that only shares the key file, with real crypto and
    /// real randomness.
    func testTwoNodesShareCookiesWithRealRandomness() throws {
        // Not SystemRandomNumberGenerator: an empty struct passed inout through a closure crashes ThreadSanitizer (README, Sanitizers).
        var random = SecureRandomGenerator()
        var site = try CookieKeySet(keys: [CookieKey.generate(id: 1, createdAt: 1_700_000_000, using: &random)])
        try site.rotate(to: CookieKey.generate(id: site.nextID, createdAt: 1_700_086_400, using: &random))
        let nodeA = NTSServerConfiguration(keySet: site, ciphers: ciphers)
        let nodeB = NTSServerConfiguration(keySet: try CookieKeySet(parsing: site.serialized()), ciphers: ciphers)
        let keys = NTSKeys(
            clientToServer: (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) },
            serverToClient: (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) })
        var cookie = NTSCookie.seal(keys, under: nodeA.keySet.current, ciphers: ciphers, using: &random)
        for round in 0..<6 {
            let node = round % 2 == 0 ? nodeB : nodeA
            let header = NTPHeader(mode: .client, transmitTimestamp: NTPTimestamp(rawValue: random.next()))
            let (packet, uid) = NTSClientRequest.build(header: header, cookie: cookie, placeholders: round, keys: keys, ciphers: ciphers, using: &random)
            let check = try packet.withUnsafeBytes { NTSServer.check(request: $0, packet: try NTPPacket(parsing: $0), configuration: node) }
            let request = try ntsValidRequest(check)
            let cookies = NTSServer.freshCookies(for: request, requestLength: packet.count, configuration: node, using: &random)
            XCTAssertEqual(cookies.count, round + 1)
            let responseHeader = NTPHeader(mode: .server, stratum: 1, originTimestamp: header.transmitTimestamp).serialized()
            let fields = responseHeader.withUnsafeBytes {
                NTSServer.responseFields(header: $0, request: request, cookies: cookies, configuration: node, using: &random)
            }
            let response = responseHeader + fields
            XCTAssertEqual(response.count, packet.count)
            guard case .authenticated(let fresh) = NTSClient.verify(response: response, uniqueIdentifier: uid, keys: keys, ciphers: ciphers) else {
                return XCTFail("round \(round): response did not verify")
            }
            XCTAssertEqual(fresh, cookies)
            cookie = fresh[fresh.count - 1]
        }
    }

    func testFuzzedRequestsNeverTrapWithAESSIV() throws {
        var fixture = NTSFixture(ciphers: ciphers)
        let seed = fixture.request(placeholders: 2).packet
        var random = SeededRandom(seed: 0xAE5)
        var valid = 0
        for _ in 0..<5_000 {
            var bytes = seed
            for _ in 0..<(1 + Int(random.next() % 3)) {
                bytes[Int(random.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: random.next())
            }
            guard let packet = try? NTPPacket(parsing: bytes) else { continue }
            if case .valid = bytes.withUnsafeBytes({ NTSServer.check(request: $0, packet: packet, configuration: fixture.configuration) }) {
                valid += 1
            }
        }
        // Only mutations of unauthenticated bytes (padding, the nonce-length-neutral placeholder bodies) can stay valid.
        XCTAssertLessThan(valid, 5_000)
    }
}
#endif

import FleetCrypto
import NTPCore
import NTSKECore
import XCTest

/// The server's half of NTS-KE without I/O (RFC 8915 §4): records in, records and an outcome out, the TLS
/// exporter and the randomness passed in, the cookie keys read from the provider the NTP server also reads.
final class NTSKEResponderTests: XCTestCase {
    private let ciphers: any AEADCipherFactory = NettleCipherFactory()
    private let request: [NTSKERecord] = [.nextProtocol([0]), .aeadAlgorithms([15]), .endOfMessage()]

    private func key(_ id: UInt32, _ fill: UInt8) -> CookieKey {
        CookieKey(id: id, key: [UInt8](repeating: fill, count: CookieKey.keyLength), createdAt: Int64(id))
    }

    /// A stand-in for the TLS exporter (§5.1): 0x0C... for the C2S context, 0x5C... for S2C.
    private func export(_ context: [UInt8], _ length: Int) -> [UInt8]? {
        [UInt8](repeating: context.last == 0 ? 0x0C : 0x5C, count: length)
    }

    func testCookiesAreSealedUnderTheProvidersCurrentKeyAsPublished() throws {
        let provider = CookieKeyProvider(keySet: try CookieKeySet(keys: [key(1, 0x11)]), ciphers: ciphers)
        let responder = NTSKEResponder(policy: NTSKEServerPolicy(), cookieKeys: provider)
        let keys = NTSKeys(algorithm: 15, clientToServer: [UInt8](repeating: 0x0C, count: 32), serverToClient: [UInt8](repeating: 0x5C, count: 32))
        var random = SeededRandom(seed: 1)

        let (first, outcome) = responder.respond(to: request, export: export, random: &random)
        XCTAssertEqual(outcome, .keysEstablished(aead: 15, cookies: 8))
        let cookies = try NTSKEResponse(parsing: first, offered: [15]).cookies
        XCTAssertEqual(cookies.map { NTSCookie.keyID(of: $0) }, Array(repeating: 1, count: 8))
        XCTAssertEqual(Set(cookies.map { NTSCookie.open($0, keySet: provider.current!.keySet, ciphers: ciphers) }), [keys])

        // The same responder value reads the provider again: a published rotation seals under the new key.
        provider.publish(try CookieKeySet(keys: [key(1, 0x11), key(2, 0x22)]))
        let (second, _) = responder.respond(to: request, export: export, random: &random)
        let rotated = try NTSKEResponse(parsing: second, offered: [15]).cookies
        XCTAssertEqual(rotated.map { NTSCookie.keyID(of: $0) }, Array(repeating: 2, count: 8))
        XCTAssertEqual(Set(rotated.map { NTSCookie.open($0, keySet: provider.current!.keySet, ciphers: ciphers) }), [keys])
    }

    func testTheRandomnessIsPassedIn() throws {
        let provider = CookieKeyProvider(keySet: try CookieKeySet(keys: [key(1, 0x11)]), ciphers: ciphers)
        let responder = NTSKEResponder(policy: NTSKEServerPolicy(), cookieKeys: provider)
        func cookies(seed: UInt64) -> [[UInt8]] {
            var random = SeededRandom(seed: seed)
            return (try? NTSKEResponse(parsing: responder.respond(to: request, export: export, random: &random).records, offered: [15]).cookies) ?? []
        }
        XCTAssertEqual(cookies(seed: 7), cookies(seed: 7), "the same generator, the same cookies")
        XCTAssertNotEqual(cookies(seed: 7), cookies(seed: 8))
        XCTAssertEqual(Set(cookies(seed: 7)).count, 8, "each cookie its own nonce")
    }

    func testNoKeysPublishedYetIsAnInternalServerError() {
        let responder = NTSKEResponder(policy: NTSKEServerPolicy(), cookieKeys: CookieKeyProvider(ciphers: ciphers))
        var random = SeededRandom(seed: 1)
        let (records, _) = responder.respond(to: request, export: export, random: &random)
        XCTAssertEqual(records, [.error(.internalServerError), .endOfMessage()], "no cookies can be sealed (§4.1.6)")
    }

    func testExporterFailureAndRejection() throws {
        let provider = CookieKeyProvider(keySet: try CookieKeySet(keys: [key(1, 0x11)]), ciphers: ciphers)
        let responder = NTSKEResponder(policy: NTSKEServerPolicy(), cookieKeys: provider)
        var random = SeededRandom(seed: 1)
        let failed = responder.respond(to: request, export: { _, _ in nil }, random: &random)
        XCTAssertEqual(failed.outcome, .exportFailed)
        XCTAssertEqual(failed.records, [.error(.internalServerError), .endOfMessage()])

        let rejected = responder.respond(to: [.aeadAlgorithms([15]), .endOfMessage()], export: export, random: &random)
        XCTAssertEqual(rejected.records, [.error(.badRequest), .endOfMessage()])
        guard case .rejected(let error) = rejected.outcome else { return XCTFail("\(rejected.outcome)") }
        XCTAssertEqual(error.code, .badRequest)

        let none = responder.respond(to: [.nextProtocol([0]), .aeadAlgorithms([99]), .endOfMessage()], export: export, random: &random)
        XCTAssertEqual(none.outcome, .noCommonAlgorithm)
        XCTAssertEqual(none.records, [.nextProtocol([0]), .aeadAlgorithms([]), .endOfMessage()])
    }
}

import FleetCrypto
import NTPCore
import XCTest

/// NTS-protected requests through the server rules (RFC 8915 §5.7), with the real AES-SIV.
final class ServerRulesNTSTests: XCTestCase {
    let ciphers = NettleCipherFactory()
    var random = SeededRandom(seed: 99)
    let state = ServerState.local(stratum: 1, precision: -20, referenceTime: NTPTimestamp(seconds: 3_900_000_000, fraction: 0))
    let receivedAt = NTPTimestamp(seconds: 3_900_000_001, fraction: 0)

    func keySet(id: UInt32) -> CookieKeySet {
        try! CookieKeySet(keys: [CookieKey.generate(id: id, createdAt: 0, using: &random)])
    }

    func sessionKeys() -> NTSKeys {
        NTSKeys(clientToServer: (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) },
                serverToClient: (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) })
    }

    struct Request {
        var bytes: [UInt8]
        var uniqueIdentifier: [UInt8]
        var keys: NTSKeys
        var transmit: NTPTimestamp
    }

    func request(keySet: CookieKeySet, placeholders: Int = 0, keys: NTSKeys? = nil) -> Request {
        let keys = keys ?? sessionKeys()
        let cookie = NTSCookie.seal(keys, under: keySet.current, ciphers: ciphers, using: &random)
        let transmit = NTPTimestamp(rawValue: random.next())
        let (packet, uniqueIdentifier) = NTSClientRequest.build(
            header: ClientExchange.request(transmit: transmit), cookie: cookie, placeholders: placeholders, keys: keys,
            ciphers: ciphers, using: &random)
        return Request(bytes: packet, uniqueIdentifier: uniqueIdentifier, keys: keys, transmit: transmit)
    }

    func decide(_ bytes: [UInt8], core: inout NTPServerCore) -> ServerDecision {
        bytes.withUnsafeBytes {
            core.handle(request: $0, from: .v4(0x7F00_0001), receivedAt: receivedAt, monotonicNow: 0, state: state, random: &random)
        }
    }

    func testAuthenticatedResponseWithFreshCookiesNeverLargerThanTheRequest() throws {
        let keys = keySet(id: 5)
        let configuration = NTSServerConfiguration(keySet: keys, ciphers: ciphers)
        var core = NTPServerCore(policy: ServerPolicy(), nts: configuration)
        for placeholders in 0...7 {
            let request = request(keySet: keys, placeholders: placeholders)
            guard case .reply(let reply) = decide(request.bytes, core: &core) else { return XCTFail("no reply") }
            guard case .nts(_, let count) = reply.trailer else { return XCTFail("\(reply.trailer)") }
            XCTAssertEqual(count, placeholders + 1)
            let wire = reply.serialized(transmit: NTPTimestamp(rawValue: 1), nts: configuration, using: &random)
            XCTAssertEqual(wire.count, reply.length)
            XCTAssertLessThanOrEqual(wire.count, request.bytes.count, "never larger than the request")
            let verdict = NTSClient.verify(response: wire, uniqueIdentifier: request.uniqueIdentifier, keys: request.keys, ciphers: ciphers)
            guard case .authenticated(let cookies) = verdict else { return XCTFail("\(verdict)") }
            XCTAssertEqual(cookies.count, placeholders + 1)
            XCTAssertEqual(Set(cookies).count, cookies.count, "each cookie sealed with its own nonce")
            let header = try NTPHeader(parsing: wire)
            XCTAssertEqual(header.originTimestamp, request.transmit)
            XCTAssertEqual(header.stratum, 1)
            // The fresh cookies open under the site's keys (here: on any node holding them).
            for cookie in cookies { XCTAssertEqual(NTSCookie.open(cookie, keySet: keys, ciphers: ciphers), request.keys) }
        }
    }

    func testUnknownCookieKeyGetsNAK() throws {
        let configuration = NTSServerConfiguration(keySet: keySet(id: 1), ciphers: ciphers)
        var core = NTPServerCore(policy: ServerPolicy(), nts: configuration)
        let request = request(keySet: keySet(id: 2))
        guard case .reply(let reply) = decide(request.bytes, core: &core) else { return XCTFail("no reply") }
        XCTAssertEqual(reply.kind, .kissOfDeath(.ntsNak))
        XCTAssertEqual(reply.trailer, .ntsNAK(uniqueIdentifier: request.uniqueIdentifier, authenticationFailed: false))
        let wire = reply.serialized(transmit: .zero, nts: configuration, using: &random)
        XCTAssertLessThanOrEqual(wire.count, request.bytes.count)
        XCTAssertEqual(NTSClient.verify(response: wire, uniqueIdentifier: request.uniqueIdentifier, keys: request.keys, ciphers: ciphers), .nak)
        XCTAssertEqual(try NTPHeader(parsing: wire).referenceID, .ntsNak)
    }

    func testTamperedRequestGetsAuthenticationFailureNAK() throws {
        let keys = keySet(id: 3)
        var core = NTPServerCore(policy: ServerPolicy(), nts: NTSServerConfiguration(keySet: keys, ciphers: ciphers))
        var request = request(keySet: keys)
        request.bytes[2] ^= 0x01  // the poll field: covered by the authenticator
        guard case .reply(let reply) = decide(request.bytes, core: &core) else { return XCTFail("no reply") }
        XCTAssertEqual(reply.trailer, .ntsNAK(uniqueIdentifier: request.uniqueIdentifier, authenticationFailed: true))
    }

    func testInvalidNTSFieldsAreDropped() throws {
        let keys = keySet(id: 4)
        var core = NTPServerCore(policy: ServerPolicy(), nts: NTSServerConfiguration(keySet: keys, ciphers: ciphers))
        let valid = request(keySet: keys)
        var packet = try NTPPacket(parsing: valid.bytes)
        // A second cookie before the authenticator.
        let cookieField = packet.extensionFields.first { $0.type == NTSExtensionType.cookie }!
        packet.extensionFields.insert(cookieField, at: 1)
        XCTAssertEqual(decide(packet.serialized(), core: &core), .drop(.ntsInvalid))
        // No unique identifier.
        packet = try NTPPacket(parsing: valid.bytes)
        packet.extensionFields.removeAll { $0.type == NTSExtensionType.uniqueIdentifier }
        XCTAssertEqual(decide(packet.serialized(), core: &core), .drop(.ntsInvalid))
    }

    func testWithoutNTSConfiguredTheRequestIsAnsweredPlain() throws {
        var core = NTPServerCore(policy: ServerPolicy())
        let request = request(keySet: keySet(id: 6))
        guard case .reply(let reply) = decide(request.bytes, core: &core) else { return XCTFail("no reply") }
        XCTAssertEqual(reply.trailer, .none)
        XCTAssertEqual(NTSClient.verify(response: reply.serialized(transmit: .zero), uniqueIdentifier: request.uniqueIdentifier, keys: request.keys, ciphers: ciphers),
                       .rejected("no unique identifier"), "the client refuses an unauthenticated answer")
    }

    func testRateKissIsAuthenticatedAndNeverCombinedWithNAK() throws {
        let keys = keySet(id: 8)
        let configuration = NTSServerConfiguration(keySet: keys, ciphers: ciphers)
        // burst 1, every limited request gets a KoD (kod 1 with a generator that always says yes is not
        // available, so loop until one is seen).
        var core = NTPServerCore(policy: ServerPolicy(rateLimit: try RateLimitPolicy(interval: 10, burst: 1, leak: 4, kod: 1)), nts: configuration)
        var sawAuthenticatedKiss = false
        var sawDroppedNAK = false
        let unknown = keySet(id: 9)
        for index in 0..<200 {
            let request = request(keySet: index % 2 == 0 ? keys : unknown)
            switch decide(request.bytes, core: &core) {
            case .reply(let reply):
                if case .kissOfDeath(.rate) = reply.kind, case .nts = reply.trailer {
                    let wire = reply.serialized(transmit: .zero, nts: configuration, using: &random)
                    if case .authenticated = NTSClient.verify(response: wire, uniqueIdentifier: request.uniqueIdentifier, keys: request.keys, ciphers: ciphers) {
                        sawAuthenticatedKiss = true
                    }
                }
                XCTAssertFalse(reply.kind == .kissOfDeath(.rate) && !isNTS(reply.trailer), "a RATE kiss never rides on a NAK: \(reply.trailer)")
            case .drop(let reason):
                if reason == .rateLimited && index % 2 == 1 { sawDroppedNAK = true }
            }
        }
        XCTAssertTrue(sawAuthenticatedKiss, "a RATE kiss to an NTS client is authenticated")
        XCTAssertTrue(sawDroppedNAK)
    }

    private func isNTS(_ trailer: ServerReply.Trailer) -> Bool {
        if case .nts = trailer { return true }
        return false
    }
}

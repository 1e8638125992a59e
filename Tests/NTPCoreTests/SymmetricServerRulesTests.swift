import FleetCrypto
import NTPCore
import XCTest

/// The server rules with symmetric keys: an authenticated request gets a reply under the same key, in the
/// request's version (NTPv4 truncated MAC, NTPv3 full MAC, as chrony); anything else is dropped.
final class SymmetricServerRulesTests: XCTestCase {
    let computer = OpenSSLMACComputer()

    func signedRequest(key: SymmetricKey, version: UInt8) -> [UInt8] {
        var packet = NTPPacket(header: ClientExchange.request(transmit: NTPTimestamp(rawValue: 0x0123_4567_89AB_CDEF), version: version))
        let header = packet.header.serialized()
        packet.mac = header.withUnsafeBytes { SymmetricAuthentication.mac(for: $0, key: key, version: version, computer: computer) }
        return packet.serialized()
    }

    func decide(_ bytes: [UInt8], keys: [SymmetricKey]) -> ServerDecision {
        var core = NTPServerCore(policy: ServerPolicy(), symmetric: SymmetricServerConfiguration(keys: keys, computer: computer))
        var random = SeededRandom(seed: 1)
        let state = ServerState.local(stratum: 2, precision: -20, referenceTime: NTPTimestamp(rawValue: 0xE000_0000_0000_0000))
        return bytes.withUnsafeBytes {
            core.handle(request: $0, from: .v4(0x7F00_0001), receivedAt: NTPTimestamp(rawValue: 0xE000_0001_0000_0000), monotonicNow: 0, state: state, random: &random)
        }
    }

    func testAuthenticatedRequestsGetAnswersUnderTheSameKey() throws {
        let aes = try SymmetricKey(id: 1, type: .aes128, secret: [UInt8](repeating: 7, count: 16))
        let sha = try SymmetricKey(id: 2, type: .sha256, secret: Array("a sha256 secret".utf8))
        for (key, version, digest) in [(aes, UInt8(4), 16), (sha, 4, 20), (sha, 3, 32)] {
            let request = signedRequest(key: key, version: version)
            guard case .reply(let reply) = decide(request, keys: [aes, sha]) else { return XCTFail("\(key) v\(version) not answered") }
            XCTAssertEqual(reply.trailer, .symmetric(key))
            let wire = reply.serialized(transmit: NTPTimestamp(rawValue: 0xE000_0001_0000_1000), mac: computer)
            XCTAssertEqual(wire.count, 48 + 4 + digest, "\(key) v\(version)")
            XCTAssertLessThanOrEqual(wire.count, request.count)
            let mac = try XCTUnwrap(try NTPPacket(parsing: wire).mac)
            XCTAssertEqual(mac.keyID, key.id)
            XCTAssertTrue(wire.withUnsafeBytes {
                SymmetricAuthentication.verify(mac, message: UnsafeRawBufferPointer(rebasing: $0[0..<48]), key: key, version: version, computer: computer)
            })
        }
    }

    func testUnknownKeysBadMACsAndNoKeysAreDropped() throws {
        let key = try SymmetricKey(id: 1, type: .aes128, secret: [UInt8](repeating: 7, count: 16))
        let other = try SymmetricKey(id: 1, type: .aes128, secret: [UInt8](repeating: 8, count: 16))
        var request = signedRequest(key: key, version: 4)
        XCTAssertEqual(decide(request, keys: [other]), .drop(.authenticationFailed), "same id, other secret")
        XCTAssertEqual(decide(request, keys: []), .drop(.authenticationFailed), "no keys at all")
        request[request.count - 1] ^= 1
        XCTAssertEqual(decide(request, keys: [key]), .drop(.authenticationFailed), "one bit flipped")
        let truncatedV3 = Array(signedRequest(key: try SymmetricKey(id: 2, type: .sha256, secret: [1, 2, 3]), version: 3).prefix(48 + 24))
        XCTAssertEqual(decide(truncatedV3, keys: [try SymmetricKey(id: 2, type: .sha256, secret: [1, 2, 3])]), .drop(.authenticationFailed), "NTPv3 needs the full MAC")
    }
}

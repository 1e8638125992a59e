import FleetCrypto
import NTPCore
import XCTest

/// Per-address key sets: a sibling's request is answered only under a key accepted from its address; other
/// clients may use any key of the file.
final class SiblingKeyRestrictionTests: XCTestCase {
    let computer = OpenSSLMACComputer()
    let sibling = IPAddress.v4(0xC000_020B)
    let stranger = IPAddress.v4(0xC000_0263)

    func request(key: SymmetricKey) -> [UInt8] {
        var packet = NTPPacket(header: ClientExchange.request(transmit: NTPTimestamp(rawValue: 42)))
        let header = packet.header.serialized()
        packet.mac = header.withUnsafeBytes { SymmetricAuthentication.mac(for: $0, key: key, computer: computer) }
        return packet.serialized()
    }

    func decide(_ bytes: [UInt8], from source: IPAddress, configuration: SymmetricServerConfiguration) -> ServerDecision {
        var core = NTPServerCore(policy: ServerPolicy(), symmetric: configuration)
        var random = SeededRandom(seed: 7)
        let state = ServerState.local(stratum: 1, precision: -20, referenceTime: NTPTimestamp(rawValue: 0xE000_0000_0000_0000))
        return bytes.withUnsafeBytes {
            core.handle(request: $0, from: source, receivedAt: NTPTimestamp(rawValue: 0xE000_0001_0000_0000), monotonicNow: 0, state: state, random: &random)
        }
    }

    func testSiblingsUseOnlyTheirAcceptedKeys() throws {
        let old = try SymmetricKey(id: 1, type: .aes128, secret: [UInt8](repeating: 1, count: 16))
        let new = try SymmetricKey(id: 2, type: .sha256, secret: [UInt8](repeating: 2, count: 32))
        let configuration = SymmetricServerConfiguration(keys: [old, new], computer: computer, restrictions: [sibling: [2]])
        XCTAssertEqual(decide(request(key: old), from: sibling, configuration: configuration), .drop(.authenticationFailed), "retired for this sibling")
        guard case .reply(let reply) = decide(request(key: new), from: sibling, configuration: configuration) else { return XCTFail("accepted key refused") }
        XCTAssertEqual(reply.trailer, .symmetric(new))
        guard case .reply = decide(request(key: old), from: stranger, configuration: configuration) else { return XCTFail("other clients may use any key") }
        XCTAssertNil(configuration.key(1, from: sibling))
        XCTAssertEqual(configuration.key(1, from: nil), old)
        XCTAssertNil(configuration.key(3, from: stranger), "unknown key")
    }
}

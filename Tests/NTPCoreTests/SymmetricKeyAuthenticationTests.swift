import FleetCrypto
import NTPCore
import XCTest

// SymmetricAuthentication: truncation and the accepted lengths as in chrony 4.3 (ntp_auth.c
// generate_symmetric_auth / check_symmetric_auth, keys.c check_auth), with a stand-in MAC and with OpenSSL.

/// A deterministic stand-in (not cryptography): `fullMACLength` bytes mixing the key and every message byte.
private struct StandInMAC: MACComputer {
    func mac(_ key: SymmetricKey, _ message: UnsafeRawBufferPointer) -> [UInt8] {
        var state: UInt64 = 0xCBF2_9CE4_8422_2325 ^ UInt64(key.type.fullMACLength)
        for byte in key.secret + Array(message) {
            state = (state ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        return (0..<key.type.fullMACLength).map { index in
            state = (state ^ UInt64(index)) &* 0x0000_0100_0000_01B3
            return UInt8(truncatingIfNeeded: state >> 32)
        }
    }
}

private func key(_ id: UInt32, _ type: SymmetricKeyType) -> SymmetricKey {
    let length = type.requiredKeyLength ?? 20
    return try! SymmetricKey(id: id, type: type, secret: (0..<length).map { UInt8($0) })
}

private let header: [UInt8] = (0..<48).map { UInt8(truncatingIfNeeded: $0 * 7 + 3) }

final class SymmetricKeyAuthenticationTests: XCTestCase {
    func testMACsAreTruncatedAsChronyDoes() {
        let computer = StandInMAC()
        for type in SymmetricKeyType.allCases {
            let key = key(9, type)
            let full = header.withUnsafeBytes { computer.mac(key, $0) }
            let v4 = header.withUnsafeBytes { SymmetricAuthentication.mac(for: $0, key: key, computer: computer) }
            XCTAssertEqual(v4.keyID, 9)
            XCTAssertEqual(v4.digest, Array(full.prefix(type.macLength)), "\(type)")
            XCTAssertEqual(v4.encodedLength, 4 + [16, 20, 20, 20, 20, 16, 16][SymmetricKeyType.allCases.firstIndex(of: type)!])
            XCTAssertEqual(header.withUnsafeBytes { SymmetricAuthentication.mac(for: $0, key: key, version: 4, computer: computer) }, v4)
            for version: UInt8 in [1, 2, 3] {
                let legacy = header.withUnsafeBytes { SymmetricAuthentication.mac(for: $0, key: key, version: version, computer: computer) }
                XCTAssertEqual(legacy.digest, full, "NTPv\(version) carries the full \(type) MAC")
            }
        }
    }

    func testVerifyAcceptsTheTruncatedAndTheFullMAC() {
        let computer = StandInMAC()
        for type in SymmetricKeyType.allCases {
            let key = key(77, type)
            let full = header.withUnsafeBytes { computer.mac(key, $0) }
            header.withUnsafeBytes { message in
                for length in 0...70 {
                    let digest = Array(full.prefix(length)) + [UInt8](repeating: 0, count: max(0, length - full.count))
                    let accepted = SymmetricAuthentication.verify(
                        MAC(keyID: 77, digest: digest), message: message, key: key, computer: computer)
                    let expected = length <= full.count && (length == type.macLength || length == type.fullMACLength)
                    XCTAssertEqual(accepted, expected, "\(type), \(length)-byte digest")
                }
            }
        }
    }

    /// chrony's exact rule with the packet's version: NTPv4 MACs of at most 24 bytes must be the truncated
    /// length, anything else (NTPv1-3, long NTPv4 MACs) the full length.
    func testVersionedVerifyFollowsChronysRule() {
        let computer = StandInMAC()
        for type in SymmetricKeyType.allCases {
            let key = key(3, type)
            let full = header.withUnsafeBytes { computer.mac(key, $0) }
            header.withUnsafeBytes { message in
                for length in 1...full.count {
                    let mac = MAC(keyID: 3, digest: Array(full.prefix(length)))
                    for version: UInt8 in 1...4 {
                        let expected: Bool
                        if version == 4 && length <= 20 {
                            expected = length == type.macLength
                        } else {
                            expected = length == type.fullMACLength
                        }
                        XCTAssertEqual(
                            SymmetricAuthentication.verify(mac, message: message, key: key, version: version, computer: computer),
                            expected, "\(type) NTPv\(version) \(length) bytes")
                    }
                }
            }
        }
    }

    func testVerifyRejectsOtherKeysTamperingAndCryptoNAKs() {
        let computer = StandInMAC()
        for type in SymmetricKeyType.allCases {
            let key = key(5, type)
            var message = header
            let mac = message.withUnsafeBytes { SymmetricAuthentication.mac(for: $0, key: key, computer: computer) }
            XCTAssertTrue(message.withUnsafeBytes { SymmetricAuthentication.verify(mac, message: $0, key: key, computer: computer) })
            // Another key ID, another secret, a flipped digest bit, a flipped message bit, a crypto-NAK.
            let otherID = MAC(keyID: 6, digest: mac.digest)
            XCTAssertFalse(message.withUnsafeBytes { SymmetricAuthentication.verify(otherID, message: $0, key: key, computer: computer) })
            var secret = key.secret
            secret[0] ^= 1
            let otherSecret = try! SymmetricKey(id: 5, type: type, secret: secret)
            XCTAssertFalse(message.withUnsafeBytes { SymmetricAuthentication.verify(mac, message: $0, key: otherSecret, computer: computer) })
            for index in mac.digest.indices {
                var flipped = mac
                flipped.digest[index] ^= 0x80
                XCTAssertFalse(message.withUnsafeBytes { SymmetricAuthentication.verify(flipped, message: $0, key: key, computer: computer) })
            }
            message[47] ^= 1
            XCTAssertFalse(message.withUnsafeBytes { SymmetricAuthentication.verify(mac, message: $0, key: key, computer: computer) })
            XCTAssertFalse(header.withUnsafeBytes { SymmetricAuthentication.verify(.cryptoNAK, message: $0, key: key, computer: computer) })
            XCTAssertFalse(header.withUnsafeBytes { SymmetricAuthentication.verify(.cryptoNAK, message: $0, key: key, version: 4, computer: computer) })
        }
    }

    /// Through the packet codec with the real computer: a MAC'd NTPv4 packet serialises, parses back (the
    /// MAC of every type fits the NTPv4 trailer) and verifies; NTPv3 packets carry and verify full MACs.
    func testPacketsRoundTripWithOpenSSL() throws {
        let computer = OpenSSLMACComputer()
        for type in SymmetricKeyType.allCases {
            let key = key(1000 + UInt32(type.fullMACLength), type)
            for version: UInt8 in [3, 4] {
                var packet = NTPPacket(header: NTPHeader(version: version, mode: .client, transmitTimestamp: NTPTimestamp(rawValue: 0x1234_5678_9ABC_DEF0)))
                let headerBytes = packet.header.serialized()
                packet.mac = headerBytes.withUnsafeBytes { SymmetricAuthentication.mac(for: $0, key: key, version: version, computer: computer) }
                let wire = packet.serialized()
                let parsed = try NTPPacket(parsing: wire)
                let mac = try XCTUnwrap(parsed.mac)
                XCTAssertEqual(mac.digest.count, version == 4 ? type.macLength : type.fullMACLength)
                wire.withUnsafeBytes { bytes in
                    let message = UnsafeRawBufferPointer(rebasing: bytes[0..<parsed.macOffset])
                    XCTAssertTrue(SymmetricAuthentication.verify(mac, message: message, key: key, computer: computer), "\(type) v\(version)")
                    XCTAssertTrue(SymmetricAuthentication.verify(mac, message: message, key: key, version: version, computer: computer))
                }
            }
        }
    }
}

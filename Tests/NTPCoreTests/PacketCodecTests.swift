import NTPCore
import XCTest

// MARK: - Helpers for building wire bytes by hand (independently of the encoder)

/// A 48-byte header with the given first-byte fields and a recognisable pattern elsewhere.
private func headerBytes(leap: UInt8 = 0, version: UInt8, mode: UInt8) -> [UInt8] {
    var bytes = (0..<48).map { UInt8(truncatingIfNeeded: $0 * 7 + 1) }
    bytes[0] = leap << 6 | version << 3 | mode
    return bytes
}

private func be16(_ value: UInt16) -> [UInt8] {
    [UInt8(value >> 8), UInt8(value & 0xFF)]
}

private func be32(_ value: UInt32) -> [UInt8] {
    [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
}

/// An extension field exactly as on the wire: type, length, body (already padded).
private func extensionFieldBytes(type: UInt16, length: Int, fill: UInt8 = 0xEE) -> [UInt8] {
    be16(type) + be16(UInt16(length)) + [UInt8](repeating: fill, count: length - 4)
}

private func macBytes(keyID: UInt32, digestLength: Int, fill: UInt8 = 0xD1) -> [UInt8] {
    be32(keyID) + [UInt8](repeating: fill, count: digestLength)
}

private func parse(_ bytes: [UInt8]) -> Result<NTPPacket, PacketError> {
    Result { () throws(PacketError) in try NTPPacket(parsing: bytes) }
}

private func assertParseFails(
    _ bytes: [UInt8], with expected: PacketError, file: StaticString = #filePath, line: UInt = #line
) {
    switch parse(bytes) {
    case .success(let packet): XCTFail("expected \(expected), parsed \(packet)", file: file, line: line)
    case .failure(let error): XCTAssertEqual(error, expected, file: file, line: line)
    }
}

/// Parses, checks that serialising gives back the input exactly, and returns the packet.
private func assertRoundTrip(
    _ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line
) -> NTPPacket? {
    switch parse(bytes) {
    case .failure(let error):
        XCTFail("unexpected \(error)", file: file, line: line)
        return nil
    case .success(let packet):
        XCTAssertEqual(packet.serialized(), bytes, "serialisation differs from input", file: file, line: line)
        XCTAssertEqual(packet.encodedLength, bytes.count, file: file, line: line)
        return packet
    }
}

/// A random packet that chrony's rules accept, built byte by byte, together with
/// the extension fields and MAC that parsing must find.
private func makeValidPacket(
    using rng: inout SeededRandom
) -> (bytes: [UInt8], fields: [ExtensionField], mac: MAC?) {
    var bytes = (0..<48).map { _ in UInt8.random(in: .min ... .max, using: &rng) }
    let version = UInt8.random(in: 1...4, using: &rng)
    bytes[0] = bytes[0] & 0b1100_0111 | version << 3

    func randomMAC(digestLengths: ClosedRange<Int>, using rng: inout SeededRandom) -> MAC {
        let digestLength = 4 * Int.random(in: (digestLengths.lowerBound / 4)...(digestLengths.upperBound / 4), using: &rng)
        return MAC(
            keyID: UInt32.random(in: .min ... .max, using: &rng),
            digest: (0..<digestLength).map { _ in UInt8.random(in: .min ... .max, using: &rng) })
    }

    var fields: [ExtensionField] = []
    var mac: MAC?
    if version < 4 {
        switch Int.random(in: 0..<3, using: &rng) {
        case 0: mac = nil
        case 1: mac = .cryptoNAK
        default: mac = randomMAC(digestLengths: MAC.legacyDigestLengths, using: &rng)
        }
    } else {
        var lengths = (0..<Int.random(in: 0...5, using: &rng)).map { _ in 16 + 4 * Int.random(in: 0...40, using: &rng) }
        switch Int.random(in: 0..<3, using: &rng) {
        case 0: mac = nil
        case 1: mac = lengths.isEmpty ? .cryptoNAK : nil
        default: mac = randomMAC(digestLengths: MAC.v4DigestLengths, using: &rng)
        }
        // Without a MAC, a last field of 20 or 24 bytes would be read as a MAC.
        if mac == nil, let last = lengths.last, last == 20 || last == 24 {
            lengths[lengths.count - 1] = 28
        }
        for length in lengths {
            fields.append(
                ExtensionField(
                    type: UInt16.random(in: .min ... .max, using: &rng),
                    body: (0..<(length - 4)).map { _ in UInt8.random(in: .min ... .max, using: &rng) }))
        }
    }
    for field in fields {
        bytes += be16(field.type) + be16(UInt16(field.body.count + 4)) + field.body
    }
    if let mac {
        bytes += be32(mac.keyID) + mac.digest
    }
    return (bytes, fields, mac)
}

final class PacketCodecTests: XCTestCase {

    // MARK: - ReferenceID

    func testReferenceIDFromASCII() {
        XCTAssertEqual(ReferenceID(ascii: "GPS").rawValue, 0x4750_5300)
        XCTAssertEqual(ReferenceID(ascii: "PPS").rawValue, 0x5050_5300)
        XCTAssertEqual(ReferenceID(ascii: "LOCL").rawValue, 0x4C4F_434C)
        XCTAssertEqual(ReferenceID(ascii: "").rawValue, 0)
        XCTAssertEqual(ReferenceID(ascii: "TOOLONG").rawValue, ReferenceID(ascii: "TOOL").rawValue)
        XCTAssertEqual(ReferenceID(ascii: "é").rawValue, 0x3F00_0000)
        XCTAssertEqual(ReferenceID(ascii: "GPSé").rawValue, 0x4750_533F)
        XCTAssertEqual(ReferenceID(ascii: "GPS").bytes, [0x47, 0x50, 0x53, 0x00])
    }

    func testReferenceIDKissCodes() {
        XCTAssertEqual(ReferenceID.rate.rawValue, 0x5241_5445)
        XCTAssertEqual(ReferenceID.deny.rawValue, 0x4445_4E59)
        XCTAssertEqual(ReferenceID.rstr.rawValue, 0x5253_5452)
        XCTAssertEqual(ReferenceID.ntsNak.rawValue, 0x4E54_534E)
        XCTAssertEqual(ReferenceID.locl.rawValue, 0x4C4F_434C)
        XCTAssertEqual(ReferenceID.ntsNak.asciiString, "NTSN")
    }

    func testReferenceIDTextAndDescription() {
        XCTAssertEqual(ReferenceID(ascii: "GPS").asciiString, "GPS")
        XCTAssertEqual(ReferenceID(ascii: "GPS").description, "GPS")
        XCTAssertEqual(ReferenceID(rawValue: 0).asciiString, "")
        XCTAssertEqual(ReferenceID(rawValue: 0).description, "0.0.0.0")
        // 10.0.0.1 is not text.
        XCTAssertNil(ReferenceID(rawValue: 0x0A00_0001).asciiString)
        XCTAssertEqual(ReferenceID(rawValue: 0x0A00_0001).description, "10.0.0.1")
        XCTAssertEqual(ReferenceID(rawValue: 0xC0A8_01FE).description, "192.168.1.254")
        // An embedded NUL or a non-printable byte means "not text".
        XCTAssertNil(ReferenceID(rawValue: 0x4100_4200).asciiString)
        XCTAssertNil(ReferenceID(rawValue: 0x4142_7F00).asciiString)
        XCTAssertEqual(ReferenceID(rawValue: 0x2041_7E00).asciiString, " A~")
    }

    // MARK: - Header

    func testHeaderFieldLayout() {
        let header = NTPHeader(
            leap: .unsynchronized, version: 4, mode: .server, stratum: 1, poll: 6, precision: -20,
            rootDelay: NTPShort(rawValue: 0x0102_0304), rootDispersion: NTPShort(rawValue: 0x0506_0708),
            referenceID: ReferenceID(ascii: "GPS"),
            referenceTimestamp: NTPTimestamp(rawValue: 0x1011_1213_1415_1617),
            originTimestamp: NTPTimestamp(rawValue: 0x2021_2223_2425_2627),
            receiveTimestamp: NTPTimestamp(rawValue: 0x3031_3233_3435_3637),
            transmitTimestamp: NTPTimestamp(rawValue: 0x4041_4243_4445_4647))
        let expected: [UInt8] = [
            0xE4, 0x01, 0x06, 0xEC,
            0x01, 0x02, 0x03, 0x04,
            0x05, 0x06, 0x07, 0x08,
            0x47, 0x50, 0x53, 0x00,
            0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
            0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27,
            0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
            0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47,
        ]
        XCTAssertEqual(header.serialized(), expected)
        XCTAssertEqual(try NTPHeader(parsing: expected), header)
    }

    func testHeaderDefaults() {
        let header = NTPHeader(mode: .client)
        XCTAssertEqual(header.serialized(), [0x23] + [UInt8](repeating: 0, count: 47))
    }

    func testHeaderFirstByteAllCombinations() throws {
        for leap in LeapIndicator.allCases {
            for version: UInt8 in 0...7 {
                for mode in NTPMode.allCases {
                    let header = NTPHeader(leap: leap, version: version, mode: mode)
                    let bytes = header.serialized()
                    XCTAssertEqual(bytes[0], leap.rawValue << 6 | version << 3 | mode.rawValue)
                    let parsed = try NTPHeader(parsing: bytes)
                    XCTAssertEqual(parsed, header)
                    XCTAssertEqual(parsed.leap, leap)
                    XCTAssertEqual(parsed.version, version)
                    XCTAssertEqual(parsed.mode, mode)
                }
            }
        }
        XCTAssertEqual(LeapIndicator.allCases.map(\.rawValue), [0, 1, 2, 3])
        XCTAssertEqual(NTPMode.allCases.map(\.rawValue), Array(0...7))
        XCTAssertEqual(NTPMode.client.rawValue, 3)
        XCTAssertEqual(NTPMode.server.rawValue, 4)
    }

    func testHeaderVersionIsWrittenAsThreeBits() {
        XCTAssertEqual(NTPHeader(version: 9, mode: .client).serialized()[0], 0b00_001_011)
    }

    func testHeaderNumericFieldBoundaries() throws {
        for stratum: UInt8 in [0, 1, 16, 255] {
            let bytes = NTPHeader(mode: .server, stratum: stratum).serialized()
            XCTAssertEqual(bytes[1], stratum)
            XCTAssertEqual(try NTPHeader(parsing: bytes).stratum, stratum)
        }
        for (value, byte) in [(Int8.min, UInt8(0x80)), (-1, 0xFF), (0, 0x00), (Int8.max, 0x7F)] {
            let bytes = NTPHeader(mode: .server, poll: value, precision: value).serialized()
            XCTAssertEqual(bytes[2], byte)
            XCTAssertEqual(bytes[3], byte)
            let parsed = try NTPHeader(parsing: bytes)
            XCTAssertEqual(parsed.poll, value)
            XCTAssertEqual(parsed.precision, value)
        }
        for raw: UInt32 in [0, 1, 0x0001_0000, .max] {
            let header = NTPHeader(
                mode: .server, rootDelay: NTPShort(rawValue: raw), rootDispersion: NTPShort(rawValue: raw),
                referenceID: ReferenceID(rawValue: raw))
            let bytes = header.serialized()
            XCTAssertEqual(Array(bytes[4..<8]), be32(raw))
            XCTAssertEqual(Array(bytes[8..<12]), be32(raw))
            XCTAssertEqual(Array(bytes[12..<16]), be32(raw))
            XCTAssertEqual(try NTPHeader(parsing: bytes), header)
        }
        for raw: UInt64 in [0, 1, 0x8000_0000_0000_0000, .max] {
            let timestamp = NTPTimestamp(rawValue: raw)
            let header = NTPHeader(
                mode: .server, referenceTimestamp: timestamp, originTimestamp: timestamp,
                receiveTimestamp: timestamp, transmitTimestamp: timestamp)
            let bytes = header.serialized()
            let expected = be32(UInt32(raw >> 32)) + be32(UInt32(raw & 0xFFFF_FFFF))
            for offset in [16, 24, 32, 40] {
                XCTAssertEqual(Array(bytes[offset..<(offset + 8)]), expected)
            }
            XCTAssertEqual(try NTPHeader(parsing: bytes), header)
        }
    }

    func testHeaderParsingIgnoresTrailingBytesAndRejectsShortInput() throws {
        let header = NTPHeader(mode: .client, transmitTimestamp: NTPTimestamp(rawValue: 42))
        XCTAssertEqual(try NTPHeader(parsing: header.serialized() + [1, 2, 3]), header)
        for length in [0, 1, 47] {
            XCTAssertThrowsError(try NTPHeader(parsing: [UInt8](repeating: 0, count: length))) { error in
                XCTAssertEqual(error as? PacketError, .tooShort(length: length))
            }
        }
        let empty = UnsafeRawBufferPointer(start: nil, count: 0)
        XCTAssertThrowsError(try NTPHeader(parsing: empty))
        XCTAssertThrowsError(try NTPPacket(parsing: empty))
    }

    func testHeaderWriteToBuffer() {
        let header = NTPHeader(mode: .server, stratum: 1, transmitTimestamp: NTPTimestamp(rawValue: .max))
        var small = [UInt8](repeating: 0xAA, count: 47)
        small.withUnsafeMutableBytes { XCTAssertFalse(header.write(to: $0)) }
        XCTAssertEqual(small, [UInt8](repeating: 0xAA, count: 47))

        var large = [UInt8](repeating: 0xAA, count: 52)
        large.withUnsafeMutableBytes { XCTAssertTrue(header.write(to: $0)) }
        XCTAssertEqual(Array(large[..<48]), header.serialized())
        XCTAssertEqual(Array(large[48...]), [0xAA, 0xAA, 0xAA, 0xAA])
    }

    func testRealWorldServerResponse() throws {
        // A stratum-1 NTPv4 server reply (GPS reference, 2023-11-14T22:13:20Z).
        let bytes: [UInt8] = [
            0x24, 0x01, 0x03, 0xEC, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x47, 0x50, 0x53, 0x00,
            0xE8, 0xFE, 0x6F, 0x7F, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
            0xE8, 0xFE, 0x6F, 0x80, 0x80, 0x00, 0x00, 0x00, 0xE8, 0xFE, 0x6F, 0x80, 0x80, 0x00, 0x10, 0x00,
        ]
        let packet = try NTPPacket(parsing: bytes)
        let header = packet.header
        XCTAssertEqual(header.leap, .noWarning)
        XCTAssertEqual(header.version, 4)
        XCTAssertEqual(header.mode, .server)
        XCTAssertEqual(header.stratum, 1)
        XCTAssertEqual(header.poll, 3)
        XCTAssertEqual(header.precision, -20)
        XCTAssertEqual(header.rootDelay.seconds, 0)
        XCTAssertEqual(header.rootDispersion.rawValue, 16)
        XCTAssertEqual(header.referenceID.description, "GPS")
        XCTAssertEqual(header.originTimestamp.rawValue, 0x0102_0304_0506_0708)
        XCTAssertEqual(
            header.receiveTimestamp.unixTime(near: UnixTime(seconds: 1_700_000_000, nanoseconds: 0)),
            UnixTime(seconds: 1_700_000_000, nanoseconds: 500_000_000))
        XCTAssertEqual(header.transmitTimestamp - header.receiveTimestamp, NTPDuration(rawValue: 0x1000))
        XCTAssertEqual(packet.extensionFields, [])
        XCTAssertNil(packet.mac)
        XCTAssertEqual(packet.serialized(), bytes)
    }

    // MARK: - Length and version checks

    func testMinimalPacketsOfEveryValidVersion() throws {
        for version: UInt8 in 1...4 {
            let packet = try XCTUnwrap(assertRoundTrip(headerBytes(version: version, mode: 3)))
            XCTAssertEqual(packet.header.version, version)
            XCTAssertEqual(packet.extensionFields, [])
            XCTAssertNil(packet.mac)
            XCTAssertEqual(packet.macOffset, 48)
        }
    }

    func testTooShort() {
        assertParseFails([], with: .tooShort(length: 0))
        assertParseFails([UInt8](repeating: 0x23, count: 44), with: .tooShort(length: 44))
        assertParseFails(Array(headerBytes(version: 4, mode: 3).prefix(47)), with: .tooShort(length: 47))
    }

    func testLengthNotMultipleOfFour() {
        for extra in 1...3 {
            let bytes = headerBytes(version: 4, mode: 3) + [UInt8](repeating: 0, count: extra)
            assertParseFails(bytes, with: .lengthNotMultipleOfFour(length: 48 + extra))
        }
        assertParseFails(
            headerBytes(version: 4, mode: 3) + extensionFieldBytes(type: 1, length: 16) + [0],
            with: .lengthNotMultipleOfFour(length: 65))
    }

    func testTooLongAndMaximumLength() throws {
        XCTAssertEqual(NTPPacket.maximumLength, 1140)
        // One extension field filling the packet to exactly the maximum is fine.
        let longest = headerBytes(version: 4, mode: 3) + extensionFieldBytes(type: 0x1234, length: 1092)
        XCTAssertEqual(longest.count, NTPPacket.maximumLength)
        let packet = try XCTUnwrap(assertRoundTrip(longest))
        XCTAssertEqual(packet.extensionFields.first?.body.count, 1088)

        assertParseFails(longest + [0, 0, 0, 0], with: .tooLong(length: 1144))
        assertParseFails([UInt8](repeating: 0x23, count: 65_536), with: .tooLong(length: 65_536))
    }

    func testUnsupportedVersionsAreRejectedBeforeTheTrailer() {
        for version: UInt8 in [0, 5, 6, 7] {
            assertParseFails(headerBytes(version: version, mode: 3), with: .unsupportedVersion(version))
            // A malformed trailer does not mask the version error.
            assertParseFails(
                headerBytes(version: version, mode: 3) + [1, 2, 3, 4, 5, 6, 7, 8],
                with: .unsupportedVersion(version))
        }
    }

    // MARK: - Crypto-NAK and MACs

    func testCryptoNAK() throws {
        XCTAssertTrue(MAC.cryptoNAK.isCryptoNAK)
        XCTAssertEqual(MAC.cryptoNAK.keyID, 0)
        XCTAssertEqual(MAC.cryptoNAK.digest, [])
        XCTAssertEqual(MAC.cryptoNAK.encodedLength, 4)
        XCTAssertFalse(MAC(keyID: 0, digest: [0]).isCryptoNAK)
        XCTAssertFalse(MAC(keyID: 1, digest: []).isCryptoNAK)

        for version: UInt8 in 1...4 {
            let packet = try XCTUnwrap(assertRoundTrip(headerBytes(version: version, mode: 4) + [0, 0, 0, 0]))
            XCTAssertEqual(packet.mac, .cryptoNAK)
            XCTAssertEqual(packet.macOffset, 48)
            assertParseFails(headerBytes(version: version, mode: 4) + [0, 0, 0, 1], with: .invalidMAC(length: 4))
        }
        let built = NTPPacket(header: NTPHeader(mode: .server), mac: .cryptoNAK)
        XCTAssertEqual(built.serialized(), NTPHeader(mode: .server).serialized() + [0, 0, 0, 0])
    }

    func testLegacyVersionMACs() throws {
        for version: UInt8 in 1...3 {
            for digestLength in [16, 20, 32, 64] {
                let bytes = headerBytes(version: version, mode: 3) + macBytes(keyID: 0x0102_0304, digestLength: digestLength)
                let packet = try XCTUnwrap(assertRoundTrip(bytes))
                XCTAssertEqual(packet.mac, MAC(keyID: 0x0102_0304, digest: [UInt8](repeating: 0xD1, count: digestLength)))
                XCTAssertEqual(packet.mac?.encodedLength, 4 + digestLength)
                XCTAssertEqual(packet.extensionFields, [])
                XCTAssertEqual(packet.macOffset, 48)
            }
            for trailer in [8, 12, 16, 72, 76] {
                let bytes = headerBytes(version: version, mode: 3) + [UInt8](repeating: 0x11, count: trailer)
                assertParseFails(bytes, with: .invalidMAC(length: trailer))
            }
        }
        // NTPv3 has no extension fields: an extension-field-shaped trailer is a MAC.
        let efShaped = headerBytes(version: 3, mode: 3) + extensionFieldBytes(type: 0x0104, length: 36)
        let packet = try XCTUnwrap(assertRoundTrip(efShaped))
        XCTAssertEqual(packet.extensionFields, [])
        XCTAssertEqual(packet.mac?.keyID, 0x0104_0024)
        XCTAssertEqual(packet.mac?.digest.count, 32)
    }

    func testVersion4MACs() throws {
        for digestLength in [16, 20] {
            let bytes = headerBytes(version: 4, mode: 3) + macBytes(keyID: 7, digestLength: digestLength)
            let packet = try XCTUnwrap(assertRoundTrip(bytes))
            XCTAssertEqual(packet.mac, MAC(keyID: 7, digest: [UInt8](repeating: 0xD1, count: digestLength)))
            XCTAssertEqual(packet.extensionFields, [])
        }
        // A zero key ID with a digest is an ordinary MAC, not a crypto-NAK.
        let zeroKey = try XCTUnwrap(assertRoundTrip(headerBytes(version: 4, mode: 3) + [UInt8](repeating: 0, count: 20)))
        XCTAssertEqual(zeroKey.mac, MAC(keyID: 0, digest: [UInt8](repeating: 0, count: 16)))
        XCTAssertEqual(zeroKey.mac?.isCryptoNAK, false)

        // Longer MACs only exist before NTPv4; here the trailer must be extension fields.
        assertParseFails(headerBytes(version: 4, mode: 3) + macBytes(keyID: 7, digestLength: 24), with: .invalidExtensionField(offset: 48))
        assertParseFails(headerBytes(version: 4, mode: 3) + macBytes(keyID: 7, digestLength: 64), with: .invalidExtensionField(offset: 48))
        // Remainders too short for a MAC or an extension field.
        for trailer in [8, 12] {
            assertParseFails(headerBytes(version: 4, mode: 3) + [UInt8](repeating: 0, count: trailer), with: .invalidMAC(length: trailer))
        }
    }

    // MARK: - Extension fields

    func testExtensionFieldEncoding() {
        XCTAssertEqual(ExtensionField(type: 1, body: []).encodedLength, 16)
        XCTAssertEqual(ExtensionField(type: 1, body: [UInt8](repeating: 1, count: 12)).encodedLength, 16)
        XCTAssertEqual(ExtensionField(type: 1, body: [UInt8](repeating: 1, count: 13)).encodedLength, 20)
        XCTAssertEqual(ExtensionField(type: 1, body: [UInt8](repeating: 1, count: 24)).encodedLength, 28)

        var bytes: [UInt8] = [0x99]
        ExtensionField(type: 0x0104, body: [1, 2, 3]).write(into: &bytes)
        XCTAssertEqual(bytes, [0x99, 0x01, 0x04, 0x00, 0x10, 1, 2, 3] + [UInt8](repeating: 0, count: 9))

        bytes = []
        ExtensionField(type: 0xFFFF, body: [UInt8](repeating: 7, count: 13)).write(into: &bytes)
        XCTAssertEqual(bytes, [0xFF, 0xFF, 0x00, 0x14] + [UInt8](repeating: 7, count: 13) + [0, 0, 0])
    }

    func testExtensionFieldsOfLength16And28() throws {
        for length in [16, 28] {
            let bytes = headerBytes(version: 4, mode: 3) + extensionFieldBytes(type: 0x0104, length: length)
            let packet = try XCTUnwrap(assertRoundTrip(bytes))
            XCTAssertEqual(packet.extensionFields, [ExtensionField(type: 0x0104, body: [UInt8](repeating: 0xEE, count: length - 4))])
            XCTAssertNil(packet.mac)
            XCTAssertEqual(packet.macOffset, 48 + length)
        }
    }

    func testLastExtensionFieldOf20Or24BytesWithoutMACIsReadAsMAC() throws {
        // The RFC 7822 ambiguity, resolved the way chrony does.
        for length in [20, 24] {
            let bytes = headerBytes(version: 4, mode: 3) + extensionFieldBytes(type: 0x0104, length: length)
            let packet = try XCTUnwrap(assertRoundTrip(bytes))
            XCTAssertEqual(packet.extensionFields, [])
            XCTAssertEqual(packet.mac?.keyID, UInt32(0x0104_0000) | UInt32(length))
        }
    }

    func testUnknownExtensionFieldsAreKeptByteExact() throws {
        let body: [UInt8] = Array(0..<40)
        let bytes = headerBytes(version: 4, mode: 4) + be16(0xBEEF) + be16(44) + body
        let packet = try XCTUnwrap(assertRoundTrip(bytes))
        XCTAssertEqual(packet.extensionFields, [ExtensionField(type: 0xBEEF, body: body)])
    }

    func testExtensionFieldsThenMAC() throws {
        let fields = extensionFieldBytes(type: 0x0104, length: 36, fill: 0x01)
            + extensionFieldBytes(type: 0x0204, length: 104, fill: 0x02)
            + extensionFieldBytes(type: 0x0404, length: 16, fill: 0x04)
        for digestLength in [16, 20] {
            let bytes = headerBytes(version: 4, mode: 3) + fields + macBytes(keyID: 99, digestLength: digestLength)
            let packet = try XCTUnwrap(assertRoundTrip(bytes))
            XCTAssertEqual(packet.extensionFields.map(\.type), [0x0104, 0x0204, 0x0404])
            XCTAssertEqual(packet.extensionFields.map(\.encodedLength), [36, 104, 16])
            XCTAssertEqual(packet.extensionFields[1].body, [UInt8](repeating: 0x02, count: 100))
            XCTAssertEqual(packet.mac, MAC(keyID: 99, digest: [UInt8](repeating: 0xD1, count: digestLength)))
            XCTAssertEqual(packet.macOffset, 48 + 36 + 104 + 16)
            XCTAssertEqual(Array(bytes[packet.macOffset..<(packet.macOffset + 4)]), be32(99))
        }
        // An extension field followed by a crypto-NAK is not something chrony accepts.
        assertParseFails(
            headerBytes(version: 4, mode: 3) + extensionFieldBytes(type: 1, length: 28) + [0, 0, 0, 0],
            with: .invalidMAC(length: 4))
        assertParseFails(
            headerBytes(version: 4, mode: 3) + extensionFieldBytes(type: 1, length: 28) + [0, 0, 0, 0, 0, 0, 0, 0],
            with: .invalidMAC(length: 8))
        // ...though a 16-byte field plus 4 bytes is a 20-byte trailer, i.e. a MAC.
        let twenty = try XCTUnwrap(
            assertRoundTrip(headerBytes(version: 4, mode: 3) + extensionFieldBytes(type: 1, length: 16) + [0, 0, 0, 0]))
        XCTAssertEqual(twenty.extensionFields, [])
        XCTAssertEqual(twenty.mac?.digest.count, 16)
    }

    func testInvalidExtensionFieldLengths() {
        let header = headerBytes(version: 4, mode: 3)
        // Length field below 16, not a multiple of 4, zero, and past the end.
        for badLength: UInt16 in [0, 4, 12, 18, 30, 33, 36, 0xFFFC, 0xFFFF] {
            let bytes = header + be16(0x0104) + be16(badLength) + [UInt8](repeating: 0, count: 28)
            assertParseFails(bytes, with: .invalidExtensionField(offset: 48))
        }
        // A trailer of exactly 16 bytes must be a 16-byte field.
        assertParseFails(header + be16(1) + be16(20) + [UInt8](repeating: 0, count: 12), with: .invalidExtensionField(offset: 48))
        // The offset of the bad field is reported.
        let second = header + extensionFieldBytes(type: 1, length: 28) + be16(2) + be16(40) + [UInt8](repeating: 0, count: 28)
        assertParseFails(second, with: .invalidExtensionField(offset: 76))
    }

    /// Every possible value of an extension field's length field, with a 32-byte
    /// trailer of one field header followed by zeros.
    func testEveryExtensionFieldLengthValue() {
        let header = headerBytes(version: 4, mode: 3)
        for length in 0...Int(UInt16.max) {
            let bytes = header + be16(0x0104) + be16(UInt16(length)) + [UInt8](repeating: 0, count: 28)
            let expected: PacketError?
            switch length {
            case 32: expected = nil  // exactly the trailer
            case 28: expected = .invalidMAC(length: 4)  // 4 zero bytes left (not a crypto-NAK after a field)
            case 24: expected = .invalidMAC(length: 8)
            case 20: expected = .invalidMAC(length: 12)
            case 16: expected = .invalidExtensionField(offset: 64)  // next "field" has length 0
            default: expected = .invalidExtensionField(offset: 48)
            }
            switch parse(bytes) {
            case .success(let packet):
                XCTAssertNil(expected, "length \(length)")
                XCTAssertEqual(packet.serialized(), bytes)
            case .failure(let error):
                XCTAssertEqual(error, expected, "length \(length)")
            }
        }
    }

    // MARK: - Encoder

    func testConstructedPacketSerialisation() throws {
        let header = NTPHeader(mode: .client, transmitTimestamp: NTPTimestamp(rawValue: 0x0102_0304_0506_0708))
        let packet = NTPPacket(
            header: header,
            extensionFields: [ExtensionField(type: 0x0104, body: [1, 2, 3, 4, 5]), ExtensionField(type: 0x0204, body: [])],
            mac: MAC(keyID: 0xA1B2_C3D4, digest: [UInt8](repeating: 9, count: 16)))
        let expected = header.serialized()
            + [0x01, 0x04, 0x00, 0x10, 1, 2, 3, 4, 5, 0, 0, 0, 0, 0, 0, 0]
            + [0x02, 0x04, 0x00, 0x10] + [UInt8](repeating: 0, count: 12)
            + [0xA1, 0xB2, 0xC3, 0xD4] + [UInt8](repeating: 9, count: 16)
        XCTAssertEqual(packet.serialized(), expected)
        XCTAssertEqual(packet.macOffset, 80)
        XCTAssertEqual(packet.encodedLength, 100)

        // Parsing yields the padded bodies; after that the round trip is exact.
        let parsed = try NTPPacket(parsing: expected)
        XCTAssertEqual(parsed.extensionFields[0].body, [1, 2, 3, 4, 5, 0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(parsed.header, header)
        XCTAssertEqual(parsed.mac, packet.mac)
        XCTAssertEqual(parsed.serialized(), expected)
    }

    func testPointerAndArrayParsingAgree() throws {
        let bytes = headerBytes(version: 4, mode: 3) + extensionFieldBytes(type: 5, length: 32) + macBytes(keyID: 1, digestLength: 20)
        let fromArray = try NTPPacket(parsing: bytes)
        let fromPointer = try bytes.withUnsafeBytes { try NTPPacket(parsing: $0) }
        XCTAssertEqual(fromArray, fromPointer)
        let headerFromPointer = try bytes.withUnsafeBytes { try NTPHeader(parsing: $0) }
        XCTAssertEqual(headerFromPointer, fromArray.header)
        // Parsing a slice in the middle of a larger buffer only sees that slice.
        let padded = [0xFF, 0xFF, 0xFF, 0xFF] + bytes + [0xFF, 0xFF, 0xFF, 0xFF]
        let fromSlice = try padded.withUnsafeBytes { raw in
            try NTPPacket(parsing: UnsafeRawBufferPointer(rebasing: raw[4..<(4 + bytes.count)]))
        }
        XCTAssertEqual(fromSlice, fromArray)
    }

    // MARK: - Properties

    /// Random packets built byte by byte parse to the expected structure and
    /// serialise back to the identical bytes; building the same packet through the
    /// encoder gives the same bytes too.
    func testRandomValidPacketsRoundTrip() throws {
        var rng = SeededRandom(seed: 0x5EED)
        for _ in 0..<10_000 {
            let (bytes, fields, mac) = makeValidPacket(using: &rng)
            let packet = try NTPPacket(parsing: bytes)
            XCTAssertEqual(packet.extensionFields, fields)
            XCTAssertEqual(packet.mac, mac)
            XCTAssertEqual(packet.serialized(), bytes)
            XCTAssertEqual(packet.macOffset, 48 + fields.reduce(0) { $0 + $1.encodedLength })
            let rebuilt = NTPPacket(header: try NTPHeader(parsing: bytes), extensionFields: fields, mac: mac)
            XCTAssertEqual(rebuilt, packet)
            XCTAssertEqual(rebuilt.serialized(), bytes)
        }
    }

    /// Mutated and truncated valid packets must either be rejected or round-trip
    /// exactly; parsing must never trap.
    func testMutatedPacketsNeverTrapAndRoundTripWhenAccepted() {
        var rng = SeededRandom(seed: 0xF022)
        let corpus = (0..<256).map { _ in makeValidPacket(using: &rng).bytes }
        var accepted = 0
        var rejected = 0
        for _ in 0..<100_000 {
            var bytes = corpus[Int.random(in: 0..<corpus.count, using: &rng)]
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                switch Int.random(in: 0..<7, using: &rng) {
                case 0:  // flip a bit
                    if !bytes.isEmpty {
                        let index = Int.random(in: 0..<bytes.count, using: &rng)
                        bytes[index] ^= 1 << UInt8.random(in: 0...7, using: &rng)
                    }
                case 1:  // overwrite a trailer byte (likely an extension field length)
                    if bytes.count > 48 {
                        bytes[Int.random(in: 48..<bytes.count, using: &rng)] = .random(in: .min ... .max, using: &rng)
                    }
                case 2:  // overwrite an extension field length field with a small value
                    if bytes.count >= 52 {
                        let value = UInt16.random(in: 0...140, using: &rng)
                        bytes[50] = UInt8(value >> 8)
                        bytes[51] = UInt8(value & 0xFF)
                    }
                case 3:  // truncate
                    bytes.removeLast(Int.random(in: 0...bytes.count, using: &rng))
                case 4:  // truncate to a multiple of 4
                    bytes.removeLast(bytes.count % 4 + 4 * Int.random(in: 0...(bytes.count / 4), using: &rng))
                case 5:  // append 4-byte words
                    for _ in 0..<Int.random(in: 1...6, using: &rng) {
                        bytes += be32(Bool.random(using: &rng) ? 0 : UInt32.random(in: .min ... .max, using: &rng))
                    }
                default:  // random version
                    if !bytes.isEmpty {
                        bytes[0] = bytes[0] & 0b1100_0111 | UInt8.random(in: 0...7, using: &rng) << 3
                    }
                }
            }
            switch parse(bytes) {
            case .success(let packet):
                accepted += 1
                XCTAssertEqual(packet.serialized(), bytes)
            case .failure:
                rejected += 1
            }
        }
        // Both outcomes must be well represented, or the test is not exercising much.
        XCTAssertGreaterThan(accepted, 10_000)
        XCTAssertGreaterThan(rejected, 10_000)
    }
}

import XCTest

import NTPCore
import NTSKECore

final class NTSKERecordTests: XCTestCase {
    // MARK: - Byte-exact encodings of every record type

    func testEndOfMessageEncoding() {
        XCTAssertEqual(NTSKERecord.endOfMessage().encoded, [0x80, 0x00, 0x00, 0x00])
    }

    func testNextProtocolEncoding() {
        XCTAssertEqual(NTSKERecord.nextProtocol([0]).encoded, [0x80, 0x01, 0x00, 0x02, 0x00, 0x00])
        XCTAssertEqual(NTSKERecord.nextProtocol([]).encoded, [0x80, 0x01, 0x00, 0x00])
        XCTAssertEqual(
            NTSKERecord.nextProtocol([0, 0x8001]).encoded,
            [0x80, 0x01, 0x00, 0x04, 0x00, 0x00, 0x80, 0x01]
        )
    }

    func testErrorEncoding() {
        XCTAssertEqual(NTSKERecord.error(.unrecognizedCriticalRecord).encoded, [0x80, 0x02, 0x00, 0x02, 0x00, 0x00])
        XCTAssertEqual(NTSKERecord.error(.badRequest).encoded, [0x80, 0x02, 0x00, 0x02, 0x00, 0x01])
        XCTAssertEqual(NTSKERecord.error(.internalServerError).encoded, [0x80, 0x02, 0x00, 0x02, 0x00, 0x02])
        XCTAssertEqual(NTSKERecord.error(rawCode: 0xABCD).encoded, [0x80, 0x02, 0x00, 0x02, 0xAB, 0xCD])
    }

    func testWarningEncoding() {
        XCTAssertEqual(NTSKERecord.warning(0x8000).encoded, [0x80, 0x03, 0x00, 0x02, 0x80, 0x00])
    }

    func testAEADEncoding() {
        XCTAssertEqual(NTSKERecord.aeadAlgorithms([15]).encoded, [0x80, 0x04, 0x00, 0x02, 0x00, 0x0F])
        XCTAssertEqual(
            NTSKERecord.aeadAlgorithms([30, 15]).encoded,
            [0x80, 0x04, 0x00, 0x04, 0x00, 0x1E, 0x00, 0x0F]
        )
        XCTAssertEqual(NTSKERecord.aeadAlgorithms([]).encoded, [0x80, 0x04, 0x00, 0x00])
        XCTAssertEqual(NTSKERecord.aeadAlgorithms([15], critical: false).encoded, [0x00, 0x04, 0x00, 0x02, 0x00, 0x0F])
    }

    func testNewCookieEncoding() {
        XCTAssertEqual(NTSKERecord.newCookie([0xDE, 0xAD, 0xBE]).encoded, [0x00, 0x05, 0x00, 0x03, 0xDE, 0xAD, 0xBE])
        let big = [UInt8](repeating: 7, count: 300)
        XCTAssertEqual(Array(NTSKERecord.newCookie(big).encoded.prefix(4)), [0x00, 0x05, 0x01, 0x2C])
    }

    func testServerEncoding() {
        let name = "ntp.example.com"
        XCTAssertEqual(NTSKERecord.server(name).encoded, [0x00, 0x06, 0x00, 0x0F] + Array(name.utf8))
        XCTAssertEqual(NTSKERecord.server("192.0.2.1", critical: true).encoded, [0x80, 0x06, 0x00, 0x09] + Array("192.0.2.1".utf8))
    }

    func testPortEncoding() {
        XCTAssertEqual(NTSKERecord.port(123).encoded, [0x00, 0x07, 0x00, 0x02, 0x00, 0x7B])
        XCTAssertEqual(NTSKERecord.port(4123, critical: true).encoded, [0x80, 0x07, 0x00, 0x02, 0x10, 0x1B])
    }

    func testCompliantExporterRecordEncoding() {
        XCTAssertEqual(NTSKERecord.compliantAES128GCMSIVExporterContext().encoded, [0x04, 0x00, 0x00, 0x00])
    }

    func testEveryTypeRoundTripsByteExact() throws {
        let records: [NTSKERecord] = [
            .nextProtocol([0]), .error(.badRequest), .warning(7), .aeadAlgorithms([15, 30]),
            .newCookie([1, 2, 3, 4, 5]), .server("time.example.net"), .port(123),
            NTSKERecord(critical: false, type: 0x4321, body: [9, 9]),
            NTSKERecord(critical: true, type: 0x7FFF, body: []),
            .endOfMessage(),
        ]
        for record in records {
            let bytes = record.encoded
            XCTAssertEqual(bytes.count, record.encodedLength)
            // Frame it as a message: followed by End of Message unless it is one.
            let message = record.type == 0 ? bytes : bytes + NTSKERecord.endOfMessage().encoded
            let parsed = try NTSKEMessageReader.parse(message)
            XCTAssertEqual(parsed.first, record, "\(record)")
            XCTAssertEqual(NTSKERecord.encode(parsed), message)
        }
        for type in NTSKERecordType.allCases {
            let record = NTSKERecord(critical: type.criticalBitRequired, type: type, body: [0xAA, 0x55])
            XCTAssertEqual(record.recordType, type)
            let bytes = record.encoded
            XCTAssertEqual(bytes, [type.criticalBitRequired ? 0x80 : 0x00, UInt8(type.rawValue), 0x00, 0x02, 0xAA, 0x55])
        }
    }

    // MARK: - Critical bit and type layout

    /// §4 gives, for a buffer b holding a record, the critical bit as b[0] >> 7 and the type as
    /// ((b[0] & 0x7f) << 8) + b[1].
    func testCriticalBitIsTheTopBitOfTheFirstOctet() throws {
        for (critical, type) in [(true, UInt16(0)), (false, 1), (true, 0x0102), (false, 0x7FFF), (true, 0x4000)] {
            let b = NTSKERecord(critical: critical, type: type, body: []).encoded
            XCTAssertEqual(b[0] >> 7, critical ? 1 : 0)
            XCTAssertEqual((UInt16(b[0] & 0x7F) << 8) + UInt16(b[1]), type)
            let parsed = try NTSKEMessageReader.parse(b + (type == 0 ? [] : NTSKERecord.endOfMessage().encoded))
            XCTAssertEqual(parsed[0].critical, critical)
            XCTAssertEqual(parsed[0].type, type)
        }
    }

    func testTypeAbove15BitsIsMaskedNotTrapped() {
        let record = NTSKERecord(critical: false, type: 0xFFFF, body: [])
        XCTAssertEqual(record.encoded, [0x7F, 0xFF, 0x00, 0x00])
    }

    func testCriticalBitRequirements() {
        XCTAssertTrue(NTSKERecordType.endOfMessage.criticalBitRequired)
        XCTAssertTrue(NTSKERecordType.nextProtocol.criticalBitRequired)
        XCTAssertTrue(NTSKERecordType.error.criticalBitRequired)
        XCTAssertTrue(NTSKERecordType.warning.criticalBitRequired)
        XCTAssertFalse(NTSKERecordType.aeadAlgorithm.criticalBitRequired)
        XCTAssertFalse(NTSKERecordType.newCookie.criticalBitRequired)
        XCTAssertFalse(NTSKERecord.newCookie([1]).critical)
        XCTAssertFalse(NTSKERecord.server("a").critical)
        XCTAssertFalse(NTSKERecord.port(1).critical)
    }

    func testBodyDecoders() {
        XCTAssertEqual(NTSKERecord.nextProtocol([1, 2, 0xFFFF]).uint16Values, [1, 2, 0xFFFF])
        XCTAssertNil(NTSKERecord(critical: true, type: 1, body: [0]).uint16Values)
        XCTAssertEqual(NTSKERecord(critical: true, type: 1, body: []).uint16Values, [])
        XCTAssertEqual(NTSKERecord.port(4460).uint16Value, 4460)
        XCTAssertNil(NTSKERecord(critical: false, type: 7, body: [1, 2, 3]).uint16Value)
        XCTAssertEqual(NTSKERecord.server("ntp.example.com").serverName, "ntp.example.com")
    }

    func testServerNameValidation() {
        for good in ["ntp.example.com", "ntp.example.com.", "192.0.2.1", "2001:db8::1", "xn--bcher-kva.example", "a", "time_1.lan"] {
            XCTAssertTrue(NTSKERecord.isValidServerName(good), good)
        }
        for bad in ["", "fe80::1%eth0", "bücher.example", "ntp example", "[2001:db8::1]", "a\u{0}b", String(repeating: "a", count: 256)] {
            XCTAssertFalse(NTSKERecord.isValidServerName(bad), bad)
        }
    }

    func testMessageEncodingConcatenates() {
        let message: [NTSKERecord] = [.nextProtocol([0]), .aeadAlgorithms([15]), .endOfMessage()]
        XCTAssertEqual(
            NTSKERecord.encode(message),
            [0x80, 0x01, 0x00, 0x02, 0x00, 0x00, 0x80, 0x04, 0x00, 0x02, 0x00, 0x0F, 0x80, 0x00, 0x00, 0x00]
        )
        XCTAssertEqual(message.map(\.encodedLength).reduce(0, +), 16)
    }

    // MARK: - Message reader

    private var sampleMessage: [NTSKERecord] {
        [
            .nextProtocol([0]), .aeadAlgorithms([30, 15]), .server("ntp1.example.org"), .port(123),
            NTSKERecord(critical: false, type: 4000, body: Array(0..<200)),
            .newCookie(Array(repeating: 0x42, count: 100)),
            .endOfMessage(),
        ]
    }

    func testReaderWholeMessageInOneChunk() throws {
        var reader = NTSKEMessageReader()
        let bytes = NTSKERecord.encode(sampleMessage)
        XCTAssertEqual(try reader.append(bytes), sampleMessage)
        XCTAssertTrue(reader.isComplete)
        XCTAssertEqual(reader.message, sampleMessage)
        XCTAssertEqual(reader.bytesReceived, bytes.count)
        XCTAssertEqual(try reader.append([UInt8]()), sampleMessage, "appending nothing after completion returns the message again")
        XCTAssertEqual(try reader.finish(), sampleMessage)
    }

    func testReaderByteByByte() throws {
        var reader = NTSKEMessageReader()
        let bytes = NTSKERecord.encode(sampleMessage)
        for (offset, byte) in bytes.enumerated() {
            let result = try reader.append(CollectionOfOne(byte))
            if offset == bytes.count - 1 {
                XCTAssertEqual(result, sampleMessage)
            } else {
                XCTAssertNil(result, "offset \(offset)")
                XCTAssertFalse(reader.isComplete)
            }
        }
    }

    func testReaderRandomChunksSeeded() throws {
        var rng = SeededRandom(seed: 0x5EED_0001)
        let bytes = NTSKERecord.encode(sampleMessage)
        for _ in 0..<500 {
            var reader = NTSKEMessageReader()
            var offset = 0
            var result: [NTSKERecord]?
            while offset < bytes.count {
                let size = Int.random(in: 0...40, using: &rng)
                let end = min(bytes.count, offset + size)
                XCTAssertNil(result)
                result = try reader.append(bytes[offset..<end])  // an ArraySlice, a non-zero-based collection
                offset = end
            }
            XCTAssertEqual(result, sampleMessage)
        }
    }

    func testReaderOnlyEndOfMessage() throws {
        var reader = NTSKEMessageReader()
        XCTAssertEqual(try reader.append([0x80, 0x00, 0x00, 0x00]), [.endOfMessage()])
    }

    func testReaderEndOfMessageWithoutCriticalBitStillEndsFraming() throws {
        // Framing stops at type 0 whatever its bit and body; the parsers reject it afterwards.
        let records = try NTSKEMessageReader.parse([0x00, 0x00, 0x00, 0x01, 0xFF])
        XCTAssertEqual(records, [NTSKERecord(critical: false, type: 0, body: [0xFF])])
    }

    func testReaderTooLong() {
        var reader = NTSKEMessageReader(maximumMessageLength: 1024)
        // The header announces a body that would cross the limit: refused before buffering it.
        XCTAssertThrowsError(try reader.append([0x00, 0x05, 0x04, 0x00])) { error in
            XCTAssertEqual(error as? NTSKEMessageError, .tooLong(4 + 1024))
        }
        XCTAssertLessThanOrEqual(reader.bytesReceived, 1024)
        // Sticky.
        XCTAssertThrowsError(try reader.append([0x80, 0x00, 0x00, 0x00])) { error in
            XCTAssertEqual(error as? NTSKEMessageError, .tooLong(1028))
        }
        XCTAssertThrowsError(try reader.finish())
    }

    func testReaderTooLongAcrossManySmallRecords() {
        var reader = NTSKEMessageReader(maximumMessageLength: 100)
        let filler = NTSKERecord(critical: false, type: 999, body: [1, 2, 3, 4, 5, 6])  // 10 octets
        var thrown: NTSKEMessageError?
        for _ in 0..<20 {
            do { _ = try reader.append(filler.encoded) } catch { thrown = error; break }
            XCTAssertLessThanOrEqual(reader.bytesReceived, 100)
        }
        XCTAssertEqual(thrown, .tooLong(104), "the next header alone already crosses the limit")
    }

    func testReaderAcceptsMessageExactlyAtLimit() throws {
        let message: [NTSKERecord] = [NTSKERecord(critical: false, type: 999, body: Array(repeating: 0, count: 92)), .endOfMessage()]
        XCTAssertEqual(NTSKERecord.encode(message).count, 100)
        var reader = NTSKEMessageReader(maximumMessageLength: 100)
        XCTAssertEqual(try reader.append(NTSKERecord.encode(message)), message)
        var tight = NTSKEMessageReader(maximumMessageLength: 99)
        XCTAssertThrowsError(try tight.append(NTSKERecord.encode(message))) { error in
            XCTAssertEqual(error as? NTSKEMessageError, .tooLong(100))
        }
    }

    func testReaderDefaultLimitRefusesRequestOver16KiB() {
        var reader = NTSKEMessageReader()
        XCTAssertEqual(reader.maximumMessageLength, 16_384)
        let big = NTSKERecord(critical: false, type: 999, body: Array(repeating: 0, count: 16_381))
        XCTAssertThrowsError(try reader.append(big.encoded)) { error in
            XCTAssertEqual(error as? NTSKEMessageError, .tooLong(16_385))
            XCTAssertEqual(NTSKEError(error as! NTSKEMessageError).code, .badRequest)
        }
    }

    func testReaderNegativeLimitDoesNotTrap() {
        var reader = NTSKEMessageReader(maximumMessageLength: -5)
        XCTAssertEqual(reader.maximumMessageLength, 0)
        XCTAssertThrowsError(try reader.append([0x80]))
    }

    func testReaderTrailingDataInSameChunk() {
        var reader = NTSKEMessageReader()
        XCTAssertThrowsError(try reader.append(NTSKERecord.encode([.nextProtocol([0]), .endOfMessage()]) + [0x00])) { error in
            XCTAssertEqual(error as? NTSKEMessageError, .trailingData)
        }
        XCTAssertNil(reader.message)
        XCTAssertThrowsError(try reader.finish()) { error in
            XCTAssertEqual(error as? NTSKEMessageError, .trailingData)
        }
    }

    func testReaderTrailingDataInLaterChunk() throws {
        var reader = NTSKEMessageReader()
        XCTAssertNotNil(try reader.append(NTSKERecord.encode([.nextProtocol([0]), .endOfMessage()])))
        XCTAssertThrowsError(try reader.append([0x80, 0x00, 0x00, 0x00])) { error in
            XCTAssertEqual(error as? NTSKEMessageError, .trailingData)
        }
        XCTAssertThrowsError(try reader.append([UInt8]()), "errors are sticky")
    }

    func testReaderTruncatedHeaderAndBodyNeverTrap() throws {
        let bytes = NTSKERecord.encode(sampleMessage)
        for cut in 0..<bytes.count {
            var reader = NTSKEMessageReader()
            XCTAssertNil(try reader.append(bytes[0..<cut]))
            XCTAssertEqual(reader.bytesReceived, cut)
            XCTAssertThrowsError(try reader.finish()) { error in
                XCTAssertEqual(error as? NTSKEMessageError, .incomplete(cut))
            }
            XCTAssertThrowsError(try NTSKEMessageReader.parse(bytes[0..<cut])) { error in
                XCTAssertEqual(error as? NTSKEMessageError, .incomplete(cut))
            }
        }
    }

    func testReaderAcceptsNonArrayCollections() throws {
        var reader = NTSKEMessageReader()
        let bytes = NTSKERecord.encode([.nextProtocol([0]), .endOfMessage()])
        XCTAssertNil(try reader.append(bytes.prefix(3).reversed().reversed()))
        XCTAssertNotNil(try reader.append(bytes.dropFirst(3).lazy.map { $0 }))
    }

    func testMessageErrorDescriptions() {
        XCTAssertTrue(NTSKEMessageError.tooLong(20_000).description.contains("20000"))
        XCTAssertTrue(NTSKEMessageError.trailingData.description.contains("End of Message"))
        XCTAssertTrue(NTSKEMessageError.incomplete(3).description.contains("3"))
        XCTAssertEqual(NTSKEError(.trailingData).code, .badRequest)
    }

    // MARK: - Fuzz

    /// 100k random byte strings (half pure noise, half mutated well-formed messages) through the
    /// reader (whole and chunked), the request parser and the response parser: nothing traps, and
    /// every framed message ends in End of Message and re-encodes to the bytes it came from.
    func testFuzzReaderAndParsersNeverTrap() {
        var rng = SeededRandom(seed: 0xF022_8915)
        var framed = 0
        var validRequests = 0
        for iteration in 0..<100_000 {
            var bytes: [UInt8]
            if iteration % 2 == 0 {
                bytes = (0..<Int.random(in: 0...48, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                if Bool.random(using: &rng) { bytes += [0x80, 0x00, 0x00, 0x00] }
            } else {
                var records: [NTSKERecord] = []
                for _ in 0..<Int.random(in: 0...6, using: &rng) {
                    let type = UInt16.random(in: 0...9, using: &rng)
                    let body = (0..<Int.random(in: 0...6, using: &rng)).map { _ in UInt8.random(in: 0...3, using: &rng) }
                    records.append(NTSKERecord(critical: Bool.random(using: &rng), type: type == 9 ? 1024 : type, body: body))
                }
                records.append(.endOfMessage())
                bytes = NTSKERecord.encode(records)
                for _ in 0..<Int.random(in: 0...2, using: &rng) where !bytes.isEmpty {
                    bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
            }

            let limit = Int.random(in: 0...64, using: &rng)
            if let message = try? NTSKEMessageReader.parse(bytes, maximumMessageLength: limit) {
                framed += 1
                XCTAssertEqual(message.last?.type, 0)
                XCTAssertEqual(NTSKERecord.encode(message), bytes)
                if (try? NTSKERequest(parsing: message)) != nil { validRequests += 1 }
                _ = try? NTSKEResponse(parsing: message, offered: [15, 30])
            }

            var reader = NTSKEMessageReader(maximumMessageLength: 64)
            var offset = 0
            chunks: while offset < bytes.count {
                let end = min(bytes.count, offset + Int.random(in: 1...8, using: &rng))
                do {
                    if let message = try reader.append(bytes[offset..<end]) {
                        _ = try? NTSKERequest(parsing: message)
                    }
                } catch {
                    break chunks
                }
                offset = end
            }
            _ = try? reader.finish()

            // The parsers must also survive record lists no reader would produce.
            var loose: [NTSKERecord] = []
            for _ in 0..<Int.random(in: 0...4, using: &rng) {
                loose.append(NTSKERecord(
                    critical: Bool.random(using: &rng),
                    type: UInt16.random(in: 0...8, using: &rng),
                    body: (0..<Int.random(in: 0...5, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                ))
            }
            _ = try? NTSKERequest(parsing: loose)
            _ = try? NTSKEResponse(parsing: loose, offered: [15])
        }
        XCTAssertGreaterThan(framed, 1000)
        XCTAssertGreaterThan(validRequests, 0)
    }
}

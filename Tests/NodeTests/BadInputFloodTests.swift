import NetworkEdges
import NodeModels
import Foundation
import NTPCore
import XCTest

/// Many thousands of random, truncated and mutated datagrams, control queries and odd versions at a running
/// node: it never crashes, never answers what it must not, never sends a response larger than its request,
/// and counts every datagram once.
final class BadInputFloodTests: XCTestCase {
    enum Kind: CaseIterable { case valid, randomBytes, truncated, mutated, control, badVersion, withExtension, withMAC, otherMode }

    func testFloodOfBadPacketsIsCountedAndNeverWronglyAnswered() async throws {
        let node = try await NodeProcess(config: """
            [local]
            stratum = 1
            [ntp]
            listen = ["127.0.0.1:0"]
            # Bursts of 100 on a busy machine could be shed (tooOld) and the answer count below would be short.
            max_queue_delay = 0
            """)
        let port = try await node.port(of: "127.0.0.1")
        let client = try RawUDPClient(host: "127.0.0.1", port: port)
        var random = SeededRandom(seed: 0x5EED)

        let total = 20_000
        // Requests that may be answered, by the unique id in their transmit timestamp, with their length.
        var answerable: [UInt64: Int] = [:]
        // Ids of datagrams that must never be answered.
        var forbidden: Set<UInt64> = []
        var sentByKind: [String: Int] = [:]
        var responses: [[UInt8]] = []
        var controlQueries = 0

        for index in 0..<total {
            let kind = Kind.allCases[Int(random.next() % UInt64(Kind.allCases.count))]
            let id = UInt64(index + 1) << 16 | 0xF1EE
            var bytes = Self.validRequest(id: id, version: UInt8(1 + random.next() % 4))
            var mayAnswer: Bool? = true  // nil: random bytes, which may by chance form a valid request
            switch kind {
            case .valid:
                break
            case .randomBytes:
                bytes = (0..<Int(random.next() % 600)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                mayAnswer = nil
            case .truncated:
                bytes = Array(bytes.prefix(Int(random.next() % 48)))
                mayAnswer = false
            case .mutated:
                for _ in 0..<(1 + random.next() % 6) {
                    bytes[Int(random.next() % 40)] = UInt8(truncatingIfNeeded: random.next())  // keep the id intact
                }
                if random.next() % 4 == 0 { bytes += (0..<Int(random.next() % 80)).map { _ in UInt8(truncatingIfNeeded: random.next()) } }
            case .control:
                bytes[0] = (bytes[0] & 0xF8) | UInt8(6 + random.next() % 2)
                if random.next() % 2 == 0 { bytes = Array(bytes.prefix(12)) }
                mayAnswer = false
            case .badVersion:
                let version = [0, 5, 6, 7][Int(random.next() % 4)]
                bytes[0] = (bytes[0] & 0xC7) | UInt8(version << 3)
                mayAnswer = false
            case .withExtension:
                bytes[0] = (bytes[0] & 0xC7) | (4 << 3)
                bytes += ExtensionField(type: UInt16(truncatingIfNeeded: random.next()), body: [UInt8](repeating: 0xAB, count: 24)).encoded()
            case .withMAC:
                bytes += [0, 0, 0, 7] + [UInt8](repeating: 0x5A, count: 16)
                mayAnswer = false
            case .otherMode:
                bytes[0] = (bytes[0] & 0xF8) | [0, 1, 2, 4, 5][Int(random.next() % 5)]
                mayAnswer = false
            }
            sentByKind["\(kind)", default: 0] += 1
            // The rule: any datagram whose first byte says mode 6 or 7, whatever else it holds.
            if let first = bytes.first, first & 7 >= 6 { controlQueries += 1 }
            if bytes.count >= 48, let mayAnswer {
                let wireID = Self.id(of: bytes)
                if mayAnswer { answerable[wireID] = bytes.count } else { forbidden.insert(wireID) }
            }
            client.send(bytes)
            if index % 100 == 99 { responses += client.drain(quietMilliseconds: 20) }
        }
        responses += client.drain(quietMilliseconds: 300)

        var answeredIDs: Set<UInt64> = []
        for response in responses {
            XCTAssertGreaterThanOrEqual(response.count, 48)
            let header = try NTPHeader(parsing: response)
            XCTAssertEqual(header.mode, .server)
            let id = header.originTimestamp.rawValue
            XCTAssertFalse(forbidden.contains(id), "answered a datagram that must get no answer")
            if let length = answerable[id] {
                XCTAssertLessThanOrEqual(response.count, length, "a response is never larger than its request")
            } else {
                // Random bytes that happened to form a valid client request: still never larger than 48+4.
                XCTAssertLessThanOrEqual(response.count, 52)
            }
            XCTAssertTrue(answeredIDs.insert(id).inserted, "one answer per request")
            XCTAssertEqual(header.stratum, 1)
        }

        let status = try await node.status()
        XCTAssertEqual(status.ntp.received, UInt64(total), "every datagram received and counted")
        XCTAssertEqual(status.ntp.answered + status.ntp.droppedTotal, status.ntp.received, "answered + dropped == received")
        XCTAssertEqual(status.ntp.answered, UInt64(responses.count), "every answer counted arrived")
        XCTAssertEqual(status.ntp.dropped["controlQuery"], UInt64(controlQueries), "every mode 6/7 query dropped and counted")
        XCTAssertGreaterThanOrEqual(controlQueries, sentByKind["control"] ?? 0)
        XCTAssertGreaterThanOrEqual(status.ntp.dropped["malformed"] ?? 0, UInt64(sentByKind["truncated"] ?? 0))
        XCTAssertGreaterThanOrEqual(status.ntp.dropped["unsupportedVersion"] ?? 0, UInt64(sentByKind["badVersion"] ?? 0))
        XCTAssertGreaterThanOrEqual(status.ntp.dropped["authenticationFailed"] ?? 0, UInt64(sentByKind["withMAC"] ?? 0), "a MAC under no known key is dropped, as chrony does")
        XCTAssertGreaterThanOrEqual(UInt64(responses.count), UInt64((sentByKind["valid"] ?? 0) + (sentByKind["withExtension"] ?? 0)))

        // Still alive and serving.
        let measurement = try NTPQueryClient(server: .init(host: "127.0.0.1", port: port)).query()
        XCTAssertEqual(measurement.stratum, 1)
        XCTAssertEqual(node.stop(), 0)
    }

    static func validRequest(id: UInt64, version: UInt8) -> [UInt8] {
        NTPPacket(header: ClientExchange.request(transmit: NTPTimestamp(rawValue: id), version: version)).serialized()
    }

    static func id(of bytes: [UInt8]) -> UInt64 {
        bytes[40..<48].reduce(0) { $0 << 8 | UInt64($1) }
    }
}

extension ExtensionField {
    func encoded() -> [UInt8] {
        var bytes: [UInt8] = []
        write(into: &bytes)
        return bytes
    }
}

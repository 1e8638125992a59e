import NTPCore
import XCTest

import NTSKECore

final class NTSKENegotiationTests: XCTestCase {
    private let eom = NTSKERecord.endOfMessage()

    // MARK: - Request validation (server side)

    private enum Expect {
        case valid(NTSKERequest)
        case error(NTSKEErrorCode)
    }

    private func check(_ name: String, _ records: [NTSKERecord], _ expect: Expect, line: UInt = #line) {
        switch (Result { () throws(NTSKEError) in try NTSKERequest(parsing: records) }, expect) {
        case (.success(let request), .valid(let expected)):
            XCTAssertEqual(request, expected, name, line: line)
        case (.failure(let error), .error(let code)):
            XCTAssertEqual(error.code, code, "\(name): \(error.reason)", line: line)
            XCTAssertFalse(error.reason.isEmpty, name, line: line)
        case (.success(let request), .error(let code)):
            XCTFail("\(name): expected error \(code), parsed \(request)", line: line)
        case (.failure(let error), .valid):
            XCTFail("\(name): expected success, got \(error)", line: line)
        }
    }

    func testRequestValidationTable() {
        let np = NTSKERecord.nextProtocol([0])
        let aead = NTSKERecord.aeadAlgorithms([15])
        let basic = NTSKERequest(aeadAlgorithms: [15])
        let unknownCritical = NTSKERecord(critical: true, type: 0x4444, body: [1])
        let unknownPlain = NTSKERecord(critical: false, type: 0x4444, body: [1])

        // Valid requests.
        check("minimal", [np, aead, eom], .valid(basic))
        check("order of records does not matter", [aead, np, eom], .valid(basic))
        check("AEAD record without critical bit", [np, .aeadAlgorithms([15], critical: false), eom], .valid(basic))
        check("unknown non-critical ignored", [np, unknownPlain, aead, eom], .valid(basic))
        check("client preference list", [np, .aeadAlgorithms([30, 15, 17]), eom], .valid(NTSKERequest(aeadAlgorithms: [30, 15, 17])))
        check("other protocols alongside NTPv4", [.nextProtocol([0x8001, 0]), aead, eom],
              .valid(NTSKERequest(nextProtocols: [0x8001, 0], aeadAlgorithms: [15])))
        check("server and port preference", [np, aead, .server("ntp.example.com"), .port(1123), eom],
              .valid(NTSKERequest(aeadAlgorithms: [15], server: "ntp.example.com", port: 1123)))
        check("server and port with critical bit", [np, aead, .server("192.0.2.7", critical: true), .port(123, critical: true), eom],
              .valid(NTSKERequest(aeadAlgorithms: [15], server: "192.0.2.7", port: 123)))
        check("port without server", [np, aead, .port(123), eom], .valid(NTSKERequest(aeadAlgorithms: [15], port: 123)))
        check("NTPv4 not offered, no AEAD record needed", [.nextProtocol([0x8001]), eom],
              .valid(NTSKERequest(nextProtocols: [0x8001], aeadAlgorithms: [])))
        check("chrony compliant-context record", [np, .aeadAlgorithms([30, 15]), .compliantAES128GCMSIVExporterContext(), eom],
              .valid(NTSKERequest(aeadAlgorithms: [30, 15], requestsCompliantAES128GCMSIVExporterContext: true)))

        // Unrecognized Critical Record (code 0).
        check("unknown critical", [np, aead, unknownCritical, eom], .error(.unrecognizedCriticalRecord))
        check("unknown critical first", [unknownCritical, np, aead, eom], .error(.unrecognizedCriticalRecord))
        check("unknown critical beats bad request", [unknownCritical, .newCookie([1]), eom], .error(.unrecognizedCriticalRecord))
        check("unassigned type 8 critical", [np, aead, NTSKERecord(critical: true, type: 8, body: []), eom], .error(.unrecognizedCriticalRecord))

        // Bad Request (code 1): framing.
        check("empty", [], .error(.badRequest))
        check("no End of Message", [np, aead], .error(.badRequest))
        check("End of Message not last", [np, eom, aead], .error(.badRequest))
        check("two End of Message", [np, aead, eom, eom], .error(.badRequest))
        check("End of Message without critical bit", [np, aead, NTSKERecord(critical: false, type: 0, body: [])], .error(.badRequest))
        check("End of Message with body", [np, aead, NTSKERecord(critical: true, type: 0, body: [0])], .error(.badRequest))

        // Bad Request: Next Protocol.
        check("missing Next Protocol", [aead, eom], .error(.badRequest))
        check("duplicate Next Protocol", [np, np, aead, eom], .error(.badRequest))
        check("empty Next Protocol", [.nextProtocol([]), aead, eom], .error(.badRequest))
        check("odd Next Protocol body", [NTSKERecord(critical: true, type: 1, body: [0, 0, 0]), aead, eom], .error(.badRequest))
        check("Next Protocol without critical bit", [NTSKERecord(critical: false, type: 1, body: [0, 0]), aead, eom], .error(.badRequest))

        // Bad Request: AEAD.
        check("NTPv4 without AEAD record", [np, eom], .error(.badRequest))
        check("duplicate AEAD", [np, aead, aead, eom], .error(.badRequest))
        check("duplicate AEAD, different lists", [np, aead, .aeadAlgorithms([30]), eom], .error(.badRequest))
        check("empty AEAD", [np, .aeadAlgorithms([]), eom], .error(.badRequest))
        check("odd AEAD body", [np, NTSKERecord(critical: true, type: 4, body: [0, 15, 0]), eom], .error(.badRequest))

        // Bad Request: records clients must not send.
        check("Error from client", [np, aead, .error(.badRequest), eom], .error(.badRequest))
        check("Warning from client", [np, aead, .warning(1), eom], .error(.badRequest))
        check("New Cookie from client", [np, aead, .newCookie([1, 2, 3]), eom], .error(.badRequest))

        // Bad Request: server and port.
        check("duplicate Server", [np, aead, .server("a.example"), .server("b.example"), eom], .error(.badRequest))
        check("empty Server", [np, aead, .server(""), eom], .error(.badRequest))
        check("non-ASCII Server", [np, aead, .server("bücher.example"), eom], .error(.badRequest))
        check("Server with zone id", [np, aead, .server("fe80::1%eth0"), eom], .error(.badRequest))
        check("duplicate Port", [np, aead, .port(1), .port(2), eom], .error(.badRequest))
        check("short Port", [np, aead, NTSKERecord(critical: false, type: 7, body: [1]), eom], .error(.badRequest))
        check("long Port", [np, aead, NTSKERecord(critical: false, type: 7, body: [0, 1, 2]), eom], .error(.badRequest))
    }

    func testRequestRecordsRoundTrip() throws {
        let request = NTSKERequest(aeadAlgorithms: [30, 15], server: "ntp.example.com", port: 123)
        let records = request.records()
        XCTAssertEqual(records, [
            .nextProtocol([0]), .aeadAlgorithms([30, 15]), .server("ntp.example.com"), .port(123), .endOfMessage(),
        ])
        XCTAssertTrue(records[0].critical)
        XCTAssertTrue(records[1].critical)
        XCTAssertFalse(records[2].critical, "clients SHOULD NOT set the critical bit on Server")
        XCTAssertFalse(records[3].critical, "clients SHOULD NOT set the critical bit on Port")
        XCTAssertEqual(try NTSKERequest(parsing: records), request)

        let bytes = NTSKERecord.encode(records)
        var reader = NTSKEMessageReader()
        XCTAssertEqual(try NTSKERequest(parsing: XCTUnwrap(reader.append(bytes))), request)
    }

    func testMinimalClientRequestBytes() {
        // The request every NTPv4 client with AES-SIV-CMAC-256 sends.
        XCTAssertEqual(
            NTSKERecord.encode(NTSKERequest(aeadAlgorithms: [15]).records()),
            [0x80, 0x01, 0x00, 0x02, 0x00, 0x00, 0x80, 0x04, 0x00, 0x02, 0x00, 0x0F, 0x80, 0x00, 0x00, 0x00]
        )
        XCTAssertEqual(NTSKERequest(aeadAlgorithms: []).records(), [.nextProtocol([0]), .endOfMessage()])
    }

    // MARK: - Decision

    func testDecisionHonoursClientOrderAmongSupported() {
        let policy = NTSKEServerPolicy(supportedAEAD: [15, 30])
        XCTAssertEqual(NTSKENegotiation.decide(NTSKERequest(aeadAlgorithms: [30, 15]), policy: policy), .ntpv4(aead: 30))
        XCTAssertEqual(NTSKENegotiation.decide(NTSKERequest(aeadAlgorithms: [15, 30]), policy: policy), .ntpv4(aead: 15))
        XCTAssertEqual(NTSKENegotiation.decide(NTSKERequest(aeadAlgorithms: [17, 31, 30]), policy: policy), .ntpv4(aead: 30))
    }

    func testDecisionOnlyPicksOfferedAlgorithms() {
        let policy = NTSKEServerPolicy(supportedAEAD: [15, 30])
        for offered in [[UInt16](), [16], [17, 31], [0xFFFF]] {
            let agreement = NTSKENegotiation.decide(NTSKERequest(aeadAlgorithms: offered), policy: policy)
            XCTAssertEqual(agreement, .noCommonAEAD, "\(offered)")
            XCTAssertNil(agreement.aead)
        }
        var rng = SeededRandom(seed: 42)
        for _ in 0..<1000 {
            let offered = (0..<Int.random(in: 0...4, using: &rng)).map { _ in UInt16.random(in: 14...32, using: &rng) }
            if case .ntpv4(let aead) = NTSKENegotiation.decide(NTSKERequest(aeadAlgorithms: offered), policy: policy) {
                XCTAssertTrue(offered.contains(aead))
                XCTAssertTrue(policy.supportedAEAD.contains(aead))
                XCTAssertEqual(aead, offered.first(where: policy.supportedAEAD.contains))
            } else {
                XCTAssertFalse(offered.contains(where: policy.supportedAEAD.contains))
            }
        }
    }

    func testDecisionWithoutNTPv4() throws {
        let request = try NTSKERequest(parsing: [.nextProtocol([0x8001]), .aeadAlgorithms([15]), eom])
        XCTAssertEqual(NTSKENegotiation.decide(request, policy: NTSKEServerPolicy()), .noCommonProtocol)
    }

    // MARK: - Response records (server side)

    func testSuccessResponseRecords() {
        let policy = NTSKEServerPolicy(supportedAEAD: [15], ntpServer: "ntp1.example.com", ntpPort: 1123)
        let cookies: [[UInt8]] = [[1, 2, 3, 4], [5, 6, 7, 8]]
        let records = NTSKENegotiation.responseRecords(agreement: .ntpv4(aead: 15), policy: policy, cookies: cookies)
        XCTAssertEqual(records, [
            .nextProtocol([0]), .aeadAlgorithms([15]),
            .server("ntp1.example.com", critical: true), .port(1123, critical: true),
            .newCookie([1, 2, 3, 4]), .newCookie([5, 6, 7, 8]), .endOfMessage(),
        ])
        let bytes = NTSKERecord.encode(records)
        XCTAssertEqual(Array(bytes.prefix(12)), [0x80, 0x01, 0x00, 0x02, 0x00, 0x00, 0x80, 0x04, 0x00, 0x02, 0x00, 0x0F])
        XCTAssertEqual(Array(bytes.suffix(20)), [
            0x00, 0x05, 0x00, 0x04, 1, 2, 3, 4,
            0x00, 0x05, 0x00, 0x04, 5, 6, 7, 8,
            0x80, 0x00, 0x00, 0x00,
        ])
    }

    func testSuccessResponseWithoutServerAndPortAndNonCritical() {
        let plain = NTSKENegotiation.responseRecords(agreement: .ntpv4(aead: 30), policy: NTSKEServerPolicy(), cookies: [[9]])
        XCTAssertEqual(plain, [.nextProtocol([0]), .aeadAlgorithms([30]), .newCookie([9]), .endOfMessage()])

        let policy = NTSKEServerPolicy(ntpServer: "192.0.2.1", ntpPort: 123, criticalServerAndPort: false)
        let records = NTSKENegotiation.responseRecords(agreement: .ntpv4(aead: 15), policy: policy, cookies: [[9]])
        XCTAssertEqual(records[2], .server("192.0.2.1"))
        XCTAssertEqual(records[3], .port(123))
    }

    func testAdditionalRecordsGoBeforeCookies() {
        let records = NTSKENegotiation.responseRecords(
            agreement: .ntpv4(aead: 30), policy: NTSKEServerPolicy(supportedAEAD: [15, 30]), cookies: [[1]],
            additionalRecords: [.compliantAES128GCMSIVExporterContext()]
        )
        XCTAssertEqual(records, [
            .nextProtocol([0]), .aeadAlgorithms([30]), .compliantAES128GCMSIVExporterContext(), .newCookie([1]), .endOfMessage(),
        ])
        let response = try? NTSKEResponse(parsing: records, offered: [30, 15])
        XCTAssertEqual(response?.compliantAES128GCMSIVExporterContext, true)
    }

    func testNoCommonAEADResponseHasEmptyAEADRecordAndNoCookies() {
        let records = NTSKENegotiation.responseRecords(
            agreement: .noCommonAEAD, policy: NTSKEServerPolicy(ntpServer: "ntp.example.com", ntpPort: 123), cookies: [[1, 2]]
        )
        XCTAssertEqual(records, [.nextProtocol([0]), .aeadAlgorithms([]), .endOfMessage()])
        XCTAssertEqual(NTSKERecord.encode(records), [0x80, 0x01, 0x00, 0x02, 0x00, 0x00, 0x80, 0x04, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00])
        XCTAssertThrowsError(try NTSKEResponse(parsing: records, offered: [17])) { error in
            XCTAssertEqual(error as? NTSKEResponseError, .noCommonAEAD)
        }
    }

    func testNoCommonProtocolResponseHasEmptyNextProtocolRecord() {
        let records = NTSKENegotiation.responseRecords(agreement: .noCommonProtocol, policy: NTSKEServerPolicy(), cookies: [])
        XCTAssertEqual(records, [.nextProtocol([]), .endOfMessage()])
        XCTAssertEqual(NTSKERecord.encode(records), [0x80, 0x01, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00])
        XCTAssertThrowsError(try NTSKEResponse(parsing: records, offered: [15])) { error in
            XCTAssertEqual(error as? NTSKEResponseError, .noCommonProtocol)
        }
    }

    func testErrorRecords() {
        let error = NTSKEError.badRequest("test")
        XCTAssertEqual(NTSKENegotiation.errorRecords(error), [.error(.badRequest), .endOfMessage()])
        XCTAssertEqual(error.records, NTSKENegotiation.errorRecords(error))
        XCTAssertEqual(
            NTSKERecord.encode(NTSKENegotiation.errorRecords(.unrecognizedCriticalRecord(type: 99))),
            [0x80, 0x02, 0x00, 0x02, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00]
        )
        XCTAssertTrue(NTSKEError.unrecognizedCriticalRecord(type: 99).description.contains("99"))
        XCTAssertTrue(error.description.contains("Bad Request"))
    }

    func testResponseThatWouldBreakTheRFCBecomesInternalServerError() {
        let internalError: [NTSKERecord] = [.error(.internalServerError), .endOfMessage()]
        let policy = NTSKEServerPolicy()
        XCTAssertEqual(NTSKENegotiation.responseRecords(agreement: .ntpv4(aead: 15), policy: policy, cookies: []), internalError)
        XCTAssertEqual(NTSKENegotiation.responseRecords(agreement: .ntpv4(aead: 15), policy: policy, cookies: [[1], []]), internalError)
        XCTAssertEqual(
            NTSKENegotiation.responseRecords(agreement: .ntpv4(aead: 15), policy: policy, cookies: [Array(repeating: 0, count: 65_536)]),
            internalError
        )
        XCTAssertEqual(
            NTSKENegotiation.responseRecords(agreement: .ntpv4(aead: 15), policy: NTSKEServerPolicy(ntpServer: "bad name"), cookies: [[1]]),
            internalError
        )
        XCTAssertEqual(
            NTSKENegotiation.responseRecords(agreement: .ntpv4(aead: 15), policy: policy, cookies: [[1]], additionalRecords: [.endOfMessage()]),
            internalError
        )
    }

    func testPolicyProblems() {
        XCTAssertEqual(NTSKEServerPolicy().problems, [])
        XCTAssertEqual(NTSKEServerPolicy().cookieCount, 8)
        XCTAssertEqual(NTSKEServerPolicy().supportedAEAD, [15])
        XCTAssertEqual(NTSKEServerPolicy(supportedAEAD: [30]).problems.count, 1)
        XCTAssertEqual(NTSKEServerPolicy(cookieCount: 0).problems.count, 1)
        XCTAssertEqual(NTSKEServerPolicy(ntpServer: "fe80::1%eth0").problems.count, 1)
        XCTAssertEqual(NTSKEServerPolicy(supportedAEAD: [], cookieCount: -1, ntpServer: "").problems.count, 3)
    }

    // MARK: - Response parsing (client side)

    private func parseResponse(_ records: [NTSKERecord], offered: [UInt16] = [15], recognizedWarnings: Set<UInt16> = []) -> Result<NTSKEResponse, NTSKEResponseError> {
        Result { () throws(NTSKEResponseError) in
            try NTSKEResponse(parsing: records, offered: offered, recognizedWarnings: recognizedWarnings)
        }
    }

    private func assertFails(_ records: [NTSKERecord], offered: [UInt16] = [15], _ expected: NTSKEResponseError, line: UInt = #line) {
        switch parseResponse(records, offered: offered) {
        case .success(let response): XCTFail("expected \(expected), parsed \(response)", line: line)
        case .failure(let error): XCTAssertEqual(error, expected, line: line)
        }
    }

    private func assertMalformed(_ records: [NTSKERecord], offered: [UInt16] = [15], line: UInt = #line) {
        switch parseResponse(records, offered: offered) {
        case .success(let response): XCTFail("expected malformed, parsed \(response)", line: line)
        case .failure(.malformed(let why)): XCTAssertFalse(why.isEmpty, line: line)
        case .failure(let error): XCTFail("expected malformed, got \(error)", line: line)
        }
    }

    func testGoodResponse() throws {
        let records: [NTSKERecord] = [
            .nextProtocol([0]), .aeadAlgorithms([15]), .server("ntp.example.com", critical: true), .port(4123, critical: true),
            NTSKERecord(critical: false, type: 0x5000, body: [1, 2]),
            .newCookie([1, 1]), .newCookie([2, 2]), .newCookie([3, 3]), eom,
        ]
        let response = try parseResponse(records, offered: [30, 15]).get()
        XCTAssertEqual(response, NTSKEResponse(aeadAlgorithm: 15, cookies: [[1, 1], [2, 2], [3, 3]], server: "ntp.example.com", port: 4123))
        XCTAssertEqual(response.nextProtocol, 0)
        XCTAssertEqual(response.ntpPort, 4123)

        let minimal = try parseResponse([.nextProtocol([0]), .aeadAlgorithms([15]), .newCookie([7]), eom]).get()
        XCTAssertNil(minimal.server)
        XCTAssertNil(minimal.port)
        XCTAssertEqual(minimal.ntpPort, 123, "no Port record means 123 (§4.1.8)")
        XCTAssertEqual(minimal.warnings, [])

        let criticalCookie = NTSKERecord(critical: true, type: 5, body: [7])
        XCTAssertEqual(try parseResponse([.nextProtocol([0]), .aeadAlgorithms([15], critical: false), criticalCookie, eom]).get().cookies, [[7]])
    }

    func testErrorResponse() {
        for code in NTSKEErrorCode.allCases {
            assertFails([.error(code), eom], .serverError(code.rawValue))
        }
        assertFails([.nextProtocol([0]), .aeadAlgorithms([15]), .error(rawCode: 0x9000), .newCookie([1]), eom], .serverError(0x9000))
        assertMalformed([NTSKERecord(critical: true, type: 2, body: [1]), eom])
        XCTAssertTrue(NTSKEResponseError.serverError(2).mayRetryUnchanged)
        XCTAssertFalse(NTSKEResponseError.serverError(1).mayRetryUnchanged)
        XCTAssertFalse(NTSKEResponseError.serverError(0).mayRetryUnchanged)
        XCTAssertTrue(NTSKEResponseError.serverError(1).description.contains("Bad Request"))
    }

    func testWrongAEADNotOffered() {
        assertFails([.nextProtocol([0]), .aeadAlgorithms([30]), .newCookie([1]), eom], offered: [15], .aeadNotOffered(30))
        assertFails([.nextProtocol([0]), .aeadAlgorithms([15]), .newCookie([1]), eom], offered: [], .aeadNotOffered(15))
    }

    func testZeroCookies() {
        assertFails([.nextProtocol([0]), .aeadAlgorithms([15]), eom], .noCookies)
        assertMalformed([.nextProtocol([0]), .aeadAlgorithms([15]), .newCookie([]), eom])
    }

    func testUnknownCriticalInResponse() {
        assertFails([.nextProtocol([0]), .aeadAlgorithms([15]), NTSKERecord(critical: true, type: 300, body: []), .newCookie([1]), eom],
                    .unrecognizedCriticalRecord(300))
    }

    func testWarnings() throws {
        let records: [NTSKERecord] = [.nextProtocol([0]), .aeadAlgorithms([15]), .warning(0x8001), .newCookie([1]), eom]
        assertFails(records, .unrecognizedWarning(0x8001))
        XCTAssertEqual(try parseResponse(records, recognizedWarnings: [0x8001]).get().warnings, [0x8001])
        assertMalformed([.nextProtocol([0]), .aeadAlgorithms([15]), NTSKERecord(critical: true, type: 3, body: [1, 2, 3]), .newCookie([1]), eom])
    }

    func testMalformedResponses() {
        let np = NTSKERecord.nextProtocol([0])
        let aead = NTSKERecord.aeadAlgorithms([15])
        let cookie = NTSKERecord.newCookie([1])
        assertMalformed([])
        assertMalformed([np, aead, cookie])
        assertMalformed([np, aead, cookie, NTSKERecord(critical: false, type: 0, body: [])])
        assertMalformed([np, aead, cookie, NTSKERecord(critical: true, type: 0, body: [1])])
        assertMalformed([np, eom, aead, cookie, eom])
        assertMalformed([aead, cookie, eom])  // no Next Protocol
        assertMalformed([np, np, aead, cookie, eom])
        assertMalformed([NTSKERecord(critical: false, type: 1, body: [0, 0]), aead, cookie, eom])
        assertMalformed([NTSKERecord(critical: true, type: 1, body: [0]), aead, cookie, eom])
        assertMalformed([.nextProtocol([0, 0x8001]), aead, cookie, eom])  // protocol not offered
        assertMalformed([np, cookie, eom])  // NTPv4 without AEAD
        assertMalformed([np, aead, aead, cookie, eom])
        assertMalformed([np, .aeadAlgorithms([15, 30]), cookie, eom], offered: [15, 30])  // more than one chosen
        assertMalformed([np, NTSKERecord(critical: true, type: 4, body: [0]), cookie, eom])
        assertMalformed([np, aead, .server("a.example"), .server("b.example"), cookie, eom])
        assertMalformed([np, aead, .server("bad name"), cookie, eom])
        assertMalformed([np, aead, .port(1), .port(2), cookie, eom])
        assertMalformed([np, aead, NTSKERecord(critical: false, type: 7, body: [1]), cookie, eom])
    }

    func testNoCommonProtocolVariants() {
        assertFails([.nextProtocol([]), eom], .noCommonProtocol)
        switch parseResponse([.nextProtocol([0x8001]), eom]) {
        case .failure(.malformed): break  // 0x8001 was never offered
        default: XCTFail("a protocol that was not offered is malformed")
        }
        let result = Result { () throws(NTSKEResponseError) in
            try NTSKEResponse(parsing: [.nextProtocol([0x8001]), eom], offered: [15], offeredProtocols: [0, 0x8001])
        }
        XCTAssertEqual(result.failure, .noCommonProtocol)
    }

    // MARK: - Exporter (§5.1)

    func testExporterLabelAndContexts() {
        XCTAssertEqual(NTSKEExporter.label, "EXPORTER-network-time-security")
        XCTAssertEqual(NTSKEExporter.labelBytes.count, 30)
        XCTAssertEqual(NTSKEExporter.context(protocol: 0, aead: 15, serverToClient: false), [0x00, 0x00, 0x00, 0x0F, 0x00])
        XCTAssertEqual(NTSKEExporter.context(protocol: 0, aead: 15, serverToClient: true), [0x00, 0x00, 0x00, 0x0F, 0x01])
        XCTAssertEqual(NTSKEExporter.context(protocol: 0, aead: 30, serverToClient: true), [0x00, 0x00, 0x00, 0x1E, 0x01])
        XCTAssertEqual(NTSKEExporter.context(protocol: 0x8001, aead: 0x1234, serverToClient: false), [0x80, 0x01, 0x12, 0x34, 0x00])
        XCTAssertEqual(NTSKEExporter.clientToServerContext(aead: 15), [0, 0, 0, 15, 0])
        XCTAssertEqual(NTSKEExporter.serverToClientContext(aead: 15), [0, 0, 0, 15, 1])
        XCTAssertEqual(NTSKEExporter.keyLength(aead: 15), 32)
        XCTAssertEqual(NTSKEExporter.keyLength(aead: 30), 16)
        XCTAssertEqual(NTSKEExporter.keyLength(aead: 17), 64)
        XCTAssertNil(NTSKEExporter.keyLength(aead: 1))
    }

    // MARK: - End to end, bytes to bytes

    func testFullExchangeOverChunkedStreams() throws {
        var rng = SeededRandom(seed: 8915)
        let policy = NTSKEServerPolicy(supportedAEAD: [15, 30], ntpServer: "ntp.example.com", ntpPort: 123)
        for offered in [[UInt16(30), 15], [15], [17, 30], [17]] {
            // Client → server.
            let requestBytes = NTSKERecord.encode(NTSKERequest(aeadAlgorithms: offered).records())
            var serverReader = NTSKEMessageReader()
            var requestRecords: [NTSKERecord]?
            var offset = 0
            while requestRecords == nil {
                let end = min(requestBytes.count, offset + Int.random(in: 1...5, using: &rng))
                requestRecords = try serverReader.append(requestBytes[offset..<end])
                offset = end
            }
            let request = try NTSKERequest(parsing: XCTUnwrap(requestRecords))
            let agreement = NTSKENegotiation.decide(request, policy: policy)
            let cookies = (0..<policy.cookieCount).map { index in [UInt8](repeating: UInt8(index), count: 100) }
            let responseBytes = NTSKERecord.encode(
                NTSKENegotiation.responseRecords(agreement: agreement, policy: policy, cookies: agreement.aead == nil ? [] : cookies)
            )

            // Server → client.
            var clientReader = NTSKEMessageReader(maximumMessageLength: NTSKEConstants.recommendedResponseLimit)
            XCTAssertNil(try clientReader.append(responseBytes.dropLast()))
            let responseRecords = try XCTUnwrap(clientReader.append(responseBytes.suffix(1)))
            let result = Result { () throws(NTSKEResponseError) in try NTSKEResponse(parsing: responseRecords, offered: offered) }

            if offered == [17] {
                XCTAssertEqual(result.failure, .noCommonAEAD)
            } else {
                let response = try result.get()
                XCTAssertEqual(response.aeadAlgorithm, offered.first(where: policy.supportedAEAD.contains))
                XCTAssertEqual(response.cookies, cookies)
                XCTAssertEqual(response.server, "ntp.example.com")
                XCTAssertEqual(response.port, 123)
            }
        }
    }

    func testServerFlowForBadInputs() {
        // Framing failure → Bad Request response.
        var reader = NTSKEMessageReader(maximumMessageLength: 1024)
        do {
            _ = try reader.append([0x00, 0x05, 0xFF, 0xFF])
            XCTFail("expected tooLong")
        } catch {
            XCTAssertEqual(NTSKENegotiation.errorRecords(NTSKEError(error)), [.error(.badRequest), .endOfMessage()])
        }
        // Validation failure → its own code.
        do {
            _ = try NTSKERequest(parsing: [.nextProtocol([0]), .aeadAlgorithms([15]), NTSKERecord(critical: true, type: 77, body: []), eom])
            XCTFail("expected error")
        } catch {
            XCTAssertEqual(NTSKENegotiation.errorRecords(error), [.error(.unrecognizedCriticalRecord), .endOfMessage()])
        }
    }
}

extension Result {
    fileprivate var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}

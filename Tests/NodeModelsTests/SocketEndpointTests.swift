import NodeModels
import XCTest

final class SocketEndpointTests: XCTestCase {
    func testParsesHostsAndPorts() throws {
        let cases: [(String, String, UInt16)] = [
            ("127.0.0.1:123", "127.0.0.1", 123), ("127.0.0.1", "127.0.0.1", 4460), ("[::1]:11123", "::1", 11123),
            ("[::]", "::", 4460), ("::1", "::1", 4460), ("2001:db8::5", "2001:db8::5", 4460),
            ("  time.example:0 ", "time.example", 0), ("[fe80::1]:65535", "fe80::1", 65535),
        ]
        for (text, host, port) in cases {
            let endpoint = try SocketEndpoint(parsing: text, defaultPort: 4460)
            XCTAssertEqual(endpoint.host, host, text)
            XCTAssertEqual(endpoint.port, port, text)
            XCTAssertEqual(try SocketEndpoint(parsing: endpoint.description, defaultPort: nil), endpoint, "round trip \(text)")
        }
    }

    func testRejectsBadInput() {
        let bad: [(String, String)] = [
            ("", "empty"), ("[::1", "missing ]"), ("[::1]x", "expected :PORT"), ("host:", "port must be a number"),
            ("host:65536", "port must be a number"), ("host:-1", "port must be a number"), (":123", "missing host"),
            ("[]:123", "missing host"),
        ]
        for (text, fragment) in bad {
            XCTAssertThrowsError(try SocketEndpoint(parsing: text, defaultPort: 123), text) {
                XCTAssertTrue("\($0)".contains(fragment), "\(text): \($0)")
            }
        }
        XCTAssertThrowsError(try SocketEndpoint(parsing: "127.0.0.1", defaultPort: nil)) {
            XCTAssertTrue("\($0)".contains("missing :PORT"))
        }
    }
}

final class ServerCountersTests: XCTestCase {
    func testAddAndTotals() {
        var a = ServerCounters()
        a.received = 10
        a.answered = 7
        a.dropped = ["malformed": 2, "denied": 1]
        var b = ServerCounters()
        b.received = 5
        b.answered = 4
        b.kissOfDeath = 1
        b.dropped = ["malformed": 1]
        a.add(b)
        XCTAssertEqual(a.received, 15)
        XCTAssertEqual(a.answered, 11)
        XCTAssertEqual(a.kissOfDeath, 1)
        XCTAssertEqual(a.dropped, ["malformed": 3, "denied": 1])
        XCTAssertEqual(a.droppedTotal, 4)
        XCTAssertEqual(a.answered + a.droppedTotal, a.received)
    }
}

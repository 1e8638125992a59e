import NetworkEdges
import NodeModels
import Foundation
import NTPCore
import XCTest

/// Access lists and rate limits on a running node, and SIGHUP reloading them without closing sockets.
final class PolicyTests: XCTestCase {
    func testRateLimitAnswersBurstThenLimitsWithKissOfDeath() async throws {
        let node = try await NodeProcess(config: """
            [local]
            stratum = 1
            [ntp]
            listen = ["127.0.0.1:0"]
            [ratelimit]
            interval = 6
            burst = 4
            leak = 2
            kod = 1
            """)
        let port = try await node.port(of: "127.0.0.1")
        let client = try RawUDPClient(host: "127.0.0.1", port: port)
        let count = 400
        var times = 0
        var kisses = 0
        for index in 0..<count {
            let transmit = NTPTimestamp(rawValue: UInt64(index + 1))
            client.send(NTPPacket(header: ClientExchange.request(transmit: transmit)).serialized())
            if let reply = client.receive(timeoutMilliseconds: 20) {
                let header = try NTPHeader(parsing: reply)
                XCTAssertEqual(header.originTimestamp, transmit)
                if header.stratum == 0 {
                    XCTAssertEqual(header.referenceID, .rate)
                    XCTAssertEqual(header.leap, .unsynchronized)
                    kisses += 1
                } else {
                    if index < 4 { XCTAssertEqual(header.stratum, 1, "the burst is answered") }
                    times += 1
                }
            } else {
                XCTAssertGreaterThanOrEqual(index, 4, "the first \(4) requests are within the burst")
            }
        }
        // Over the limit: 1 in 4 leaks through as a time response, 1 in 2 of the rest get a KoD RATE.
        let limited = Double(count - 4)
        XCTAssertEqual(Double(times - 4), limited / 4, accuracy: limited * 0.12)
        XCTAssertGreaterThan(kisses, Int(limited * 0.2))
        let status = try await node.status()
        XCTAssertEqual(status.ntp.received, UInt64(count))
        XCTAssertEqual(status.ntp.kissOfDeath, UInt64(kisses))
        XCTAssertEqual(status.ntp.answered, UInt64(times + kisses))
        XCTAssertEqual(status.ntp.dropped["rateLimited"], UInt64(count - times - kisses))
        XCTAssertTrue(status.rateLimiting)
        XCTAssertEqual(status.busiestClients.first?.address, "127.0.0.1")
        XCTAssertEqual(status.busiestClients.first?.requests, UInt64(count))
    }

    func testAccessListAndReloadOnHangup() async throws {
        let node = try await NodeProcess(config: """
            [local]
            stratum = 5
            [ntp]
            listen = ["127.0.0.1:0", "[::1]:0"]
            [access]
            deny = ["127.0.0.0/8"]
            """)
        let port4 = try await node.port(of: "127.0.0.1")
        let port6 = try await node.port(of: "::1")
        let v4 = SocketEndpoint(host: "127.0.0.1", port: port4)
        let v6 = SocketEndpoint(host: "::1", port: port6)

        XCTAssertThrowsError(try NTPQueryClient(server: v4, timeoutMilliseconds: 300).query(), "denied clients get no answer")
        XCTAssertEqual(try NTPQueryClient(server: v6).query().stratum, 5, "a deny-only list serves everyone else")
        var status = try await node.status()
        XCTAssertEqual(status.ntp.dropped["denied"], 1)

        // Allow IPv4, deny IPv6, and change the stratum: applied on SIGHUP, on the same sockets.
        try node.write(config: """
            [local]
            stratum = 6
            [ntp]
            listen = ["127.0.0.1:0", "[::1]:0"]
            [access]
            allow = ["127.0.0.1/32"]
            """)
        node.signal(SIGHUP)
        try await waitForReloads(node, count: 1)
        XCTAssertEqual(try NTPQueryClient(server: v4).query().stratum, 6)
        XCTAssertThrowsError(try NTPQueryClient(server: v6, timeoutMilliseconds: 300).query(), "unmatched clients are refused once an allow rule exists")
        status = try await node.status()
        let portAfterReload = try await node.port(of: "127.0.0.1")
        XCTAssertEqual(portAfterReload, port4, "reload keeps the sockets")
        XCTAssertEqual(status.ntp.dropped["denied"], 2)

        // A broken file changes nothing: the node keeps serving with the running configuration.
        try "[ntp]\nlisten = 5\n".write(to: node.configURL, atomically: true, encoding: .utf8)
        node.signal(SIGHUP)
        try await Task.sleep(for: .milliseconds(500))
        status = try await node.status()
        XCTAssertEqual(status.configReloads, 1)
        XCTAssertEqual(try NTPQueryClient(server: v4).query().stratum, 6)
        XCTAssertTrue(node.log.contains("configuration reload failed"), node.log)

        // The log level is reloaded too: at "error", the next reload's notice is not logged.
        let noticesBefore = node.log.components(separatedBy: "configuration reloaded").count
        try node.write(config: """
            [local]
            stratum = 6
            [ntp]
            listen = ["127.0.0.1:0", "[::1]:0"]
            """, logLevel: "error")
        node.signal(SIGHUP)
        try await waitForReloads(node, count: 2)
        XCTAssertEqual(node.log.components(separatedBy: "configuration reloaded").count, noticesBefore, node.log)
        XCTAssertEqual(try NTPQueryClient(server: v6).query().stratum, 6, "the access list went back to serving everyone")
        XCTAssertEqual(node.stop(), 0)
    }

    private func waitForReloads(_ node: NodeProcess, count: Int) async throws {
        for _ in 0..<100 {
            if try await node.status().configReloads >= count { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        XCTFail("no reload seen: \(node.log)")
    }
}

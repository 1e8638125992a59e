import NetworkEdges
import NodeModels
import Node
import Foundation
import NTPCore
import TimeCore
import XCTest

/// Upstream servers as time sources of a real `fleetnode`: chronyd 4.3 serving plain NTP and NTS on loopback.
final class UpstreamSourceTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = try NodeProcess.makeDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    /// A chronyd at stratum 2 as the only source: the node selects it (`*`), serves stratum 3 with reference
    /// id 127.0.0.1, and a client querying the node sees that.
    func testFollowsAPlainNTPServerAtItsStratumPlusOne() async throws {
        let port = freeLoopbackPort()
        let chrony = try ChronyProcess.server(in: directory, port: port)
        defer { chrony.stop() }
        let node = try await NodeProcess(config: """
            [ntp]
            listen = ["127.0.0.1:0"]
            [[server]]
            address = "127.0.0.1:\(port)"
            minpoll = 0
            maxpoll = 1
            """)
        defer { _ = node.stop() }
        try await waitFor(node, seconds: 30) { status in
            status.serving.synchronized && status.timekeeping?.tracking.selected?.name == "127.0.0.1:\(port)"
        }
        let status = try await node.status()
        XCTAssertEqual(status.serving.stratum, 3)
        XCTAssertEqual(status.serving.referenceID, "127.0.0.1")
        let source = try XCTUnwrap(status.timekeeping?.sources.first)
        XCTAssertEqual(source.state, .selected)
        XCTAssertEqual(source.kind, .ntp)
        XCTAssertNotEqual(source.reach, 0)
        XCTAssertLessThan(abs(source.offset ?? 1), 0.01, "chronyd serves this machine's clock, as the node does")

        let ntpPort = try await node.port(of: "127.0.0.1")
        let answer = try NTPQueryClient(server: .init(host: "127.0.0.1", port: ntpPort)).query()
        XCTAssertEqual(answer.stratum, 3)
        XCTAssertEqual(answer.referenceID, ReferenceID(rawValue: 0x7F00_0001))
        XCTAssertEqual(answer.leap, .noWarning)
        XCTAssertLessThan(abs(answer.offset), 0.01)

        let text = StatusReport.text(status)
        XCTAssertTrue(text.contains("* 127.0.0.1:\(port)"), text)
    }

    /// An NTS-protected upstream: key establishment against chronyd's NTS-KE with the test CA, then
    /// authenticated polls; the node is synchronised to it.
    func testFollowsAnNTSServer() async throws {
        let certificate = try TestCertificate.make(in: directory)
        let ntpPort = freeLoopbackPort()
        let kePort = freeLoopbackPort()
        let chrony = try ChronyProcess.server(in: directory, port: ntpPort, nts: (certificate, kePort))
        defer { chrony.stop() }
        let node = try await NodeProcess(config: """
            [ntp]
            listen = ["127.0.0.1:0"]
            [[server]]
            address = "127.0.0.1"
            nts = true
            ke_port = \(kePort)
            ca = "\(certificate.certificate)"
            minpoll = 0
            maxpoll = 1
            """)
        defer { _ = node.stop() }
        try await waitFor(node, seconds: 30) { $0.serving.synchronized }
        let status = try await node.status()
        XCTAssertEqual(status.serving.stratum, 3)
        let source = try XCTUnwrap(status.timekeeping?.sources.first)
        XCTAssertEqual(source.kind, .nts)
        XCTAssertEqual(source.state, .selected)
    }

    /// A server that never answers stays `?` with a note, and the node stays unsynchronised (leap 3).
    func testUnreachableServerLeavesTheNodeUnsynchronised() async throws {
        let port = freeLoopbackPort()
        let node = try await NodeProcess(config: """
            [ntp]
            listen = ["127.0.0.1:0"]
            [[server]]
            address = "127.0.0.1:\(port)"
            minpoll = 0
            """)
        defer { _ = node.stop() }
        try await waitFor(node, seconds: 15) { ($0.timekeeping?.sources.first?.note ?? "").contains("timed out") || ($0.timekeeping?.sources.first?.note ?? "").contains("Connection refused") }
        let status = try await node.status()
        XCTAssertFalse(status.serving.synchronized)
        XCTAssertEqual(status.timekeeping?.sources.first?.state, .unusable)
        let client = try RawUDPClient(host: "127.0.0.1", port: try await node.port(of: "127.0.0.1"))
        client.send(ClientExchange.request(transmit: NTPTimestamp(rawValue: 0x1234_5678_9ABC_DEF0)).serialized())
        let answer = try XCTUnwrap(client.receive(timeoutMilliseconds: 1_000))
        XCTAssertEqual(answer.first.map { $0 >> 6 }, 3, "leap 3 while unsynchronised")
    }
}

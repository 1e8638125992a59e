import Foundation
import NetworkEdges
import Node
import NodeModels
import NTPCore
import TimeCore
import XCTest

/// The node as an interleaved-mode client (`xleave = true`, RFC 9769 §2): of chronyd 4.3 serving on
/// loopback (plain, symmetric key, NTS), and of a sibling fleetnode. The status says the source is
/// interleaved, and its offset and delay are those of a clock compared with itself.
final class InterleavedClientInteropTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = try NodeProcess.makeDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Polls 16 times a second until the source has `samples` interleaved samples; checks and returns it.
    func interleavedSource(_ node: NodeProcess, samples: UInt64 = 12, file: StaticString = #filePath, line: UInt = #line) async throws -> SourceReport {
        try await waitFor(node, seconds: 30) { status in
            status.timekeeping?.sources.contains {
                $0.interleaved == true && $0.interleavedSamples ?? 0 >= samples && $0.offset != nil && $0.rootDistance != nil
            } ?? false
        }
        let status = try await node.status()
        let source = try XCTUnwrap(status.timekeeping?.sources.first { $0.interleaved != nil }, file: file, line: line)
        XCTAssertEqual(source.bogusResponses, 0, file: file, line: line)
        XCTAssertLessThan(abs(source.offset ?? 1), 0.001, "chronyd serves this machine's clock", file: file, line: line)
        XCTAssertLessThan(source.rootDistance ?? 1, 0.01, "delay and dispersion of loopback", file: file, line: line)
        XCTAssertTrue(StatusReport.text(status).contains("[xleave: interleaved"), StatusReport.text(status), file: file, line: line)
        return source
    }

    func serverTable(_ address: String, _ lines: String = "") -> String {
        """
        [ntp]
        listen = ["127.0.0.1:0"]
        [[server]]
        address = "\(address)"
        xleave = true
        iburst = false
        minpoll = -4
        maxpoll = -4
        \(lines)
        """
    }

    func testPlainChronydServerIsPolledInterleaved() async throws {
        let port = freeLoopbackPort()
        let chrony = try ChronyProcess.server(in: directory, port: port)
        defer { chrony.stop() }
        let node = try await NodeProcess(config: serverTable("127.0.0.1:\(port)", "[metrics]\nlisten = \"127.0.0.1:0\""))
        defer { _ = node.stop() }
        let source = try await interleavedSource(node)
        XCTAssertEqual(source.kind, .ntp)
        let metricsStatus = try await node.status()
        let listener = try XCTUnwrap(metricsStatus.metricsListener)
        let lines = try PrometheusScrape.scrape("http://\(listener)/metrics")
        XCTAssertEqual(PrometheusScrape.value(lines, "fleetnode_source_interleaved{source=127.0.0.1:\(port)}"), 1, lines.joined(separator: "\n"))
    }

    func testSymmetricKeyChronydServerIsPolledInterleaved() async throws {
        let keys = directory.appendingPathComponent("ntp.keys").path
        let hex = (0..<16).map { _ in String(format: "%02X", UInt8.random(in: 0...255)) }.joined()
        try "7 AES128 HEX:\(hex)\n".write(toFile: keys, atomically: true, encoding: .utf8)
        chmod(keys, 0o600)
        let port = freeLoopbackPort()
        let chrony = try ChronyProcess.server(in: directory, port: port, keyFile: keys)
        defer { chrony.stop() }
        let node = try await NodeProcess(config: serverTable("127.0.0.1:\(port)", "key = 7\n[keys]\nfile = \"\(keys)\""))
        defer { _ = node.stop() }
        _ = try await interleavedSource(node)
    }

    func testNTSChronydServerIsPolledInterleaved() async throws {
        let certificate = try TestCertificate.make(in: directory)
        let port = freeLoopbackPort()
        let kePort = freeLoopbackPort()
        let chrony = try ChronyProcess.server(in: directory, port: port, nts: (certificate, kePort))
        defer { chrony.stop() }
        let node = try await NodeProcess(config: serverTable("127.0.0.1", "nts = true\nke_port = \(kePort)\nca = \"\(certificate.certificate)\""))
        defer { _ = node.stop() }
        let source = try await interleavedSource(node)
        XCTAssertEqual(source.kind, .nts)
    }

    /// Two siblings poll each other interleaved (the node's own server side answers them).
    func testSiblingsPollEachOtherInterleaved() async throws {
        let cluster = try await SiblingCluster.start(testCase: self, count: 2, siblingOptions: "xleave = true")
        defer { cluster.stop() }
        for node in cluster.nodes {
            try await waitFor(node, seconds: 40) { status in
                status.timekeeping?.sources.contains {
                    $0.kind == .sibling && $0.interleaved == true && $0.interleavedSamples ?? 0 >= 3 && $0.offset != nil
                } ?? false
            }
            let status = try await node.status()
            let sibling = try XCTUnwrap(status.timekeeping?.sources.first { $0.kind == .sibling })
            XCTAssertEqual(sibling.bogusResponses, 0)
            XCTAssertLessThan(abs(sibling.offset ?? 1), 0.001)
            XCTAssertGreaterThan(status.ntp.precision?.interleaved ?? 0, 0, "its server side answered the other interleaved")
        }
    }

    /// Figures for the README (run by hand: FLEETNODE_XLEAVE_FIGURES=1): the offset and delay of 300
    /// exchanges with chronyd on loopback, 20 ms apart, as the node's poller measures them: basic mode as
    /// before (T1 read before the send), basic with the kernel's T1, and interleaved.
    func testJitterFiguresBasicVersusInterleaved() throws {
        guard ProcessInfo.processInfo.environment["FLEETNODE_XLEAVE_FIGURES"] != nil else {
            throw XCTSkip("set FLEETNODE_XLEAVE_FIGURES=1 to measure")
        }
        let port = freeLoopbackPort()
        let chrony = try ChronyProcess.server(in: directory, port: port)
        defer { chrony.stop() }
        let client = NTPQueryClient(server: .init(host: "127.0.0.1", port: port))
        Thread.sleep(forTimeInterval: 0.5)
        func summary(_ name: String, _ samples: [NTPMeasurement]) {
            func stats(_ values: [Double]) -> String {
                let mean = values.reduce(0, +) / Double(values.count)
                let deviation = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)).squareRoot()
                return String(format: "mean %8.2f µs  sd %7.2f µs", mean * 1e6, deviation * 1e6)
            }
            print("xleave figures: \(name) n=\(samples.count)  offset \(stats(samples.map(\.offset)))  delay \(stats(samples.map(\.delay)))")
        }
        var before: [NTPMeasurement] = []
        for _ in 0..<300 {
            before.append(try client.query())
            Thread.sleep(forTimeInterval: 0.02)
        }
        for enabled in [false, true] {
            var state = InterleavedClient(enabled: enabled)
            var samples: [NTPMeasurement] = []
            for _ in 0..<300 {
                if let measurement = try client.query(interleaved: &state), measurement.interleaved == enabled { samples.append(measurement) }
                Thread.sleep(forTimeInterval: 0.02)
            }
            if enabled {
                XCTAssertGreaterThan(samples.count, 290)
                summary("interleaved (kernel T1..T4)", samples)
            } else {
                summary("basic, kernel T1 and T4", samples)
            }
        }
        summary("basic as before (T1 read before send)", before)
    }
}

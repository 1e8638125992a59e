import Admin
import Foundation
import GPSTestSupport
import NodeModels
import XCTest
@testable import Node

/// Sibling faults on real `fleetnode`s: a sibling killed, a sibling partitioned away (network namespaces this
/// test creates, the link between them taken down), a sibling polling under a key this node rejects. In each
/// case the node keeps serving its own GPS at stratum 1 with leap 0 and a small dispersion, `/v1/health`
/// turns degraded with the reason, `/metrics` and status say so, the log says it once when it starts and once
/// when it clears, and it clears by itself when the fault goes.
final class SiblingFaultTests: XCTestCase {
    /// Still serving honestly: its own GPS at stratum 1, no leap warning, dispersion well under a millisecond.
    private func assertServesHonestly(_ status: NodeStatus, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue(status.serving.synchronized, "\(status.serving)", file: file, line: line)
        XCTAssertEqual(status.serving.stratum, 1, file: file, line: line)
        XCTAssertEqual(status.serving.leap, 0, file: file, line: line)
        XCTAssertLessThan(status.serving.rootDispersionSeconds, 0.001, file: file, line: line)
    }

    private func count(_ text: String, in log: String) -> Int { log.components(separatedBy: text).count - 1 }

    func testKilledSiblingIsReportedOnceAndClearsWhenItReturns() async throws {
        let pkiDirectory = try NodeProcess.makeDirectory()
        defer { try? FileManager.default.removeItem(at: pkiDirectory) }
        let access = try AdminAccess(pki: try TestPKI(directory: pkiDirectory))
        let cluster = try await SiblingCluster.start(testCase: self, count: 2, extra: { index in
            index == 0 ? "[metrics]\nlisten = \"127.0.0.1:0\"\n\n\(access.table)\n" : ""
        })
        defer { cluster.stop() }
        let node = cluster.nodes[0]
        try await waitFor(node, seconds: 30) { $0.serving.stratum == 1 && ($0.siblings.first?.replies ?? 0) >= 2 }
        let name = try await cluster.firstSibling(of: 0).name
        let admin = try AdminClient(node: try await node.adminListener(), credentials: access.credentials)
        let metricsURL = "http://\(try await node.status().metricsListener ?? "")/metrics"

        let logStart = node.log.count
        cluster.node(1)?.signal(SIGKILL)
        cluster.stopNode(1)
        let killed = Date()
        try await waitFor(node, seconds: 15) { $0.siblings.first?.unreachable ?? false }
        let noticed = Date().timeIntervalSince(killed)
        let status = try await node.status()
        assertServesHonestly(status)
        let health = try await admin.get(AdminPath.health, as: AdminHealth.self)
        XCTAssertEqual(health.verdict, .degraded, "\(health)")
        let reason = try XCTUnwrap(health.reasons.first { $0.fault == "sibling-unreachable:\(name)" }, "\(health)")
        XCTAssertTrue(StatusReport.text(status).contains("UNREACHABLE"), StatusReport.text(status))
        XCTAssertTrue(StatusReport.text(status).contains(reason.message.prefix(30)), StatusReport.text(status))
        try await Task.sleep(for: .seconds(4.5))  // several health samples and metric samples (every 2 s)
        var metrics = try PrometheusScrape.scrape(metricsURL)
        XCTAssertEqual(PrometheusScrape.value(metrics, "fleetnode_sibling_reachable{sibling=\(name)}"), 0, metrics.filter { $0.contains("sibling") }.joined(separator: "\n"))
        XCTAssertEqual(PrometheusScrape.value(metrics, "fleetnode_health_fault{fault=sibling-unreachable,subject=\(name)}"), 1)
        XCTAssertEqual(PrometheusScrape.value(metrics, "fleetnode_health{}"), 1)
        XCTAssertEqual(count("health: sibling \(name) unreachable", in: String(node.log.dropFirst(logStart))), 1, "logged once, not per poll: \(node.log)")

        _ = try await cluster.startNode(1)
        try await waitFor(node, seconds: 20) { !($0.siblings.first?.unreachable ?? true) }
        let healed = try await admin.get(AdminPath.health, as: AdminHealth.self)
        XCTAssertFalse(healed.reasons.contains { $0.fault?.hasPrefix("sibling-") ?? false }, "\(healed)")
        assertServesHonestly(try await node.status())
        try await node.waitForLogLine(after: logStart, containing: "health: fault cleared", "sibling-unreachable:\(name)")
        try await Task.sleep(for: .seconds(2.5))
        metrics = try PrometheusScrape.scrape(metricsURL)
        XCTAssertEqual(PrometheusScrape.value(metrics, "fleetnode_sibling_reachable{sibling=\(name)}"), 1)
        XCTAssertEqual(PrometheusScrape.value(metrics, "fleetnode_health_fault{fault=sibling-unreachable,subject=\(name)}"), 0)
        let log = String(node.log.dropFirst(logStart))
        XCTAssertEqual(log.split(separator: "\n").filter { $0.contains("health: fault cleared") && $0.contains("sibling-unreachable:\(name)") }.count, 1, log)
        print("sibling killed: unreachable after \(String(format: "%.1f", noticed)) s; health \(health.verdict.rawValue): \(reason.message); after restart: \(healed.verdict.rawValue)")
    }

    /// Node 0 polls node 1 under key 3, which node 1 does not accept from it: node 1 says its sibling's key is
    /// rejected, node 0 that its sibling does not answer. Node 1 is told to accept key 3 (a reload) and both clear.
    func testSiblingUnderAWrongKeyIsReportedAtBothEndsAndClears() async throws {
        let cluster = try await SiblingCluster.start(testCase: self, count: 2, keys: { index, _ in
            index == 0 ? (key: 3, accept: [1, 3]) : (key: 1, accept: [1])
        }, extra: { index in index == 1 ? "[metrics]\nlisten = \"127.0.0.1:0\"\n" : "" })
        defer { cluster.stop() }
        let (poller, polled) = (cluster.nodes[0], cluster.nodes[1])
        try await waitFor(polled, seconds: 20) { $0.siblings.first?.rejectingSince != nil && $0.serving.stratum == 1 }
        try await waitFor(poller, seconds: 20) { $0.siblings.first?.unreachable ?? false }
        let polledStatus = try await polled.status()
        assertServesHonestly(polledStatus)
        let name = try XCTUnwrap(polledStatus.siblings.first?.name)
        let health = AdminHealth(status: polledStatus, now: Int64(Date().timeIntervalSince1970))
        let reason = try XCTUnwrap(health.reasons.first { $0.fault == "sibling-key-rejected:\(name)" }, "\(health)")
        XCTAssertTrue(reason.message.contains("key 3 is not accepted from this sibling"), reason.message)
        XCTAssertTrue(StatusReport.text(polledStatus).contains("ITS KEY REJECTED"))
        let pollerHealth = AdminHealth(status: try await poller.status(), now: Int64(Date().timeIntervalSince1970))
        XCTAssertTrue(pollerHealth.reasons.contains { $0.fault?.hasPrefix("sibling-unreachable:") ?? false }, "\(pollerHealth)")
        try await Task.sleep(for: .seconds(4.5))
        let listener = try XCTUnwrap(polledStatus.metricsListener)
        var metrics = try PrometheusScrape.scrape("http://\(listener)/metrics")
        XCTAssertEqual(PrometheusScrape.value(metrics, "fleetnode_sibling_key_rejected{sibling=\(name)}"), 1, metrics.filter { $0.contains("sibling") }.joined(separator: "\n"))
        XCTAssertEqual(count("health: sibling \(name) polls under a key this node rejects", in: polled.log), 1, polled.log)

        let logStart = polled.log.count
        try cluster.reconfigure(1, key: 1, accept: [1, 3])
        polled.signal(SIGHUP)
        try await waitFor(polled, seconds: 15) { $0.siblings.first?.rejectingSince == nil }
        try await waitFor(poller, seconds: 15) { !($0.siblings.first?.unreachable ?? true) }
        assertServesHonestly(try await polled.status())
        try await polled.waitForLogLine(after: logStart, containing: "health: fault cleared", "sibling-key-rejected:\(name)")
        try await Task.sleep(for: .seconds(2.5))
        metrics = try PrometheusScrape.scrape("http://\(listener)/metrics")
        XCTAssertEqual(PrometheusScrape.value(metrics, "fleetnode_sibling_key_rejected{sibling=\(name)}"), 0)
        XCTAssertEqual(String(polled.log.dropFirst(logStart)).split(separator: "\n").filter { $0.contains("health: fault cleared") && $0.contains("sibling-key-rejected:\(name)") }.count, 1, polled.log)
        print("sibling under a wrong key: \(reason.message)")
    }

    /// Two nodes in network namespaces of their own, joined by a veth pair; the link goes down (a partition)
    /// and comes back.
    func testPartitionedSiblingIsReportedAndClearsWhenTheLinkReturns() async throws {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") || FileManager.default.isExecutableFile(atPath: "/sbin/ip") else {
            throw XCTSkip("network namespaces need root and ip(8)")
        }
        let ip = FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") ? "/usr/sbin/ip" : "/sbin/ip"
        let tag = String(UUID().uuidString.prefix(6)).lowercased()
        let names = ["sfa\(tag)", "sfb\(tag)"]
        let addresses = ["192.0.2.1", "192.0.2.2"]
        func run(_ arguments: [String]) throws {
            let result = try ExternalTool.run(ip, arguments)
            guard result.status == 0 else { throw NodeStartError(message: "ip \(arguments.joined(separator: " ")): \(result.stderr)") }
        }
        defer { for name in names { _ = try? ExternalTool.run(ip, ["netns", "del", name]) } }
        for name in names { try run(["netns", "add", name]) }
        try run(["link", "add", "va\(tag)", "netns", names[0], "type", "veth", "peer", "name", "vb\(tag)", "netns", names[1]])
        for (index, name) in names.enumerated() {
            let link = index == 0 ? "va\(tag)" : "vb\(tag)"
            try run(["-n", name, "addr", "add", "\(addresses[index])/24", "dev", link])
            try run(["-n", name, "link", "set", link, "up"])
            try run(["-n", name, "link", "set", "lo", "up"])
        }

        let directory = try NodeProcess.makeDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let keyFile = directory.appendingPathComponent("ntp.keys").path
        let hex = (0..<16).map { _ in String(format: "%02X", UInt8.random(in: 0...255)) }.joined()
        try "1 AES128 HEX:\(hex)\n".write(toFile: keyFile, atomically: true, encoding: .utf8)
        chmod(keyFile, 0o600)
        // SHM units 8 and 9 (the cluster tests use 5-7); SHM is machine-wide, network namespaces do not split it.
        let units = [8, 9]
        let feeders = try units.map { try SHMFeeder(unit: $0, offsetNanoseconds: 0) }
        defer { feeders.forEach { $0.stop() } }
        var nodes: [NodeProcess] = []
        defer { nodes.forEach { $0.stop() } }
        for index in 0..<2 {
            nodes.append(try await NodeProcess(config: """
                [ntp]
                listen = ["\(addresses[index]):123"]
                threads = 1
                [keys]
                file = "\(keyFile)"
                [[refclock]]
                name = "GPS"
                driver = "shm"
                unit = \(units[index])
                poll = 2
                [[sibling]]
                address = "\(addresses[1 - index])"
                key = 1
                minpoll = 0
                maxpoll = 0
                iburst = false
                """, launcher: [ip, "netns", "exec", names[index]]))
        }
        for node in nodes {
            try await waitFor(node, seconds: 30) { $0.serving.stratum == 1 && ($0.siblings.first?.replies ?? 0) >= 2 }
        }

        let logStarts = nodes.map { $0.log.count }
        try run(["-n", names[0], "link", "set", "va\(tag)", "down"])
        let cut = Date()
        for node in nodes { try await waitFor(node, seconds: 20) { $0.siblings.first?.unreachable ?? false } }
        let noticed = Date().timeIntervalSince(cut)
        var reasons: [String] = []
        for node in nodes {
            let status = try await node.status()
            assertServesHonestly(status)
            let health = AdminHealth(status: status, now: Int64(Date().timeIntervalSince1970))
            XCTAssertEqual(health.verdict, .degraded, "\(health)")
            let reason = try XCTUnwrap(health.reasons.first { $0.fault?.hasPrefix("sibling-unreachable:") ?? false }, "\(health)")
            reasons.append(reason.message)
            XCTAssertTrue(StatusReport.text(status).contains("UNREACHABLE"))
        }
        try await Task.sleep(for: .seconds(4.5))
        for (node, start) in zip(nodes, logStarts) {
            let lines = String(node.log.dropFirst(start)).split(separator: "\n")
            XCTAssertEqual(lines.filter { $0.contains("health: sibling") && $0.contains("unreachable") }.count, 1, "logged once: \(node.log)")
        }

        try run(["-n", names[0], "link", "set", "va\(tag)", "up"])
        for (node, start) in zip(nodes, logStarts) {
            try await waitFor(node, seconds: 20) { !($0.siblings.first?.unreachable ?? true) }
            try await node.waitForLogLine(after: start, containing: "health: fault cleared", "sibling-unreachable")
        }
        for (node, start) in zip(nodes, logStarts) {
            let status = try await node.status()
            assertServesHonestly(status)
            XCTAssertFalse(AdminHealth(status: status, now: Int64(Date().timeIntervalSince1970)).reasons.contains { $0.fault?.hasPrefix("sibling-") ?? false })
            XCTAssertEqual(String(node.log.dropFirst(start)).split(separator: "\n").filter { $0.contains("health: fault cleared") && $0.contains("sibling-unreachable") }.count, 1, node.log)
        }
        print("sibling partitioned (veth down between two network namespaces): both ends unreachable after \(String(format: "%.1f", noticed)) s: \(reasons)")
    }
}

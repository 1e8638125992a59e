import Admin
import Foundation
import Node
import NodeModels
import XCTest

/// The admin API and the metrics listener under a connection-slot attack: a trickling, reconnecting
/// attacker holds connections from 100 loopback source addresses while a well-behaved client makes 100
/// requests, each on a new connection; at least 99 must complete within 1 s, and the node's descriptors and
/// memory must stay bounded (ISSUE 14). The figures are printed for the README.
final class ListenerFloodTests: XCTestCase {
    var directory: URL!

    override func setUp() async throws {
        directory = try NodeProcess.makeDirectory()
    }

    override func tearDown() async throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func testAdminAPIServesOperatorsUnderConnectionFlood() async throws {
        let pki = try TestPKI(directory: directory)
        let access = try AdminAccess(pki: pki)
        let node = try await NodeProcess(config: """
            [local]
            stratum = 1
            [ntp]
            listen = ["127.0.0.1:0"]
            \(access.table)
            """)
        defer { node.stop() }
        try await waitFor(node) { $0.adminListener != nil }
        let adminListener = try await node.adminListener()
        let port = try XCTUnwrap(Int(adminListener.split(separator: ":").last ?? ""))
        try await flood(node: node, port: port, payload: .tls, pause: 0.05, admin: access.credentials, places: 320)
        XCTAssertTrue(node.log.contains("open-file limit"), "the descriptor limit is logged at start")
    }

    func testMetricsServesScrapesUnderConnectionFlood() async throws {
        let node = try await NodeProcess(config: """
            [local]
            stratum = 1
            [ntp]
            listen = ["127.0.0.1:0"]
            [metrics]
            listen = "127.0.0.1:0"
            """)
        defer { node.stop() }
        try await waitFor(node) { $0.metricsListener != nil }
        let status = try await node.status()
        let listener = try XCTUnwrap(status.metricsListener)
        let port = try XCTUnwrap(Int(listener.split(separator: ":").last ?? ""))
        // A scraper is not authenticated: its own source's rate (2 a second) bounds how fast it may ask.
        try await flood(node: node, port: port, payload: .http, pause: 0.5, admin: nil, places: 128)
        let metrics = try PrometheusScrape.scrape("http://\(listener)/metrics")
        XCTAssertTrue(metrics.contains { $0.hasPrefix("fleetnode_connections_refused_total{listener=metrics") }, "refusals are counted")
    }

    /// At the descriptor limit (the node started under `prlimit --nofile=64`), a listener whose accepts fail
    /// backs off instead of retrying at once: little CPU while 120 connections wait, the failures counted and
    /// logged once per episode, and scrapes served again once the connections go.
    func testDescriptorLimitBacksOffInsteadOfSpinning() async throws {
        let prlimit = "/usr/bin/prlimit"
        guard FileManager.default.isExecutableFile(atPath: prlimit) else { throw XCTSkip("no \(prlimit)") }
        let node = try await NodeProcess(config: """
            [local]
            stratum = 1
            [ntp]
            listen = ["127.0.0.1:0"]
            [metrics]
            listen = "127.0.0.1:0"
            """, launcher: [prlimit, "--nofile=64:64"])
        defer { node.stop() }
        try await waitFor(node) { $0.metricsListener != nil }
        let status = try await node.status()
        let listener = try XCTUnwrap(status.metricsListener)
        let port = try XCTUnwrap(Int(listener.split(separator: ":").last ?? ""))
        let pid = node.process.processIdentifier
        let attack = try ConnectionFlood.attack(port: port, addresses: 30, perAddress: 4, seconds: 30, payload: .http, in: directory)
        defer { attack.stop() }
        try await Task.sleep(for: .seconds(3))
        let before = Self.cpuTicks(pid)
        try await Task.sleep(for: .seconds(4))
        let ticks = Self.cpuTicks(pid) - before
        let held = ProcessFootprint(pid: pid)
        attack.stop()
        // Health says so (failed accepts in the last 10 s), status and metrics too, and the log once.
        try await Task.sleep(for: .seconds(2.5))
        let atLimit = try await node.status()
        let health = AdminHealth(status: atLimit, now: Int64(Date().timeIntervalSince1970))
        let reason = health.reasons.first { $0.fault == "descriptor-limit" }
        XCTAssertNotNil(reason, "\(health)")
        XCTAssertTrue(StatusReport.text(atLimit).contains("LIMIT REACHED"), StatusReport.text(atLimit))
        XCTAssertEqual(atLimit.descriptors?.limit, 64)
        let during = try PrometheusScrape.scrape("http://\(listener)/metrics")
        XCTAssertEqual(PrometheusScrape.value(during, "fleetnode_descriptor_limit_reached{}"), 1, during.filter { $0.contains("descriptor") }.joined(separator: "\n"))
        XCTAssertEqual(PrometheusScrape.value(during, "fleetnode_health_fault{fault=descriptor-limit,subject=}"), 1)
        XCTAssertEqual(node.log.components(separatedBy: "health: descriptor limit reached").count - 1, 1, "logged once: \(node.log)")
        // No failed accept for 10 s: it clears by itself.
        try await waitFor(node, seconds: 20) { !($0.descriptors?.atLimit(now: Date().timeIntervalSince1970) ?? true) }
        try await node.waitForLogLine(after: 0, containing: "health: fault cleared", "descriptor-limit")
        let cleared = try await node.status()
        XCTAssertFalse(AdminHealth(status: cleared, now: Int64(Date().timeIntervalSince1970)).reasons.contains { $0.fault == "descriptor-limit" })
        XCTAssertLessThan(cleared.descriptors?.open ?? 99, 40, "the connections' descriptors are back")
        XCTAssertTrue(node.log.split(separator: "\n").contains { $0.contains("health: fault cleared") && $0.contains("descriptor-limit") }, node.log)
        print("descriptor limit: health while at the limit: \(reason?.message ?? "-"); open after: \(cleared.descriptors?.open ?? -1)")
        let metrics = try PrometheusScrape.scrape("http://\(listener)/metrics")
        let backoffs = PrometheusScrape.value(metrics, "fleetnode_accept_backoffs_total{listener=metrics}") ?? 0
        print("descriptor limit 64: \(held); node CPU \(ticks) ticks (1/100 s) in 4 s; \(Int(backoffs)) accepts backed off")
        XCTAssertLessThan(ticks, 150, "no busy loop: under 1.5 s of CPU in 4 s")
        XCTAssertGreaterThan(backoffs, 0, "counted")
        XCTAssertLessThan(backoffs, 200, "about one a second, not thousands")
        XCTAssertTrue(node.log.contains("cannot accept connections"), node.log)
    }

    static func cpuTicks(_ pid: Int32) -> Int {
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
        let fields = stat.split(separator: ")").last?.split(separator: " ") ?? []
        return fields.count > 12 ? (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0) : 0
    }

    /// 1,000 attacker connections from 100 addresses; the good client's 100 tries while they are held.
    /// `places`: the listener's budget (admin 320, metrics 128): the node may hold that many connections, no more.
    private func flood(node: NodeProcess, port: Int, payload: ConnectionFlood.Payload, pause: Double, admin: AdminCredentials?, places: Int) async throws {
        let pid = node.process.processIdentifier
        let before = ProcessFootprint(pid: pid)
        let attack = try ConnectionFlood.attack(port: port, addresses: 100, perAddress: 10, seconds: 75, payload: payload, in: directory)
        defer { attack.stop() }
        try await Task.sleep(for: .seconds(4))
        let ramped = ProcessFootprint(pid: pid)
        let started = Date()
        let good = try ConnectionFlood.goodClient(port: port, tries: 100, pause: pause, admin: admin)
        // Several samples while the attack still runs: at ~25,000 connects a second, sockets accepted and not
        // yet screened or closed and not yet released come and go between samples.
        var samples: [ProcessFootprint] = []
        for _ in 0..<7 {
            samples.append(ProcessFootprint(pid: pid))
            try await Task.sleep(for: .milliseconds(300))
        }
        let during = samples.min { $0.descriptors < $1.descriptors } ?? ProcessFootprint(pid: pid)
        let busiest = samples.map(\.descriptors).max() ?? during.descriptors
        let goodSeconds = Int(Date().timeIntervalSince(started))
        let attacker = attack.last
        let peak = attack.peakOpen
        attack.stop()
        try await Task.sleep(for: .seconds(6))
        let after = ProcessFootprint(pid: pid)
        let figures = """
            \(payload == .tls ? "admin API" : "metrics"): attacker peak \(peak) connections open on its side \
            (100 addresses x 10), \(attacker["connects"] ?? 0) connects, \(attacker["closes"] ?? 0) closed by the node; \
            good client \(good.ok)/100 within 1 s (in \(goodSeconds) s), median \(Int((good.median ?? 0) * 1000)) ms, \
            p99 \(Int((good.p99 ?? 0) * 1000)) ms, max \(Int((good.max ?? 0) * 1000)) ms; \
            node before: \(before); after 4 s of attack: \(ramped); at the end: \(during) (busiest sample \(busiest) descriptors); 6 s after: \(after)
            """
        print(figures)
        XCTAssertGreaterThanOrEqual(good.ok, 99, "\(figures)\nfailures: \(good.failures)")
        XCTAssertGreaterThanOrEqual(peak, 500, "the attacker held its connections: \(figures)")
        // Every place taken (an idle machine fills all of them within the 4 s) plus a few in passing: accepted
        // and not yet screened, or closed and not yet released. The quietest sample shows the budget; even the
        // busiest stays far below the attacker's ~1,000 connections.
        XCTAssertLessThan(during.descriptors, before.descriptors + places + 16, "descriptors bounded by the \(places) places: \(figures)")
        XCTAssertLessThan(busiest, before.descriptors + 2 * places, "descriptors in passing bounded too: \(figures)")
        XCTAssertLessThan(during.residentKiB, before.residentKiB + 100 * 1024, "memory bounded: \(figures)")
        XCTAssertLessThan(after.descriptors, before.descriptors + 20, "descriptors released: \(figures)")
        XCTAssertTrue(node.process.isRunning)
    }
}

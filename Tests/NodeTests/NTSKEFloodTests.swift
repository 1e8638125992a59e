import FleetCrypto
import Foundation
import NTSKE
import XCTest

/// The NTS-KE listener under a connection-slot attack (ISSUE 14): a trickling, reconnecting attacker holds
/// connections from 100 loopback source addresses (127.1.0.1-100, 10 each, one byte of a ClientHello every
/// half second) while well-behaved clients establish NTS-KE sessions, each on a new connection: the project's
/// own NTS-KE client 100 times (at least 99 within 1 s), then chrony as a one-shot NTS client. The node's
/// descriptors and memory must stay bounded, and each kind of refusal, eviction and deadline is counted.
/// The node runs with the default NTS-KE limits. The figures are printed for the README.
final class NTSKEFloodTests: XCTestCase {
    var directory: URL!

    override func setUp() async throws {
        directory = try NodeProcess.makeDirectory()
    }

    override func tearDown() async throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func testNTSKEServesClientsUnderConnectionFlood() async throws {
        let certificate = try TestCertificate.make(in: directory)
        let node = try await NodeProcess(config: """
            [local]
            stratum = 1
            [ntp]
            listen = ["127.0.0.1:0"]
            \(certificate.ntsTable(keyFile: directory.appendingPathComponent("keys/cookie-keys").path))
            """)
        defer { node.stop() }
        let port = try await node.ntsKEPort()
        let trust = try TLSContext.client(trustedCertificates: certificate.certificate, alpn: NTSKEServer.alpn)
        let ciphers = NettleCipherFactory()
        // One session first, so that the client's own first-use costs are not counted against the node.
        _ = try await NTSKEClient.establish(host: "127.0.0.1", port: port, trust: trust, ciphers: ciphers)

        let pid = node.process.processIdentifier
        let before = ProcessFootprint(pid: pid)
        let attack = try ConnectionFlood.attack(port: Int(port), addresses: 100, perAddress: 10, seconds: 75, payload: .tls, in: directory)
        defer { attack.stop() }
        try await Task.sleep(for: .seconds(4))
        let ramped = ProcessFootprint(pid: pid)
        let heldByNode = try await node.status().nts?.activeConnections ?? 0

        let ticksBefore = ListenerFloodTests.cpuTicks(pid)
        var latencies: [Double] = []
        var failures: [String] = []
        let started = ContinuousClock.now
        for _ in 0..<100 {
            let start = ContinuousClock.now
            do {
                let result = try await NTSKEClient.establish(
                    host: "127.0.0.1", port: port, trust: trust, ciphers: ciphers, timeout: .seconds(1))
                let elapsed = (ContinuousClock.now - start).seconds
                if result.cookies.count == 8 && elapsed <= 1 {
                    latencies.append(elapsed)
                } else {
                    failures.append("\(result.cookies.count) cookies after \(elapsed) s")
                }
            } catch {
                failures.append("\(error) after \((ContinuousClock.now - start).seconds) s")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        let goodSeconds = (ContinuousClock.now - started).seconds
        let nodeCPU = Double(ListenerFloodTests.cpuTicks(pid) - ticksBefore) / 100 / goodSeconds
        let during = ProcessFootprint(pid: pid)

        // chrony as a one-shot NTS client (NTS-KE, then NTS-protected NTP), while the attack goes on.
        var chronyRuns: [String] = []
        var chronyOK = 0
        if let chronyd = try? ExternalTool.require("chronyd", package: "chrony"),
           let setpriv = try? ExternalTool.require("setpriv", package: "util-linux") {
            for run in 0..<5 {
                let start = ContinuousClock.now
                let result = try ExternalTool.run(setpriv, [
                    "--bounding-set=-sys_time", chronyd, "-Q", "-t", "5", "-u", "root", "-f", "/dev/null",
                    "server 127.0.0.1 nts ntsport \(port) iburst minpoll -6 maxpoll -6 maxsamples 1",
                    "ntstrustedcerts \(certificate.certificate)", "pidfile \(directory.path)/chronyd-\(run).pid",
                ], timeout: 20)
                let elapsed = (ContinuousClock.now - start).seconds
                if result.status == 0 && result.stderr.contains("System clock wrong by") { chronyOK += 1 }
                chronyRuns.append(String(format: "%.2f s%@", elapsed, result.status == 0 ? "" : " (exit \(result.status))"))
            }
        }

        let attacker = attack.last
        let peak = attack.peakOpen
        let counters = try await node.status().nts?.ntske
        attack.stop()
        try await Task.sleep(for: .seconds(4))
        let after = ProcessFootprint(pid: pid)
        let statusAfter = try await node.status()

        latencies.sort()
        func ms(_ value: Double?) -> Int { Int((value ?? 0) * 1000) }
        let median: Double? = latencies.isEmpty ? nil : latencies[latencies.count / 2]
        let p99: Double? = latencies.isEmpty ? nil : latencies[max(0, Int(Double(latencies.count) * 0.99) - 1)]
        let figures = """
            NTS-KE: attacker peak \(peak) connections open on its side (100 addresses x 10), \
            \(attacker["connects"] ?? 0) connects, \(attacker["closes"] ?? 0) closed by the node; node held \(heldByNode) after 4 s; \
            NTSKEClient \(latencies.count)/100 sessions within 1 s (in \(Int(goodSeconds)) s), median \(ms(median)) ms, \
            p99 \(ms(p99)) ms, max \(ms(latencies.max())) ms, node CPU \(String(format: "%.2f", nodeCPU)) cores meanwhile; chrony -Q \(chronyOK)/\(chronyRuns.count) OK (\(chronyRuns.joined(separator: ", "))); \
            node before: \(before); after 4 s of attack: \(ramped); at the end: \(during); 4 s after: \(after); \
            counters: \(counters.map { "\($0)" } ?? "-")
            """
        print(figures)
        XCTAssertGreaterThanOrEqual(latencies.count, 99, "\(figures)\nfailures: \(failures)")
        XCTAssertEqual(chronyOK, chronyRuns.count, figures)
        XCTAssertGreaterThanOrEqual(peak, 500, "the attacker held its connections: \(figures)")
        XCTAssertLessThan(during.descriptors, before.descriptors + 300, "descriptors bounded: \(figures)")
        XCTAssertLessThan(during.residentKiB, before.residentKiB + 100 * 1024, "memory bounded: \(figures)")
        XCTAssertLessThan(after.descriptors, before.descriptors + 20, "descriptors released: \(figures)")
        XCTAssertEqual(statusAfter.nts?.activeConnections, 0, "every place given back")
        let ke = try XCTUnwrap(counters)
        XCTAssertGreaterThan(ke.refused, 0, "sources over their cap or rate refused at accept")
        XCTAssertGreaterThan(ke.handshakeTimeouts, 0, "trickled handshakes closed at the deadline from accept")
        XCTAssertEqual(ke.timeouts, ke.handshakeTimeouts, "no request was trickled")
        XCTAssertTrue(node.process.isRunning)
    }

    /// At the descriptor limit (the node started under `prlimit --nofile=64`), NTS-KE's accepts fail and the
    /// listener backs off instead of retrying at once: little CPU while 120 connections wait, the failures
    /// counted in NTS-KE's status and logged, and sessions served again once the connections go.
    func testDescriptorLimitBacksOffInsteadOfSpinning() async throws {
        let prlimit = "/usr/bin/prlimit"
        guard FileManager.default.isExecutableFile(atPath: prlimit) else { throw XCTSkip("no \(prlimit)") }
        let certificate = try TestCertificate.make(in: directory)
        let node = try await NodeProcess(config: """
            [local]
            stratum = 1
            [ntp]
            listen = ["127.0.0.1:0"]
            \(certificate.ntsTable(keyFile: directory.appendingPathComponent("keys/cookie-keys").path))
            """, launcher: [prlimit, "--nofile=64:64"])
        defer { node.stop() }
        let port = try await node.ntsKEPort()
        let pid = node.process.processIdentifier
        let attack = try ConnectionFlood.attack(port: Int(port), addresses: 30, perAddress: 4, seconds: 30, payload: .tls, in: directory)
        defer { attack.stop() }
        try await Task.sleep(for: .seconds(3))
        let before = ListenerFloodTests.cpuTicks(pid)
        try await Task.sleep(for: .seconds(4))
        let ticks = ListenerFloodTests.cpuTicks(pid) - before
        let held = ProcessFootprint(pid: pid)
        attack.stop()
        try await Task.sleep(for: .seconds(4))
        let status = try await node.status()
        let backoffs = status.nts?.ntske.acceptBackoffs ?? 0
        XCTAssertEqual(status.descriptors?.acceptFailures, backoffs, "the node's descriptor status counts NTS-KE's failed accepts")
        print("NTS-KE at descriptor limit 64: \(held); node CPU \(ticks) ticks (1/100 s) in 4 s; \(backoffs) accepts backed off")
        XCTAssertLessThan(ticks, 150, "no busy loop: under 1.5 s of CPU in 4 s")
        XCTAssertGreaterThan(backoffs, 0, "counted in NTS-KE's status")
        XCTAssertLessThan(backoffs, 200, "about one a second, not thousands")
        XCTAssertTrue(node.log.contains("cannot accept connections"), node.log)
        let trust = try TLSContext.client(trustedCertificates: certificate.certificate, alpn: NTSKEServer.alpn)
        let result = try await NTSKEClient.establish(host: "127.0.0.1", port: port, trust: trust, ciphers: NettleCipherFactory())
        XCTAssertEqual(result.cookies.count, 8, "served again once the connections are gone")
    }
}

extension Duration {
    /// In seconds, as a Double.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

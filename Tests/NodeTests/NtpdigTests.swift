import Foundation
import XCTest

/// NTPsec's ntpdig (SNTP client, always port 123) queries a node inside a network namespace of the test's
/// own, so port 123 of this machine is never touched.
final class NtpdigTests: XCTestCase {
    func testNtpdigInNetworkNamespaceOnPort123() async throws {
        let ip = try ExternalTool.require("ip", package: "iproute2")
        let ntpdig = try ExternalTool.require("ntpdig", package: "ntpsec-ntpdig")
        let namespace = "fleettest\(getpid())"
        let added = try ExternalTool.run(ip, ["netns", "add", namespace])
        guard added.status == 0 else {
            // Developers without root may skip; CI runs as root and must run this test.
            if ProcessInfo.processInfo.environment["CI"] != nil { XCTFail("cannot create a network namespace: \(added.stderr)") }
            throw XCTSkip("cannot create a network namespace here (needs root): \(added.stderr)")
        }
        defer { NetworkNamespace.delete(namespace, ip: ip) }
        XCTAssertEqual(try ExternalTool.run(ip, ["-n", namespace, "link", "set", "lo", "up"]).status, 0)

        let node = try await NodeProcess(config: """
            [local]
            stratum = 2
            [ntp]
            listen = ["127.0.0.1:123", "[::1]:123"]
            """, launcher: [ip, "netns", "exec", namespace])
        defer { node.stop() }

        for server in ["127.0.0.1", "::1"] {
            let result = try ExternalTool.run(ip, ["netns", "exec", namespace, ntpdig, "-t", "2", server], timeout: 20)
            XCTAssertEqual(result.status, 0, "ntpdig \(server): \(result.stdout) \(result.stderr)")
            // e.g. "2026-11-21 10:00:00.123456 (+0000) +0.000012 +/- 0.000034 127.0.0.1 s2 no-leap"
            XCTAssertTrue(result.stdout.contains(" s2 "), "ntpdig did not see stratum 2: \(result.stdout)")
            XCTAssertTrue(result.stdout.contains("no-leap"), result.stdout)
        }
        let status = try await node.status()
        XCTAssertEqual(status.ntp.answered, status.ntp.received)
        XCTAssertGreaterThanOrEqual(status.ntp.answered, 2)
    }
}

enum NetworkNamespace {
    /// Kills what still runs in the namespace (by PID), then deletes it.
    static func delete(_ name: String, ip: String) {
        if let pids = try? ExternalTool.run(ip, ["netns", "pids", name]) {
            for pid in pids.stdout.split(separator: "\n").compactMap({ Int32($0) }) { kill(pid, SIGKILL) }
        }
        _ = try? ExternalTool.run(ip, ["netns", "del", name])
    }
}

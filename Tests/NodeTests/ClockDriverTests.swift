import NodeModels
import Foundation
import Node
import XCTest

/// The clock drivers and the drift file, through the real executable. No test here (or anywhere) gives the
/// node CAP_SYS_TIME: the system clock driver is only ever seen refusing to start.
final class ClockDriverTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = try NodeProcess.makeDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    /// `driver = "system"` without CAP_SYS_TIME (dropped from the bounding set, as the cookbook runs chronyd):
    /// the node refuses to start and says what it needs, instead of serving with a clock it cannot steer.
    func testSystemDriverWithoutCapSysTimeRefusesToStart() throws {
        let setpriv = try ExternalTool.require("setpriv", package: "util-linux")
        let config = directory.appendingPathComponent("node.toml")
        try """
            [node]
            status_socket = "\(directory.path)/status.sock"
            [clock]
            driver = "system"
            [ntp]
            listen = ["127.0.0.1:0"]
            [[server]]
            address = "127.0.0.1:9"
            """.write(to: config, atomically: true, encoding: .utf8)
        let node = NodeProcess.binDirectory.appendingPathComponent("fleetnode").path
        let result = try ExternalTool.run(setpriv, ["--bounding-set=-sys_time", node, "run", "--config", config.path], timeout: 20)
        XCTAssertFalse(result.timedOut)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue((result.stderr + result.stdout).contains("CAP_SYS_TIME"), result.stderr + result.stdout)
    }

    /// The frequency is written to the drift file at shutdown (chrony's driftfile format: ppm and skew) and
    /// restored at the next start; a damaged drift file is reported and ignored, never fatal.
    func testDriftFileIsWrittenAndRestored() async throws {
        let port = freeLoopbackPort()
        let chrony = try ChronyProcess.server(in: directory, port: port)
        defer { chrony.stop() }
        let drift = directory.appendingPathComponent("drift").path
        let config = """
            [clock]
            drift_file = "\(drift)"
            [ntp]
            listen = ["127.0.0.1:0"]
            [[server]]
            address = "127.0.0.1:\(port)"
            minpoll = -1
            maxpoll = -1
            """
        var node: NodeProcess? = try await NodeProcess(config: config)
        try await waitFor(node!, seconds: 30) { ($0.timekeeping?.tracking.updates ?? 0) >= 4 }
        XCTAssertEqual(node!.stop(), 0)
        node = nil
        let text = try String(contentsOfFile: drift, encoding: .utf8)
        let fields = text.split(separator: " ").compactMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        XCTAssertEqual(fields.count, 2, text)
        XCTAssertLessThan(abs(fields.first ?? 1_000), 500)

        let restarted = try await NodeProcess(config: config)
        defer { _ = restarted.stop() }
        try await waitFor(restarted) { _ in restarted.log.contains("frequency restored from the drift file") }

        try "garbage\n".write(toFile: drift, atomically: true, encoding: .utf8)
        let third = try await NodeProcess(config: config)
        defer { _ = third.stop() }
        try await waitFor(third) { _ in third.log.contains("ignoring the drift file") }
    }
}

/// Reference-clock and leap-file failure modes as an operator meets them in status.
final class TimekeepingStatusTests: XCTestCase {
    /// A PPS device that does not exist (there is none on this machine): the node runs, the refclock shows
    /// the error in words, and the source stays unusable.
    func testMissingPPSDeviceIsReportedNotFatal() async throws {
        let node = try await NodeProcess(config: """
            [ntp]
            listen = ["127.0.0.1:0"]
            [[refclock]]
            name = "GPS"
            driver = "gpsd"
            gpsd = "127.0.0.1:\(freeLoopbackPort())"
            [[refclock]]
            name = "PPS"
            driver = "pps"
            device = "/dev/pps7"
            lock = "GPS"
            """)
        defer { _ = node.stop() }
        try await waitFor(node) { status in
            (status.timekeeping?.refclocks.first { $0.name == "PPS" }?.note ?? "").contains("/dev/pps7")
        }
        let status = try await node.status()
        let pps = try XCTUnwrap(status.timekeeping?.refclocks.first { $0.name == "PPS" })
        XCTAssertFalse(pps.connected)
        XCTAssertGreaterThan(pps.errors, 0)
        XCTAssertEqual(status.timekeeping?.sources.first { $0.id.name == "PPS" }?.state, .unusable)
        XCTAssertFalse(status.serving.synchronized)
        XCTAssertTrue(StatusReport.text(status).contains("Refclock PPS"))
    }

    /// The IETF leap-seconds.list is loaded with its hash checked and its expiry shown; a copy with one
    /// digit changed is refused (hash mismatch) and reported, and the node still runs.
    func testLeapFileIsCheckedAndReported() async throws {
        let real = "/usr/share/zoneinfo/leap-seconds.list"
        guard FileManager.default.fileExists(atPath: real) else { throw XCTSkip("no \(real) (Debian package tzdata)") }
        let good = try await NodeProcess(config: """
            [clock]
            leap_file = "\(real)"
            [ntp]
            listen = ["127.0.0.1:0"]
            [[server]]
            address = "127.0.0.1:9"
            """)
        defer { _ = good.stop() }
        let goodStatus = try await good.status()
        let leap = try XCTUnwrap(goodStatus.timekeeping?.leap)
        XCTAssertNil(leap.note)
        XCTAssertNotNil(leap.expires)
        XCTAssertEqual(leap.mode, "step")

        let tampered = good.directory.appendingPathComponent("leap-seconds.list").path
        var text = try String(contentsOfFile: real, encoding: .utf8)
        // One digit of the "last update" line: only the SHA-1 in the file can tell.
        let updateLine = try XCTUnwrap(text.range(of: "#$\t"))
        let digit = text.index(updateLine.upperBound, offsetBy: 9)
        text.replaceSubrange(digit...digit, with: text[digit] == "1" ? "2" : "1")
        try text.write(toFile: tampered, atomically: true, encoding: .utf8)
        let bad = try await NodeProcess(config: """
            [clock]
            leap_file = "\(tampered)"
            [ntp]
            listen = ["127.0.0.1:0"]
            [[server]]
            address = "127.0.0.1:9"
            """)
        defer { _ = bad.stop() }
        let badStatus = try await bad.status()
        let refused = try XCTUnwrap(badStatus.timekeeping?.leap)
        XCTAssertTrue(refused.note?.lowercased().contains("hash") ?? false, "a table that fails its hash is not used: \(refused)")
        XCTAssertNil(refused.expires)
    }
}

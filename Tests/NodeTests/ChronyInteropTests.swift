import Foundation
import XCTest

/// Debian's chrony 4.3, the client most of our users run, gets time from a node.
final class ChronyInteropTests: XCTestCase {
    func testChronyOneShotClientAcceptsTheNodeAndSeesItsStratum() async throws {
        let chronyd = try ExternalTool.require("chronyd", package: "chrony")
        let setpriv = try ExternalTool.require("setpriv", package: "util-linux")
        let node = try await NodeProcess(config: """
            [local]
            stratum = 4
            [ntp]
            listen = ["127.0.0.1:0"]
            """)
        let port = try await node.port(of: "127.0.0.1")
        let logs = node.directory.appendingPathComponent("chrony")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)

        // -Q: query only, never set the clock; without CAP_SYS_TIME in the bounding set it could not anyway.
        let result = try ExternalTool.run(setpriv, [
            "--bounding-set=-sys_time", chronyd, "-Q", "-t", "10", "-u", "root", "-f", "/dev/null",
            "server 127.0.0.1 port \(port) iburst minpoll -6 maxpoll -6 maxsamples 4",
            "pidfile \(logs.path)/chronyd.pid", "logdir \(logs.path)", "log measurements",
        ], timeout: 30)
        XCTAssertEqual(result.status, 0, "chronyd -Q failed: \(result.stdout) \(result.stderr)\nnode log: \(node.log)")
        XCTAssertTrue(result.stderr.contains("System clock wrong by") || result.stdout.contains("System clock wrong by"),
                      "chronyd did not report a measurement: \(result.stderr)")

        // measurements.log: Date Time IP-address L St 123 567 ABCD LP RP Score Offset ...
        let measurements = try String(contentsOf: logs.appendingPathComponent("measurements.log"), encoding: .utf8)
        let samples = measurements.split(separator: "\n").filter { $0.contains("127.0.0.1") }
        XCTAssertFalse(samples.isEmpty, measurements)
        for sample in samples {
            let columns = sample.split(separator: " ", omittingEmptySubsequences: true)
            XCTAssertEqual(columns[3], "N", "leap indicator as chrony read it: \(sample)")
            XCTAssertEqual(columns[4], "4", "stratum as chrony read it: \(sample)")
            XCTAssertEqual(columns[5], "111", "chrony's packet tests 1-3 all pass: \(sample)")
            XCTAssertEqual(columns[6], "111", "chrony's packet tests 5-7 all pass: \(sample)")
        }
        let status = try await node.status()
        XCTAssertGreaterThanOrEqual(status.ntp.answered, UInt64(samples.count))
        XCTAssertEqual(status.ntp.droppedTotal, 0)
    }
}

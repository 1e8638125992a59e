import Fleet
import Foundation
import GPSTestSupport
import Node
import NTPCore
import TimeCore
import XCTest

/// Real gpsd + gpsfake replaying generated NMEA across timescale hazards, with a real `fleetnode` following
/// it on its software clock (the machine's clock is never touched): the 2038-01-19T03:14:08Z crossing (2^31
/// Unix seconds, twelve years ahead of this machine) and a GPS week-number rollover (the receiver jumps
/// 1024 weeks back). The replayed log is timed against the machine's clock as GPSSourceTests does.
final class GPSTimescaleTests: XCTestCase {
    var directory: TestDirectory!
    var processes: [TestProcess] = []

    override func setUpWithError() throws {
        guard ExternalTool.find("gpsfake") != nil, ExternalTool.find("gpsd") != nil else {
            throw XCTSkip("gpsd and gpsfake are not installed (Debian packages gpsd, gpsd-clients)")
        }
        directory = try TestDirectory(prefix: "node-gps-timescale")
    }

    override func tearDown() {
        for process in processes { process.terminate() }
        directory?.remove()
    }

    /// gpsfake replaying `seconds` epochs; epoch i (delivered about i s after launch + 1.7 s) names
    /// `name(i)` (Unix seconds).
    func replay(port: UInt16, seconds: Int, name: (Int) -> Int64) throws {
        let generator = NMEAGenerator()
        let log = (0..<seconds).map { generator.epoch(second: name($0)).joined() }.joined()
        let file = directory.file("replay-\(port).nmea")
        try log.write(toFile: file, atomically: true, encoding: .utf8)
        let cycle = String(format: "%.4f", 1.0 / Double(generator.sentencesPerEpoch))
        processes.append(try TestProcess(
            ["unshare", "--ipc", "timeout", "-k", "2", "\(seconds + 30)", "gpsfake", "-q", "-n", "-1", "-c", cycle, "-P", "\(port)", file],
            logPath: directory.file("gpsfake-\(port).log")))
    }

    func node(gpsd port: UInt16) async throws -> NodeProcess {
        // max_first_step = 0: the first step (twelve years for the 2038 test) is taken whatever the state of
        // this machine's kernel clock, so the test does not depend on it.
        try await NodeProcess(config: """
            [ntp]
            listen = ["127.0.0.1:0"]
            [clock]
            max_first_step = 0
            holdover_limit = 3600
            [[refclock]]
            name = "GPS"
            driver = "gpsd"
            gpsd = "127.0.0.1:\(port)"
            poll = 2
            offset = 0.05
            """)
    }

    /// The replayed GPS crosses 2038-01-19T03:14:08Z: the node serves stratum 1 on both sides, and the
    /// served time (read by NTP queries once a second) keeps one offset from the machine's clock throughout:
    /// no 2^32 s step, no drop, no jump.
    func testFollowsGPSAcross2038() async throws {
        let port = try LoopbackTCP.freePort()
        let crossing: Int64 = 1 << 31
        // The crossing comes 25 s into the replay: long enough to lock first.
        try replay(port: port, seconds: 70) { crossing - 25 + Int64($0) }
        let expectedOffset = Double(crossing - 25) - (Date().timeIntervalSince1970 + 1.7)
        let node = try await node(gpsd: port)
        defer { _ = node.stop() }
        try await waitFor(node, seconds: 30) { $0.serving.synchronized && $0.timekeeping?.tracking.selected?.name == "GPS" }
        let endpoint = SocketEndpoint(host: "127.0.0.1", port: try await node.port(of: "127.0.0.1"))
        var offsets: [Double] = []
        var servedSeconds: [Double] = []
        let end = Date().addingTimeInterval(40)
        while Date() < end {
            let answer = try NTPQueryClient(server: endpoint).query()
            XCTAssertEqual(answer.stratum, 1)
            XCTAssertEqual(answer.leap, .noWarning)
            offsets.append(answer.offset)
            servedSeconds.append(Date().timeIntervalSince1970 + answer.offset)
            try await Task.sleep(for: .seconds(1))
        }
        XCTAssertEqual(offsets.first ?? 0, expectedOffset, accuracy: 2, "following the replayed 2038 time")
        XCTAssertLessThan(servedSeconds.min() ?? .infinity, Double(crossing), "served before the crossing")
        XCTAssertGreaterThan(servedSeconds.max() ?? 0, Double(crossing) + 5, "and after it")
        // gpsfake's sentence quantisation (1/6 s) moves the filtered GPS time by such steps: 0.5 s is far
        // below a 2^32 s (or any whole-second) step.
        XCTAssertLessThan((offsets.max() ?? 0) - (offsets.min() ?? 0), 0.5, "one offset throughout: \(offsets)")
        let status = try await node.status()
        XCTAssertEqual(status.serving.stratum, 1)
        XCTAssertEqual(status.timekeeping?.sources.first?.droppedJumped, 0)
        print(StatusReport.text(status))
    }

    /// The receiver rolls its week number over mid-replay (1024 weeks back): the node refuses the new
    /// time with the reason (below the build-date floor, "1024 weeks later would be ..."), counts every
    /// refused sample, keeps serving its own time in holdover at stratum 1 and never serves the 2006-2007 date.
    func testWeekNumberRolloverIsRefusedAndHeldOver() async throws {
        let port = try LoopbackTCP.freePort()
        let start = Int64((Date().timeIntervalSince1970 + 1.7).rounded()) + 30
        let rollover: Int64 = 1024 * 604_800
        try replay(port: port, seconds: 80) { start + Int64($0) - ($0 >= 25 ? rollover : 0) }
        let node = try await node(gpsd: port)
        defer { _ = node.stop() }
        try await waitFor(node, seconds: 30) { $0.serving.synchronized && $0.timekeeping?.tracking.selected?.name == "GPS" }
        let endpoint = SocketEndpoint(host: "127.0.0.1", port: try await node.port(of: "127.0.0.1"))
        let before = try NTPQueryClient(server: endpoint).query()
        XCTAssertEqual(before.offset, 30, accuracy: 1.5)
        try await waitFor(node, seconds: 40) { ($0.timekeeping?.sources.first?.dropped ?? 0) >= 5 }
        try await Task.sleep(for: .seconds(5))
        let status = try await node.status()
        let gps = try XCTUnwrap(status.timekeeping?.sources.first)
        let note = gps.note ?? "-"
        XCTAssertTrue(note.contains("before the floor") && note.contains("1024 weeks later would be"), note)
        XCTAssertEqual(gps.dropped, gps.droppedBelowFloor ?? 0)
        XCTAssertGreaterThanOrEqual(gps.droppedBelowFloor ?? 0, 5)
        XCTAssertNotNil(status.timekeeping?.tracking.holdoverSeconds, "holding over")
        let during = try NTPQueryClient(server: endpoint).query()
        XCTAssertEqual(during.stratum, 1)
        XCTAssertEqual(during.leap, .noWarning)
        XCTAssertEqual(during.offset, before.offset, accuracy: 0.25, "served time carries on; the rolled-back date is never served")
        XCTAssertTrue(node.log.contains("before the floor"), "the refusal is logged")
        print(StatusReport.text(status))
    }
}

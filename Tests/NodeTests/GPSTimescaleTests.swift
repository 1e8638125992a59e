import FleetCrypto
import NetworkEdges
import NodeModels
import Foundation
import GPSTestSupport
import Node
import NTPCore
import TimeCore
import XCTest

/// Real gpsd + gpsfake replaying generated NMEA across timescale hazards, with a real `fleetnode` following
/// it on its software clock (the machine's clock is never touched): the NTP era rollover (2036-02-07), the
/// 2038-01-19T03:14:08Z crossing (2^31 Unix seconds), and a receiver with the GPS week-number bug. The
/// replayed log is timed against the machine's clock as GPSSourceTests does.
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

    func node(gpsd port: UInt16, extra: String = "", clock: () -> String = { "" }) async throws -> NodeProcess {
        // max_first_step = 0: the first step (twelve years for the 2038 test) is taken whatever the state of
        // this machine's kernel clock, so the test does not depend on it.
        try await NodeProcess(config: """
            \(extra)
            [ntp]
            listen = ["127.0.0.1:0"]
            [clock]
            max_first_step = 0
            holdover_limit = 3600
            \(clock())
            [[refclock]]
            name = "GPS"
            driver = "gpsd"
            gpsd = "127.0.0.1:\(port)"
            poll = 2
            offset = 0.05
            """)
    }

    /// The replayed GPS crosses 2038-01-19T03:14:08Z (2^31 Unix seconds): the node serves stratum 1 on both
    /// sides, and the served time (read by NTP queries once a second) keeps one offset from the machine's
    /// clock throughout: no 2^32 s step, no drop, no jump. Before the fix at the edge (`GPSDSecondsEra`),
    /// libgps's 32-bit TOFF seconds named 1901 from the crossing on.
    func testFollowsGPSAcross2038() async throws {
        let answers = try await followAcross(crossing: 1 << 31)
        XCTAssertFalse(answers.isEmpty)
    }

    /// The replayed GPS crosses the NTP era rollover, 2036-02-07T06:28:16Z (RFC 5905 §6: the 32-bit seconds
    /// field wraps to era 1): the transmit timestamps clients get wrap from 0xFFFFFFxx to 0x000000xx, and
    /// the offset they compute (era-independent 64-bit arithmetic) stays the same throughout.
    func testFollowsGPSAcrossTheNTPEraRollover() async throws {
        let answers = try await followAcross(crossing: 2_085_978_496)
        let seconds = answers.map(\.serverTransmit.seconds)
        XCTAssertTrue(seconds.contains { $0 > 0xFFFF_FF00 }, "era 0 served: \(seconds.map { String($0, radix: 16) })")
        XCTAssertTrue(seconds.contains { $0 < 0x100 }, "era 1 served: \(seconds.map { String($0, radix: 16) })")
        let pivot = UnixTime(seconds: 2_085_978_496, nanoseconds: 0)
        let times = answers.map { $0.serverTransmit.unixTime(near: pivot).seconds }
        XCTAssertEqual(times, times.sorted(), "served times increase across the era boundary")
    }

    /// gpsfake replays 70 s crossing `crossing` 25 s in; the node (max_first_step off, so the machine's
    /// kernel state does not matter) steps to it and is queried once a second for 40 s.
    func followAcross(crossing: Int64) async throws -> [NTPMeasurement] {
        let port = try LoopbackTCP.freePort()
        try replay(port: port, seconds: 70) { crossing - 25 + Int64($0) }
        let expectedOffset = Double(crossing - 25) - (Date().timeIntervalSince1970 + 1.7)
        let node = try await node(gpsd: port)
        defer { _ = node.stop() }
        try await waitFor(node, seconds: 30) { $0.serving.synchronized && $0.timekeeping?.tracking.selected?.name == "GPS" }
        let endpoint = SocketEndpoint(host: "127.0.0.1", port: try await node.port(of: "127.0.0.1"))
        var answers: [NTPMeasurement] = []
        var servedSeconds: [Double] = []
        let end = Date().addingTimeInterval(40)
        while Date() < end {
            let answer = try NTPQueryClient(server: endpoint).query()
            XCTAssertEqual(answer.stratum, 1)
            XCTAssertEqual(answer.leap, .noWarning)
            answers.append(answer)
            servedSeconds.append(Date().timeIntervalSince1970 + answer.offset)
            try await Task.sleep(for: .seconds(1))
        }
        let offsets = answers.map(\.offset)
        XCTAssertEqual(offsets.first ?? 0, expectedOffset, accuracy: 2, "following the replayed time")
        XCTAssertLessThan(servedSeconds.min() ?? .infinity, Double(crossing), "served before the crossing")
        XCTAssertGreaterThan(servedSeconds.max() ?? 0, Double(crossing) + 5, "and after it")
        // gpsfake's sentence quantisation (1/6 s) moves the filtered GPS time by such steps: 0.5 s is far
        // below a 2^32 s (or any whole-second) step.
        XCTAssertLessThan((offsets.max() ?? 0) - (offsets.min() ?? 0), 0.5, "one offset throughout: \(offsets)")
        let status = try await node.status()
        XCTAssertEqual(status.serving.stratum, 1)
        // Still following the GPS after the crossing, every sample taken.
        XCTAssertEqual(status.timekeeping?.tracking.selected?.name, "GPS")
        XCTAssertNil(status.timekeeping?.tracking.holdoverSeconds)
        XCTAssertEqual(status.timekeeping?.sources.first?.droppedJumped, 0)
        XCTAssertEqual(status.timekeeping?.sources.first?.droppedBelowFloor, 0)
        XCTAssertLessThan(status.timekeeping?.sources.first?.lastSampleAge ?? .infinity, 3)
        print(StatusReport.text(status))
        return answers
    }

    /// A lone GPS jumps 5 s forward mid-replay: the node holds the jump (its samples dropped and counted,
    /// the reason in status), keeps serving its own time in holdover at stratum 1, and follows the new time
    /// only once an operator runs `fleetnode confirm-step PID`.
    func testLoneGPSJumpIsHeldUntilTheOperatorConfirms() async throws {
        let port = try LoopbackTCP.freePort()
        let start = Int64((Date().timeIntervalSince1970 + 1.7).rounded()) + 30
        try replay(port: port, seconds: 90) { start + Int64($0) + ($0 >= 20 ? 5 : 0) }
        let node = try await node(gpsd: port, extra: "[metrics]\nlisten = \"127.0.0.1:0\"")
        defer { _ = node.stop() }
        try await waitFor(node, seconds: 30) { $0.serving.synchronized && $0.timekeeping?.tracking.selected?.name == "GPS" }
        let endpoint = SocketEndpoint(host: "127.0.0.1", port: try await node.port(of: "127.0.0.1"))
        let before = try NTPQueryClient(server: endpoint).query()
        try await waitFor(node, seconds: 40) { ($0.timekeeping?.sources.first?.droppedJumped ?? 0) >= 12 }
        var status = try await node.status()
        let note = status.timekeeping?.sources.first?.note ?? "-"
        XCTAssertTrue((note.contains("time jumped by +4.9") || note.contains("time jumped by +5.0")) && note.contains("no other source to confirm it"), note)
        XCTAssertNotNil(status.timekeeping?.tracking.holdoverSeconds)
        let held = try NTPQueryClient(server: endpoint).query()
        XCTAssertEqual(held.stratum, 1)
        // The jump is 5 s; holdover after a short lock on gpsfake's paced sentences (1/6 s steps) may drift a
        // few hundred ms on a loaded machine (0.28 s seen once), which is not the jump.
        XCTAssertEqual(held.offset, before.offset, accuracy: 1.0, "the jump is not served")
        // Visible beyond status: the node's health (GET /v1/health) degrades with the reason, and its metrics
        // (read by the Prometheus client's parser) carry the held jump and the drops as a counter.
        let health = AdminHealth(status: status, now: Int64(Date().timeIntervalSince1970))
        XCTAssertEqual(health.verdict, .degraded)
        XCTAssertTrue(health.reasons.contains { $0.message.hasPrefix("source GPS: time jumped by +") && $0.message.contains("samples held apart") },
                      "\(health.reasons)")
        let lines = try PrometheusScrape.scrape("http://\(try XCTUnwrap(status.metricsListener))/metrics")
        XCTAssertEqual(PrometheusScrape.value(lines, "fleetnode_source_jump_held{source=GPS}"), 1, lines.joined(separator: "\n"))
        // Metrics are recorded once a second: at most a second or two behind the status read above.
        let dropped = Double(status.timekeeping?.sources.first?.droppedJumped ?? 0)
        XCTAssertGreaterThanOrEqual(PrometheusScrape.value(lines, "fleetnode_source_dropped_jumped_total{source=GPS}") ?? 0, dropped - 3)
        XCTAssertEqual(PrometheusScrape.value(lines, "fleetnode_source_below_floor{source=GPS}"), 0)

        let confirm = Process()
        confirm.executableURL = NodeProcess.binDirectory.appendingPathComponent("fleetnode")
        confirm.arguments = ["confirm-step", "\(node.process.processIdentifier)"]
        try confirm.run()
        confirm.waitUntilExit()
        XCTAssertEqual(confirm.terminationStatus, 0)
        try await waitFor(node, seconds: 20) { $0.timekeeping?.tracking.holdoverSeconds == nil && $0.timekeeping?.tracking.selected?.name == "GPS" }
        let followed = try NTPQueryClient(server: endpoint).query()
        XCTAssertEqual(followed.offset, before.offset + 5, accuracy: 0.5, "the confirmed jump is followed")
        status = try await node.status()
        XCTAssertEqual(status.serving.stratum, 1)
        XCTAssertTrue(node.log.contains("operator confirmed the jump of +"), "confirmation logged")
        XCTAssertTrue(node.log.contains("followed a jump of +") && node.log.contains("agreed by the operator"), "and the jump")
    }

    /// A receiver with the week-number bug at boot, through real gpsd: gpsd 3.22 itself moves NMEA dates
    /// that lie before its own start by 1024 weeks (seen here: a 2007 log is reported as this week), so
    /// what reaches the node is already right and the node follows it. The rolled-back date is never served.
    /// (Where gpsd cannot help, because its own clock is wrong, the node's floor refuses the date:
    /// TimescaleSimulationTests.testPreFloorTimeIsRefusedWithTheReason, TimeFloorTests.)
    func testWeekNumberRolloverThroughGPSD() async throws {
        let port = try LoopbackTCP.freePort()
        let rollover: Int64 = 1024 * 604_800
        let start = Int64((Date().timeIntervalSince1970 + 1.7).rounded()) + 30
        try replay(port: port, seconds: 60) { start + Int64($0) - rollover }
        let node = try await node(gpsd: port)
        defer { _ = node.stop() }
        try await waitFor(node, seconds: 30) { $0.serving.synchronized && $0.timekeeping?.tracking.selected?.name == "GPS" }
        let endpoint = SocketEndpoint(host: "127.0.0.1", port: try await node.port(of: "127.0.0.1"))
        for _ in 0..<5 {
            let answer = try NTPQueryClient(server: endpoint).query()
            XCTAssertEqual(answer.stratum, 1)
            XCTAssertEqual(answer.offset, 30, accuracy: 1.5, "this week's time + 30 s, never 2007")
            try await Task.sleep(for: .seconds(1))
        }
    }

    /// A leap second through real gpsd, announced by the node's leap file: the replayed receiver sends
    /// NMEA's 23:59:60 (RMC, GGA and ZDA), which gpsd 3.22 reports as 00:00:00 twice (seen with gpspipe;
    /// its TPV carries no leap warning from NMEA). The node announces the leap (leap 1), inserts the second
    /// itself, drops the receiver's odd second quietly, and logs no jump or step: served time keeps its
    /// offset from the replayed UTC, one second less against the machine's clock after midnight.
    func testLeapSecondFromTheFileAndTheReceiverAgreeThroughGPSD() async throws {
        let midnight: Int64 = 1_798_761_600  // 2027-01-01T00:00:00Z, a leap second in this test's file
        let table = try LeapSecondTable(
            entries: [.init(unix: 1_483_228_800, taiMinusUTC: 37), .init(unix: midnight, taiMinusUTC: 38)],
            expires: midnight + 180 * 86_400, updated: midnight - 100 * 86_400)
        let leapFile = directory.file("leap-seconds.list")
        try LeapSecondsListEncoder.encode(table, sha1: Digest.sha1.hash).write(toFile: leapFile, atomically: true, encoding: .utf8)

        // Epochs: 23:59:25 ... 23:59:59, 23:59:60, 00:00:00 ... 00:00:34; epoch i arrives about i s after
        // launch + 1.7 s.
        let generator = NMEAGenerator()
        var epochs: [String] = []
        for i in 0..<71 {
            if i == 35 {
                // The leap second: 23:59:59's sentences with the second written as 60.
                epochs.append(generator.epoch(second: midnight - 1).map { sentence in
                    let body = sentence.dropFirst().prefix { $0 != "*" }.replacingOccurrences(of: "235959.00", with: "235960.00")
                    return NMEAGenerator.sentence(body)
                }.joined())
            } else {
                epochs.append(generator.epoch(second: midnight - 35 + Int64(i) - (i > 35 ? 1 : 0)).joined())
            }
        }
        XCTAssertTrue(epochs[35].contains("GPZDA,235960.00,31,12,2026"), epochs[35])
        let port = try LoopbackTCP.freePort()
        let file = directory.file("replay-\(port).nmea")
        try epochs.joined().write(toFile: file, atomically: true, encoding: .utf8)
        let cycle = String(format: "%.4f", 1.0 / Double(generator.sentencesPerEpoch))
        let launched = Date().timeIntervalSince1970
        processes.append(try TestProcess(
            ["unshare", "--ipc", "timeout", "-k", "2", "100", "gpsfake", "-q", "-n", "-1", "-c", cycle, "-P", "\(port)", file],
            logPath: directory.file("gpsfake-\(port).log")))
        let node = try await node(gpsd: port, extra: "") { "leap_file = \"\(leapFile)\"" }
        defer { _ = node.stop() }
        try await waitFor(node, seconds: 30) { $0.serving.synchronized && $0.timekeeping?.tracking.selected?.name == "GPS" }
        let endpoint = SocketEndpoint(host: "127.0.0.1", port: try await node.port(of: "127.0.0.1"))
        // Replayed UTC at machine time w: midnight − 35 + (w − launched − 1.7), one second less after the leap.
        let expected = Double(midnight - 35) - (launched + 1.7)
        var before: [NTPMeasurement] = [], after: [NTPMeasurement] = []
        while Date().timeIntervalSince1970 < launched + 1.7 + 66 {
            let wall = Date().timeIntervalSince1970
            let answer = try NTPQueryClient(server: endpoint).query()
            XCTAssertEqual(answer.stratum, 1)
            let replayed = wall - launched - 1.7
            if replayed < 33 { before.append(answer) } else if replayed > 38 { after.append(answer) }
            try await Task.sleep(for: .seconds(1))
        }
        XCTAssertFalse(before.isEmpty)
        XCTAssertFalse(after.isEmpty)
        XCTAssertTrue(before.allSatisfy { $0.leap == .insertSecond }, "leap 1 announced before midnight: \(before.map(\.leap))")
        XCTAssertTrue(after.allSatisfy { $0.leap == .noWarning }, "none after: \(after.map(\.leap))")
        for answer in before { XCTAssertEqual(answer.offset, expected, accuracy: 1.0) }
        for answer in after { XCTAssertEqual(answer.offset, expected - 1, accuracy: 1.0, "the inserted second, once") }
        let status = try await node.status()
        XCTAssertEqual(status.timekeeping?.sources.first?.droppedJumped, 0)
        // gpsfake's pacing (a sentence every 1/6 s) moves the filtered time by tenths of a second, which the
        // software clock steps (step_threshold 0.1 s); no step is the leap second's.
        let steps = node.log.split(separator: "\n").filter { $0.contains("served time stepped") }
            .compactMap { line in line.range(of: "offset=").map { Double(line[$0.upperBound...].prefix { "-+.0123456789e".contains($0) }) ?? 0 } }
        XCTAssertFalse(steps.dropFirst().contains { abs(abs($0) - 1) < 0.3 }, "no 1 s step: \(steps)")
        XCTAssertEqual(status.timekeeping?.tracking.selected?.name, "GPS")
        XCTAssertFalse(node.log.contains("jumped"), "no jump logged")
        XCTAssertFalse(node.log.contains("leap second at"), "no unknown-leap warning")
        print("before: \(before.map(\.offset)), after: \(after.map(\.offset))")
    }
}

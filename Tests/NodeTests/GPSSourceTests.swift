import NetworkEdges
import NodeModels
import Foundation
import GPSTestSupport
import Node
import NTPCore
import TimeCore
import XCTest

/// A real `fleetnode` with real gpsd: TPV time through libgps from gpsfake replaying a generated NMEA log,
/// and the NTP shared-memory segment from gpsd fed live NMEA over TCP. Every receiver here says the time is
/// 30 s ahead of this machine's clock, so a node that serves system time + 30 s is provably following GPS
/// (its software clock moves; the machine's clock does not).
final class GPSSourceTests: XCTestCase {
    static let gpsAhead: Int64 = 30
    /// gpsfake's replay starts 1.5-2.5 s after launch depending on load, so replayed GPS time is 30 s ahead
    /// give or take a second; following it (30 s) is unmistakable against not following it (0 s).
    static let replayTolerance = 1.5
    var directory: TestDirectory!
    var processes: [TestProcess] = []

    override func setUpWithError() throws {
        guard ExternalTool.find("gpsfake") != nil, ExternalTool.find("gpsd") != nil else {
            throw XCTSkip("gpsd and gpsfake are not installed (Debian packages gpsd, gpsd-clients)")
        }
        directory = try TestDirectory(prefix: "node-gps")
    }

    override func tearDown() {
        for process in processes { process.terminate() }
        directory?.remove()
    }

    /// gpsfake replaying `seconds` epochs whose time runs `gpsAhead` ahead of the system clock. gpsd is in a
    /// private IPC namespace (`unshare --ipc`) so it can never touch the machine's NTP SHM segments.
    func startGPSFake(port: UInt16, seconds: Int = 120) throws {
        let generator = NMEAGenerator()
        let now = Date().timeIntervalSince1970
        // gpsfake takes about 1.7 s to deliver the log's first second (see GPSDIntegrationTests).
        let start = Int64((now + 1.7).rounded()) + Self.gpsAhead
        let logFile = directory.file("replay-\(port)-\(processes.count).nmea")
        try generator.log(start: start, seconds: seconds).write(toFile: logFile, atomically: true, encoding: .utf8)
        let cycle = String(format: "%.4f", 1.0 / Double(generator.sentencesPerEpoch))
        processes.append(try TestProcess(
            ["unshare", "--ipc", "timeout", "-k", "2", "\(seconds + 30)", "gpsfake", "-q", "-n", "-1", "-c", cycle, "-P", "\(port)", logFile],
            logPath: directory.file("gpsfake-\(processes.count).log")))
    }

    func gpsNode(port: UInt16) async throws -> NodeProcess {
        try await NodeProcess(config: """
            [ntp]
            listen = ["127.0.0.1:0"]
            [[refclock]]
            name = "GPS"
            driver = "gpsd"
            gpsd = "127.0.0.1:\(port)"
            poll = 2
            offset = 0.05
            [metrics]
            listen = "127.0.0.1:0"
            """)
    }

    /// The node follows gpsd's time (stratum 1, reference id GPS, fix and satellites in status); killing
    /// gpsd puts it into holdover without a gap in service; a new gpsd brings the source back.
    func testFollowsGPSAndHoldsOverAcrossAGPSDRestart() async throws {
        let port = try LoopbackTCP.freePort()
        try startGPSFake(port: port)
        let node = try await gpsNode(port: port)
        defer { _ = node.stop() }

        try await waitFor(node, seconds: 30) {
            $0.serving.synchronized && $0.timekeeping?.tracking.selected?.name == "GPS" && $0.timekeeping?.refclocks.first?.satellitesUsed != nil
        }
        var status = try await node.status()
        XCTAssertEqual(status.serving.stratum, 1)
        XCTAssertEqual(status.serving.referenceID, "GPS")
        XCTAssertEqual(status.clock.offsetSeconds, Double(Self.gpsAhead), accuracy: Self.replayTolerance, "served time follows GPS, 30 s ahead of the system clock")
        let refclock = try XCTUnwrap(status.timekeeping?.refclocks.first)
        XCTAssertTrue(refclock.connected)
        XCTAssertEqual(refclock.fixMode, 3)
        XCTAssertEqual(refclock.satellitesUsed, 4)
        XCTAssertEqual(refclock.satellitesVisible, 6)

        let ntpPort = try await node.port(of: "127.0.0.1")
        let endpoint = SocketEndpoint(host: "127.0.0.1", port: ntpPort)
        let answer = try NTPQueryClient(server: endpoint).query()
        XCTAssertEqual(answer.stratum, 1)
        XCTAssertEqual(answer.referenceID, ReferenceID(ascii: "GPS"))
        XCTAssertEqual(answer.offset, Double(Self.gpsAhead), accuracy: Self.replayTolerance)

        // gpsd goes away: holdover, still serving stratum 1 with a growing error bound.
        let logStart = node.log.count
        processes.last?.terminate()
        try await waitFor(node, seconds: 20) { $0.timekeeping?.tracking.holdoverSeconds != nil }
        status = try await node.status()
        XCTAssertTrue(status.serving.synchronized, "holdover keeps serving")
        XCTAssertEqual(status.serving.stratum, 1)
        XCTAssertEqual(status.timekeeping?.refclocks.first?.connected, false)
        let inHoldover = try NTPQueryClient(server: endpoint).query()
        // gpsfake sends one sentence every 1/6 s, so TPV reports reach the node 0, 1/6 or 2/6 s after their
        // second (on a loaded machine later still), and the filtered GPS time moves by such steps while the
        // last samples are still being fed: 0.33 s was seen at a load average of 20. Continuity is checked to
        // within 0.5 s, which a step to the system clock (30 s) or a lost second would still fail.
        XCTAssertEqual(inHoldover.offset, answer.offset, accuracy: 0.5, "no gap and no jump in service")
        XCTAssertGreaterThan(inHoldover.rootDispersion, answer.rootDispersion)
        XCTAssertEqual(inHoldover.leap, .noWarning)
        // Health says why (gpsd gone, holdover), so do metrics and status, and the log once.
        let health = AdminHealth(status: status, now: Int64(Date().timeIntervalSince1970))
        XCTAssertEqual(health.verdict, .degraded, "\(health)")
        XCTAssertTrue(Set(health.reasons.compactMap(\.fault)).isSuperset(of: ["holdover", "refclock-disconnected:GPS"]), "\(health)")
        XCTAssertTrue(StatusReport.text(status).contains("DEGRADED: refclock GPS (gpsd) not connected"), StatusReport.text(status))
        try await Task.sleep(for: .seconds(4.5))
        let listener = try XCTUnwrap(status.metricsListener)
        let metrics = try PrometheusScrape.scrape("http://\(listener)/metrics")
        XCTAssertEqual(PrometheusScrape.value(metrics, "fleetnode_refclock_connected{refclock=GPS}"), 0)
        XCTAssertEqual(PrometheusScrape.value(metrics, "fleetnode_health_fault{fault=refclock-disconnected,subject=GPS}"), 1)
        XCTAssertEqual(String(node.log.dropFirst(logStart)).components(separatedBy: "health: refclock GPS (gpsd) not connected").count - 1, 1,
                       "logged once, not per reconnect try: \(node.log)")

        // gpsd is back on the same port: reconnected and selected again.
        try startGPSFake(port: port)
        try await waitFor(node, seconds: 30) {
            $0.timekeeping?.tracking.holdoverSeconds == nil && $0.timekeeping?.tracking.selected?.name == "GPS"
                && ($0.timekeeping?.refclocks.first?.reconnects ?? 0) >= 1
        }
        status = try await node.status()
        XCTAssertEqual(status.clock.offsetSeconds, Double(Self.gpsAhead), accuracy: Self.replayTolerance)
        let healed = AdminHealth(status: status, now: Int64(Date().timeIntervalSince1970))
        XCTAssertEqual(healed.verdict, .ok, "\(healed)")
        try await node.waitForLogLine(after: logStart, containing: "health: fault cleared", "refclock-disconnected:GPS")
        try await node.waitForLogLine(after: logStart, containing: "health: fault cleared", "holdover")
        let clearedLines = String(node.log.dropFirst(logStart)).split(separator: "\n").filter { $0.contains("health: fault cleared") }
        XCTAssertTrue(clearedLines.contains { $0.contains("refclock-disconnected:GPS") }, node.log)
        XCTAssertTrue(clearedLines.contains { $0.contains("holdover") }, node.log)
        print("gpsd killed: health \(health.verdict.rawValue): \(health.reasons.map(\.message)); after restart: \(healed.verdict.rawValue)")
        print(StatusReport.text(status))
    }

    /// A falseticker among real upstream servers: two chronyd servers tell this machine's time, a third
    /// server (a fleetnode following a GPS that is 30 s ahead) does not. The node marks the third `x` and
    /// follows the other two, at their stratum + 1.
    func testRejectsAFalsetickerUpstream() async throws {
        let gpsdPort = try LoopbackTCP.freePort()
        try startGPSFake(port: gpsdPort)
        let liar = try await gpsNode(port: gpsdPort)
        defer { _ = liar.stop() }
        let liarPort = try await liar.port(of: "127.0.0.1")
        let chronyDirectory = URL(fileURLWithPath: directory.file("chrony"))
        var chronys: [ChronyProcess] = []
        var ports: [UInt16] = []
        for index in 0..<2 {
            let folder = chronyDirectory.appendingPathComponent("\(index)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let port = freeLoopbackPort()
            ports.append(port)
            chronys.append(try ChronyProcess.server(in: folder, port: port))
        }
        defer { chronys.forEach { $0.stop() } }
        try await waitFor(liar, seconds: 30) { $0.serving.synchronized }

        let servers = (ports + [liarPort]).map { "[[server]]\naddress = \"127.0.0.1:\($0)\"\nminpoll = 0\nmaxpoll = 0\n" }
        let node = try await NodeProcess(config: "[ntp]\nlisten = [\"127.0.0.1:0\"]\n" + servers.joined())
        defer { _ = node.stop() }
        let liarName = "127.0.0.1:\(liarPort)"
        try await waitFor(node, seconds: 30) { status in
            status.serving.synchronized && status.timekeeping?.sources.first { $0.id.name == liarName }?.state == .falseticker
        }
        let status = try await node.status()
        XCTAssertNotEqual(status.timekeeping?.tracking.selected?.name, liarName)
        XCTAssertEqual(status.serving.stratum, 3)
        XCTAssertLessThan(abs(status.clock.offsetSeconds), 0.01, "still on this machine's time, not the liar's +30 s")
        print(StatusReport.text(status))
    }

    /// A receiver without a fix: gpsd reports its time, but the node takes no samples (no fix, no time) and
    /// stays unsynchronised, with the fix state in status.
    func testNoFixMeansNoTime() async throws {
        let port = try LoopbackTCP.freePort()
        let generator = NMEAGenerator(fix: false)
        let logFile = directory.file("nofix.nmea")
        let start = Int64(Date().timeIntervalSince1970.rounded()) + 2
        try generator.log(start: start, seconds: 60).write(toFile: logFile, atomically: true, encoding: .utf8)
        let cycle = String(format: "%.4f", 1.0 / Double(generator.sentencesPerEpoch))
        processes.append(try TestProcess(
            ["unshare", "--ipc", "timeout", "-k", "2", "90", "gpsfake", "-q", "-n", "-1", "-c", cycle, "-P", "\(port)", logFile],
            logPath: directory.file("gpsfake-nofix.log")))
        let node = try await gpsNode(port: port)
        defer { _ = node.stop() }
        try await waitFor(node, seconds: 20) { ($0.timekeeping?.refclocks.first?.reports ?? 0) >= 3 }
        let status = try await node.status()
        XCTAssertFalse(status.serving.synchronized)
        XCTAssertEqual(status.timekeeping?.refclocks.first?.fixMode, 1)
        XCTAssertEqual(status.timekeeping?.sources.first?.samples, 0)
    }

    /// gpsd fed live NMEA over TCP writes its NTP shared-memory segment 0; a node with `driver = "shm"` in
    /// the same private IPC namespace reads it and follows it.
    func testFollowsGPSDSharedMemory() async throws {
        let feed = try NMEAFeedServer(generator: NMEAGenerator(), offsetSeconds: Self.gpsAhead)
        defer { feed.stop() }
        let gpsdPort = try LoopbackTCP.freePort()
        let pidFile = directory.file("gpsd.pid")
        // One private IPC namespace for gpsd and the node: gpsd starts in the background, the shell then
        // becomes the node (NodeProcess appends the node's command line as "$0" "$@").
        let script = """
            timeout -k 2 120 gpsd -N -n -b -S \(gpsdPort) -F \(directory.file("gpsd.sock")) tcp://127.0.0.1:\(feed.port) \
            >\(directory.file("gpsd.log")) 2>&1 & echo $! >\(pidFile); exec "$0" "$@"
            """
        let node = try await NodeProcess(config: """
            [ntp]
            listen = ["127.0.0.1:0"]
            [[refclock]]
            name = "SHM0"
            driver = "shm"
            unit = 0
            poll = 2
            """, launcher: ["/usr/bin/unshare", "--ipc", "/bin/sh", "-c", script])
        defer {
            // gpsd first: it holds descriptors inherited from the node's launcher, and Foundation's Process
            // sees the node as exited only when every holder of those is gone. timeout(1) leads its own
            // process group (gpsd is in it); SIGKILL, because the launcher's children inherit a signal mask
            // that blocks SIGTERM.
            if let text = try? String(contentsOfFile: pidFile, encoding: .utf8), let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 1 {
                kill(-pid, SIGKILL)
            }
            _ = node.stop()
        }
        try await waitFor(node, seconds: 30) { $0.serving.synchronized && $0.timekeeping?.tracking.selected?.name == "SHM0" }
        let status = try await node.status()
        XCTAssertEqual(status.serving.stratum, 1)
        XCTAssertEqual(status.serving.referenceID, "SHM0")
        XCTAssertEqual(status.clock.offsetSeconds, Double(Self.gpsAhead), accuracy: Self.replayTolerance)
        XCTAssertEqual(status.timekeeping?.refclocks.first?.connected, true)
    }
}

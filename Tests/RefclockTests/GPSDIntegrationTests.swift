import GPSTestSupport
import CRefclock
import Foundation
import NTPCore
import XCTest

@testable import Refclock

/// GPSDClient and SHMRefclock against the real gpsd 3.22: replayed NMEA through gpsfake (time, fix mode,
/// satellites, a gpsd kill and restart on the same port), and gpsd reading a live NMEA feed over TCP
/// (NTP shared memory and TOFF reports). Every gpsd runs in a private IPC namespace, so the segments it
/// creates never reach the machine's, and is stopped by its process group id.
final class GPSDIntegrationTests: XCTestCase {
    var namespace: IPCNamespace!
    var directory: TestDirectory!
    var processes: [TestProcess] = []

    override func setUpWithError() throws {
        guard GPSDProcesses.available else { throw XCTSkip("gpsd/gpsfake not installed (apt-get install gpsd gpsd-clients)") }
        do {
            namespace = try IPCNamespace()
        } catch {
            throw XCTSkip("no private IPC namespace (\(error)): gpsd would create machine-wide SHM segments")
        }
        directory = try TestDirectory(prefix: "refclock-gpsd")
    }

    override func tearDown() {
        for process in processes { process.terminate() }
        namespace?.close()
        directory?.remove()
    }

    /// Seconds from spawning gpsfake to gpsd's TPV for the log's first second (measured here: about 1.6 s).
    /// The log starts that far ahead, rounded to a whole second, so replayed time runs within ±0.5 s of live.
    static let gpsfakeLead = 1.7

    /// Starts gpsfake replaying `seconds` epochs that begin about `gpsfakeLead` from now. Returns the log's seconds.
    func startReplay(_ generator: NMEAGenerator, port: UInt16, seconds: Int = 45) throws -> ClosedRange<Int64> {
        let now = try realtimeNow()
        let start = Int64((Double(now.seconds) + Double(now.nanoseconds) / 1e9 + Self.gpsfakeLead).rounded())
        let log = generator.log(start: start, seconds: seconds)
        let process = try namespace.perform {
            try GPSDProcesses.gpsfake(log: log, port: port, cycle: 1.0 / Double(generator.sentencesPerEpoch), directory: self.directory)
        }
        processes.append(process)
        return start...(start + Int64(seconds) - 1)
    }

    static func times(_ events: [GPSDEvent]) -> [GPSTime] {
        events.compactMap { if case .time(let t) = $0 { t } else { nil } }
    }

    func testGPSFakeTimeFlowsAndSurvivesAGPSDRestart() async throws {
        let port = try LoopbackTCP.freePort()
        let generator = NMEAGenerator()
        let client = GPSDClient(configuration: GPSDClient.Configuration(
            port: port, reconnectInitialDelay: .milliseconds(200), reconnectMaxDelay: .seconds(1), pollInterval: .milliseconds(200)
        ))
        let recorder = StreamRecorder(client.events)
        client.start()
        defer { client.stop() }

        // gpsd is not up yet: the client retries until it is.
        let began = ContinuousClock.now
        let seconds = try startReplay(generator, port: port)
        let steady: (GPSTime) -> Bool = { $0.mode == .threeD && $0.time.seconds > seconds.lowerBound }
        let flowing = await waitUntil(timeout: .seconds(20)) { Self.times(recorder.elements).filter(steady).count >= 3 }
        XCTAssertTrue(flowing, "no TPV time from gpsfake; events \(recorder.elements); gpsfake: \(processes.last?.output ?? "")")
        let firstTimeAfter = ContinuousClock.now - began

        let events = recorder.elements
        guard case .connected(let server) = try XCTUnwrap(events.first) else { return XCTFail("\(events)") }
        XCTAssertEqual(server?.release, "3.22")
        for t in Self.times(events).filter(steady) {
            XCTAssertTrue(seconds.contains(t.time.seconds), "TPV time \(t.time) is one of the NMEA seconds \(seconds)")
            XCTAssertEqual(t.time.nanoseconds, 0, "NMEA hhmmss.00")
            let delay = t.receiveDelayNanoseconds
            XCTAssertLessThan(abs(delay), 1_000_000_000, "|received - GPS time| = \(Double(delay) / 1e9) s")
            print("gpsfake TPV \(t.time) received \(t.received) delay \(Double(delay) / 1e9) s")
        }
        let sky = await recorder.first(timeout: .seconds(5)) { if case .sky = $0 { true } else { false } }
        XCTAssertEqual(sky, .sky(used: 4, visible: 6))
        XCTAssertTrue(events.contains { if case .device(let d) = $0 { d.driver == "NMEA0183" } else { false } }, "\(events)")

        // Kill gpsd (gpsfake's process group): the client reports the disconnect.
        let killedAt = recorder.elements.count
        let stopped = ContinuousClock.now
        processes.removeLast().terminate()
        let disconnected = await recorder.first(after: killedAt, timeout: .seconds(5)) {
            if case .disconnected = $0 { true } else { false }
        }
        XCTAssertNotNil(disconnected, "\(recorder.elements[killedAt...])")
        print("disconnect seen \(ContinuousClock.now - stopped) after the kill: \(String(describing: disconnected))")

        // gpsd again on the same port: the client reconnects and time flows again.
        let restartedAt = recorder.elements.count
        let seconds2 = try startReplay(generator, port: port)
        let again = await recorder.first(after: restartedAt, timeout: .seconds(20)) {
            if case .time(let t) = $0 { t.mode == .threeD && t.time.seconds > seconds2.lowerBound } else { false }
        }
        let tail = Array(recorder.elements[restartedAt...])
        guard case .time(let t2) = try XCTUnwrap(again, "no time after the restart: \(tail)") else { return }
        XCTAssertTrue(seconds2.contains(t2.time.seconds))
        XCTAssertLessThan(abs(t2.receiveDelayNanoseconds), 1_000_000_000)
        XCTAssertTrue(tail.contains { if case .connected = $0 { true } else { false } }, "\(tail)")
        let stats = client.statistics
        XCTAssertGreaterThanOrEqual(stats.reconnects, 1)
        XCTAssertGreaterThanOrEqual(stats.disconnects, 1)
        XCTAssertEqual(stats.parseErrors, 0)
        print("first time after \(firstTimeAfter); statistics \(stats)")
    }

    func testGPSFakeWithoutFixReportsNoFix() async throws {
        let generator = NMEAGenerator(fix: false)
        let tpvs: ([GPSDEvent]) -> [GPSFixMode] = { events in
            events.compactMap {
                switch $0 {
                case .time(let t): t.mode
                case .fixWithoutTime(let mode, _): mode
                default: nil
                }
            }
        }
        // Once in a few hundred CI runs gpsd accepts the client but gpsfake never feeds it anything (seen in
        // a clean-clone run; never reproduced in isolation): the replay is then tried once more on a new port,
        // with the first gpsfake's output printed. What is under test is what the client makes of no-fix TPVs.
        var client: GPSDClient!
        var recorder: StreamRecorder<GPSDEvent>!
        var got = false
        for attempt in 1...2 where !got {
            client?.stop()
            let port = try LoopbackTCP.freePort()
            client = GPSDClient(configuration: GPSDClient.Configuration(
                port: port, reconnectInitialDelay: .milliseconds(200), reconnectMaxDelay: .seconds(1), pollInterval: .milliseconds(200)
            ))
            recorder = StreamRecorder(client.events)
            client.start()
            _ = try startReplay(generator, port: port, seconds: 20)
            got = await waitUntil(timeout: .seconds(15)) { tpvs(recorder.elements).count >= 3 }
            if !got, attempt == 1 {
                print("gpsfake fed nothing in 15 s (events \(recorder.elements)); its output: \(processes.last?.output ?? "-")")
                processes.last?.terminate()
            }
        }
        defer { client.stop() }
        XCTAssertTrue(got, "\(recorder.elements)")
        let modes = tpvs(recorder.elements)
        XCTAssertTrue(modes.allSatisfy { $0 == .noFix || $0 == .notSeen }, "\(modes)")
        XCTAssertFalse(recorder.elements.contains { if case .sky(let used, _) = $0 { used > 0 } else { false } }, "\(recorder.elements)")
        print("no-fix events: \(recorder.elements.prefix(12))")
    }

    func testGPSDFromALiveFeedWritesSharedMemoryAndTOFF() async throws {
        let feed = try NMEAFeedServer(generator: NMEAGenerator())
        defer { feed.stop() }
        let port = try LoopbackTCP.freePort()
        let gpsd = try namespace.perform { try GPSDProcesses.gpsd(feedPort: feed.port, port: port, directory: self.directory) }
        processes.append(gpsd)
        XCTAssertTrue(LoopbackTCP.waitUntilListening(port: port, timeout: .seconds(10)), gpsd.output)
        XCTAssertEqual(IPCNamespace.namespaceID(ofProcess: gpsd.pid), namespace.namespaceID, "gpsd runs in the test's IPC namespace")
        XCTAssertNotEqual(IPCNamespace.currentThreadNamespaceID(), namespace.namespaceID)

        let client = GPSDClient(configuration: GPSDClient.Configuration(port: port, pollInterval: .milliseconds(200)))
        let recorder = StreamRecorder(client.events)
        client.start()
        defer { client.stop() }

        // SHM unit 0 (gpsd as root: NTP0 is the serial time of its first device), attached and read from the
        // namespace's thread.
        let shm = SHMRefclock(unit: 0)
        var samples: [SHMSample] = []
        var lastError: SHMError?
        let deadline = ContinuousClock.now + .seconds(25)
        while samples.count < 3 && ContinuousClock.now < deadline {
            let result = try namespace.perform { Result { () throws(SHMError) -> SHMSample in try shm.poll() } }
            switch result {
            case .success(let sample): samples.append(sample)
            case .failure(let error): lastError = error
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        XCTAssertGreaterThanOrEqual(samples.count, 3, "last error \(String(describing: lastError)); gpsd: \(gpsd.output)")
        let sent = Set(feed.sentSeconds)
        for sample in samples {
            print("SHM sample reference \(sample.reference) system \(sample.system) precision \(sample.precision) leap \(sample.leap)")
            XCTAssertEqual(sample.reference.nanoseconds, 0)
            XCTAssertTrue(sent.contains(sample.reference.seconds), "reference \(sample.reference) is an NMEA second we sent")
            // The feed sends each second 50 ms after it starts; gpsd stamps its arrival.
            let late = sample.system.nanoseconds(since: sample.reference)
            XCTAssertGreaterThan(late, NMEAFeedServer.sendDelayNanoseconds, "system stamp after the send")
            XCTAssertLessThan(late, 500_000_000)
            XCTAssertEqual(sample.leap, 0)
        }
        XCTAssertEqual(Set(samples.map(\.reference)).count, samples.count, "each sample is taken once")

        // TOFF reports carry the same pair of stamps; TPVs the time with a 3D fix.
        let toffs = await waitUntil(timeout: .seconds(10)) {
            recorder.elements.filter { if case .toff = $0 { true } else { false } }.count >= 2
        }
        XCTAssertTrue(toffs, "\(recorder.elements)")
        for case .toff(let reference, let system) in recorder.elements {
            XCTAssertTrue(sent.contains(reference.seconds))
            XCTAssertEqual(reference.nanoseconds, 0)
            let late = system.nanoseconds(since: reference)
            XCTAssertTrue(late > NMEAFeedServer.sendDelayNanoseconds && late < 500_000_000, "TOFF \(reference) \(system)")
        }
        let time = Self.times(recorder.elements).last { $0.mode == .threeD }
        XCTAssertNotNil(time)
        if let time {
            XCTAssertTrue(sent.contains(time.time.seconds))
            XCTAssertLessThan(abs(time.receiveDelayNanoseconds), 1_000_000_000)
        }
        XCTAssertTrue(recorder.elements.contains(.sky(used: 4, visible: 6)), "\(recorder.elements)")
    }
}

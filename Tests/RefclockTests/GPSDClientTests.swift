import GPSTestSupport
import Foundation
import NTPCore
import Synchronization
import XCTest

@testable import Refclock

/// GPSDClient against a scripted fake gpsd on loopback: every report kind, parse errors, disconnects,
/// reconnect backoff and prompt stops, deterministic and fast. The real gpsd is in GPSDIntegrationTests.
final class GPSDClientTests: XCTestCase {
    /// 2026-01-02T03:04:05Z.
    static let tpvSecond: Int64 = 1_767_323_045

    static let script: [String] = [
        #"{"class":"DEVICES","devices":[{"class":"DEVICE","path":"/dev/ttyFAKE","driver":"NMEA0183","activated":"2026-01-02T03:04:00.000Z","flags":1}]}"#,
        #"{"class":"WATCH","enable":true,"json":true,"nmea":false,"raw":0,"scaled":false,"timing":false,"split24":false,"pps":true}"#,
        #"{"class":"TPV","device":"/dev/ttyFAKE","mode":3,"status":1,"time":"2026-01-02T03:04:05.000Z","leapseconds":18,"ept":0.005,"lat":48.1,"lon":11.5}"#,
        #"{"class":"SKY","device":"/dev/ttyFAKE","nSat":3,"uSat":2,"satellites":[{"PRN":1,"el":40.0,"az":83.0,"ss":46.0,"used":true},{"PRN":2,"el":17.0,"az":308.0,"ss":41.0,"used":true},{"PRN":3,"el":7.0,"az":344.0,"ss":20.0,"used":false}]}"#,
        #"{"class":"TOFF","device":"/dev/ttyFAKE","real_sec":1767323045, "real_nsec":0,"clock_sec":1767323045,"clock_nsec":123456789}"#,
        #"{"class":"PPS","device":"/dev/ttyFAKE","real_sec":1767323046, "real_nsec":0,"clock_sec":1767323045,"clock_nsec":999999000,"precision":-20}"#,
        #"{"class":"ERROR","message":"Unrecognized request 'FOO'"}"#,
        "this is not json",
        #"{"class":"TPV","device":"/dev/ttyFAKE","mode":3,"#,
        #"{"class":"TPV","device":"/dev/ttyFAKE","mode":3,"time":"garbage"}"#,
        #"{"class":"NOSUCHCLASS","x":1}"#,
        #"{"class":"TPV","device":"/dev/ttyFAKE","mode":1}"#,
        #"{"class":"TPV","device":"/dev/ttyFAKE","mode":2,"time":"2026-01-02T03:04:06.250Z"}"#,
    ]

    static let version = #"{"class":"VERSION","release":"3.22","rev":"3.22","proto_major":3,"proto_minor":14}"#

    /// A fake gpsd: VERSION, waits for ?WATCH (recorded), sends `lines`, then holds the connection for
    /// `hold` or closes it at once.
    static func fakeGPSD(lines: [String], hold: Duration = .zero, watches: LockedBox<[String]>? = nil) throws -> LoopbackServer {
        try LoopbackServer { connection, isStopping in
            guard connection.send(version + "\n") else { return }
            if let watch = connection.readLine(timeout: .seconds(5)) {
                watches?.withLockedValue { $0.append(watch) }
            }
            for line in lines where !isStopping() {
                guard connection.send(line + "\n") else { return }
            }
            let deadline = ContinuousClock.now + hold
            while ContinuousClock.now < deadline && !isStopping() { usleep(20_000) }
        }
    }

    static func fastConfiguration(port: UInt16) -> GPSDClient.Configuration {
        GPSDClient.Configuration(
            host: "127.0.0.1", port: port, watchPPS: true,
            reconnectInitialDelay: .milliseconds(100), reconnectMaxDelay: .milliseconds(400),
            pollInterval: .milliseconds(100)
        )
    }

    func testDecodesEveryReportKindInOrder() async throws {
        let watches = LockedBox<[String]>([])
        let server = try Self.fakeGPSD(lines: Self.script, hold: .seconds(30), watches: watches)
        defer { server.stop() }
        let client = GPSDClient(configuration: Self.fastConfiguration(port: server.port))
        let recorder = StreamRecorder(client.events)
        client.start()
        defer { client.stop() }

        let last = await recorder.first(timeout: .seconds(10)) {
            if case .time(let t) = $0 { return t.mode == .twoD }
            return false
        }
        XCTAssertNotNil(last, "the last TPV of the script never arrived; got \(recorder.elements)")
        let events = recorder.elements

        XCTAssertEqual(events.first, .connected(server: GPSDServerInfo(release: "3.22", protocolMajor: 3, protocolMinor: 14)))
        XCTAssertTrue(events.contains(.device(GPSDDevice(path: "/dev/ttyFAKE", driver: "NMEA0183"))))
        let times = events.compactMap { event -> GPSTime? in
            if case .time(let t) = event { return t }
            return nil
        }
        XCTAssertEqual(times.count, 2)
        let first = try XCTUnwrap(times.first)
        XCTAssertEqual(first.time, UnixTime(seconds: Self.tpvSecond, nanoseconds: 0))
        XCTAssertEqual(first.mode, .threeD)
        XCTAssertEqual(first.status, 1)
        XCTAssertEqual(first.leapSeconds, 18)
        XCTAssertEqual(try XCTUnwrap(first.timeUncertainty), 0.005, accuracy: 1e-9)
        XCTAssertEqual(first.device, "/dev/ttyFAKE")
        let now = try realtimeNow()
        XCTAssertLessThan(abs(now.nanoseconds(since: first.received)), 30_000_000_000, "received is stamped with the system clock")
        XCTAssertEqual(times[1].time, UnixTime(seconds: Self.tpvSecond + 1, nanoseconds: 250_000_000))
        XCTAssertNil(times[1].leapSeconds)

        XCTAssertTrue(events.contains(.sky(used: 2, visible: 3)), "\(events.filter { if case .sky = $0 { true } else { false } })")
        XCTAssertTrue(events.contains(.toff(reference: UnixTime(seconds: Self.tpvSecond, nanoseconds: 0),
                                            system: UnixTime(seconds: Self.tpvSecond, nanoseconds: 123_456_789))))
        XCTAssertTrue(events.contains(.pps(reference: UnixTime(seconds: Self.tpvSecond + 1, nanoseconds: 0),
                                           system: UnixTime(seconds: Self.tpvSecond, nanoseconds: 999_999_000))))
        XCTAssertTrue(events.contains(.gpsdError("Unrecognized request 'FOO'")))
        XCTAssertTrue(events.contains { if case .fixWithoutTime(.noFix, _) = $0 { return true } else { return false } })

        // Order is gpsd's order.
        let kinds = events.map { event -> String in
            switch event {
            case .connected: "connected"
            case .device: "device"
            case .time: "time"
            case .sky: "sky"
            case .toff: "toff"
            case .pps: "pps"
            case .gpsdError: "error"
            case .fixWithoutTime: "nofix"
            case .disconnected: "disconnected"
            }
        }
        XCTAssertEqual(kinds, ["connected", "device", "time", "sky", "toff", "pps", "error", "nofix", "time"])

        let stats = client.statistics
        XCTAssertEqual(stats.parseErrors, 4, "not JSON, a truncated TPV, a TPV with a bad time, an unknown class")
        XCTAssertEqual(stats.gpsdErrors, 1)
        XCTAssertEqual(stats.timeReports, 2)
        XCTAssertEqual(stats.toffReports, 1)
        XCTAssertEqual(stats.ppsReports, 1)
        XCTAssertEqual(stats.connects, 1)
        XCTAssertEqual(stats.reconnects, 0)
        XCTAssertTrue(stats.connected)
        XCTAssertEqual(stats.server?.release, "3.22")
        XCTAssertEqual(stats.reports, UInt64(Self.script.count + 1 - 4), "VERSION and the script, less the 4 bad lines")

        let watch = try XCTUnwrap(watches.withLockedValue { $0.first })
        XCTAssertTrue(watch.hasPrefix("?WATCH="), watch)
        XCTAssertTrue(watch.contains(#""enable":true"#) && watch.contains(#""json":true"#) && watch.contains(#""pps":true"#), watch)
    }

    /// libgps 3.22's gps_unpack loops forever on a DEVICES report whose DEVICE object breaks after its class
    /// or does not decode (found by fuzz-gpsd-json): without the JSON check before libgps sees a line, the reader thread would spin
    /// there for good and the reference clock would be lost. The line is counted as a parse error and the
    /// reports after it arrive.
    func testAReportThatHangsLibgpsIsCountedAndReadingGoesOn() async throws {
        let server = try Self.fakeGPSD(lines: [
            #"{"class":"DEVICES","devices":[{"class":"DEVICE","path":"/dev"ERROR","driver":"NMEA0183"}]}"#,
            #"{"class":"DEVICES","devices":[{"class":"DEVICE"x}]}"#,
            #"{"class":"DEVICES","devices":[{"class":"DEVICE","path":"/dev/ttyFAKE","driver":"u-blox"},{"class":"DEVICE","path":1}]}"#,
            #"{"class":"TPV","device":"/dev/ttyFAKE","mode":3,"time":"2026-01-02T03:04:05.000Z"}"#,
        ], hold: .seconds(30))
        defer { server.stop() }
        let client = GPSDClient(configuration: Self.fastConfiguration(port: server.port))
        let recorder = StreamRecorder(client.events)
        client.start()
        defer { client.stop() }
        let time = await recorder.first(timeout: .seconds(10)) {
            if case .time = $0 { return true }
            return false
        }
        XCTAssertNotNil(time, "the TPV after the malformed DEVICES reports never arrived; got \(recorder.elements)")
        XCTAssertEqual(client.statistics.parseErrors, 2)
        XCTAssertTrue(recorder.elements.contains(.device(GPSDDevice(path: "/dev/ttyFAKE", driver: "u-blox"))), "\(recorder.elements)")
    }

    /// TOFF and PPS seconds past 2038-01-19T03:14:08Z: libgps 3.22 reads `real_sec`/`clock_sec` through a
    /// 32-bit int (2147483648 becomes -2147483648); the client resolves them near the TPV time and the
    /// system clock, so the events carry the full seconds (without it the reference would be 1901).
    func testTOFFAndPPSSecondsPast2038AreRestored() async throws {
        let now = try realtimeNow().seconds
        let lines = [
            #"{"class":"TPV","device":"/dev/ttyFAKE","mode":3,"time":"2038-01-19T03:14:08.000Z"}"#,
            #"{"class":"TOFF","device":"/dev/ttyFAKE","real_sec":2147483648, "real_nsec":0,"clock_sec":\#(now),"clock_nsec":5}"#,
            #"{"class":"PPS","device":"/dev/ttyFAKE","real_sec":2147483649, "real_nsec":0,"clock_sec":\#(now + 1),"clock_nsec":7,"precision":-20}"#,
            #"{"class":"TPV","device":"/dev/ttyFAKE","mode":2,"time":"2106-02-07T06:28:16.000Z"}"#,
            #"{"class":"TOFF","device":"/dev/ttyFAKE","real_sec":4294967296, "real_nsec":0,"clock_sec":\#(now),"clock_nsec":5}"#,
        ]
        let server = try Self.fakeGPSD(lines: lines, hold: .seconds(30))
        defer { server.stop() }
        let client = GPSDClient(configuration: Self.fastConfiguration(port: server.port))
        let recorder = StreamRecorder(client.events)
        client.start()
        defer { client.stop() }
        let done = await recorder.first(timeout: .seconds(10)) {
            if case .toff(let reference, _) = $0 { return reference.seconds != 2_147_483_648 }
            return false
        }
        XCTAssertNotNil(done, "\(recorder.elements)")
        let events = recorder.elements
        XCTAssertTrue(events.contains(.toff(reference: UnixTime(seconds: 2_147_483_648, nanoseconds: 0), system: UnixTime(seconds: now, nanoseconds: 5))), "\(events)")
        XCTAssertTrue(events.contains(.pps(reference: UnixTime(seconds: 2_147_483_649, nanoseconds: 0), system: UnixTime(seconds: now + 1, nanoseconds: 7))), "\(events)")
        XCTAssertTrue(events.contains(.toff(reference: UnixTime(seconds: 4_294_967_296, nanoseconds: 0), system: UnixTime(seconds: now, nanoseconds: 5))), "2106: \(events)")
    }

    func testEraResolution() {
        XCTAssertEqual(GPSDSecondsEra.resolve(-2_147_483_648, near: 2_147_483_640), 2_147_483_648)
        XCTAssertEqual(GPSDSecondsEra.resolve(2_147_483_648, near: 2_147_483_640), 2_147_483_648, "full values stay")
        XCTAssertEqual(GPSDSecondsEra.resolve(1_796_000_000, near: 1_796_000_100), 1_796_000_000)
        XCTAssertEqual(GPSDSecondsEra.resolve(0, near: 4_294_967_290), 4_294_967_296)
        XCTAssertEqual(GPSDSecondsEra.resolve(.min, near: .max), GPSDSecondsEra.resolve(.min, near: .max), "no trap")
    }

    func testWatchWithoutPPSWhenNotAsked() async throws {
        let watches = LockedBox<[String]>([])
        let server = try Self.fakeGPSD(lines: [], hold: .seconds(30), watches: watches)
        defer { server.stop() }
        var configuration = Self.fastConfiguration(port: server.port)
        configuration.watchPPS = false
        let client = GPSDClient(configuration: configuration)
        client.start()
        defer { client.stop() }
        let got = await waitUntil(timeout: .seconds(5)) { watches.withLockedValue { !$0.isEmpty } }
        XCTAssertTrue(got)
        let watch = watches.withLockedValue { $0.first } ?? ""
        XCTAssertFalse(watch.contains(#""pps":true"#), watch)
    }

    func testDisconnectIsReportedAndTheClientReconnects() async throws {
        // Each connection: VERSION, one TPV, then the fake gpsd hangs up.
        let server = try Self.fakeGPSD(lines: [Self.script[2]], hold: .milliseconds(200))
        defer { server.stop() }
        let client = GPSDClient(configuration: Self.fastConfiguration(port: server.port))
        let recorder = StreamRecorder(client.events)
        client.start()
        defer { client.stop() }

        let reconnected = await waitUntil(timeout: .seconds(10)) {
            recorder.elements.filter { if case .connected = $0 { return true } else { return false } }.count >= 3
        }
        XCTAssertTrue(reconnected, "\(recorder.elements)")
        let events = recorder.elements
        let disconnect = events.first { if case .disconnected = $0 { return true } else { return false } }
        XCTAssertEqual(disconnect, .disconnected(reason: "connection closed by gpsd"))
        // connected, time, disconnected, connected, time, disconnected, ...
        var expectConnected = true
        for event in events {
            switch event {
            case .connected:
                XCTAssertTrue(expectConnected, "\(events)")
                expectConnected = false
            case .disconnected:
                XCTAssertFalse(expectConnected, "\(events)")
                expectConnected = true
            default:
                break
            }
        }
        let stats = client.statistics
        XCTAssertGreaterThanOrEqual(stats.reconnects, 2)
        XCTAssertGreaterThanOrEqual(stats.disconnects, 2)
        XCTAssertEqual(stats.lastError, "read: connection closed by gpsd")
    }

    func testBackoffDoublesToTheMaximumWhileGPSDSaysNothing() async throws {
        // A "gpsd" that accepts and hangs up at once, before any report: never announced, so the backoff is
        // never reset: 100, 200, 400, 400 ms between attempts.
        let server = try LoopbackServer { _, _ in }
        defer { server.stop() }
        let client = GPSDClient(configuration: Self.fastConfiguration(port: server.port))
        let recorder = StreamRecorder(client.events)
        client.start()
        let enough = await waitUntil(timeout: .seconds(10)) { server.accepted >= 5 }
        client.stop()
        XCTAssertTrue(enough)
        let instants = server.acceptInstants
        let gaps = zip(instants.dropFirst(), instants).map { ($0 - $1) / .milliseconds(1) }
        let expected: [Double] = [100, 200, 400, 400]
        for (gap, want) in zip(gaps, expected) {
            XCTAssertGreaterThanOrEqual(gap, want * 0.9, "gaps \(gaps)")
            XCTAssertLessThan(gap, want + 400, "gaps \(gaps)")
        }
        XCTAssertTrue(recorder.elements.isEmpty, "no report, so no .connected/.disconnected: \(recorder.elements)")
        XCTAssertGreaterThanOrEqual(client.statistics.connects, 5)
    }

    func testConnectFailuresAreCountedWhenNothingListens() async throws {
        let port = try LoopbackTCP.freePort()
        let client = GPSDClient(configuration: Self.fastConfiguration(port: port))
        let recorder = StreamRecorder(client.events)
        client.start()
        let failed = await waitUntil(timeout: .seconds(5)) { client.statistics.connectFailures >= 3 }
        XCTAssertTrue(failed)
        let stats = client.statistics
        XCTAssertEqual(stats.connects, 0)
        XCTAssertFalse(stats.connected)
        XCTAssertEqual(stats.lastError, "connect: can't connect to host/port pair")
        client.stop()
        let finished = await waitUntil(timeout: .seconds(2)) { recorder.finished }
        XCTAssertTrue(finished, "stop during backoff ends the stream at once")
        XCTAssertTrue(recorder.elements.isEmpty)
    }

    func testStopInterruptsABlockedReadPromptly() async throws {
        // VERSION and half a line: libgps waits in recv() for the rest, which never comes.
        let server = try LoopbackServer { connection, isStopping in
            connection.send(Self.version + "\n")
            _ = connection.readLine(timeout: .seconds(5))
            connection.send(#"{"class":"TPV","mode":3,"#)
            while !isStopping() { usleep(20_000) }
        }
        defer { server.stop() }
        let client = GPSDClient(configuration: GPSDClient.Configuration(port: server.port, pollInterval: .seconds(10)))
        let recorder = StreamRecorder(client.events)
        client.start()
        let connected = await recorder.first(timeout: .seconds(5)) { if case .connected = $0 { true } else { false } }
        XCTAssertNotNil(connected)
        try await Task.sleep(for: .milliseconds(300))   // let the reader block in recv/select
        let stopAt = ContinuousClock.now
        client.stop()
        let finished = await waitUntil(timeout: .seconds(3), interval: .milliseconds(5)) { recorder.finished }
        let took = ContinuousClock.now - stopAt
        XCTAssertTrue(finished)
        XCTAssertLessThan(took, .milliseconds(500), "stop took \(took)")
        XCTAssertEqual(recorder.elements.last, .disconnected(reason: "stopped"))
        XCTAssertFalse(client.isRunning)
    }

    func testCancellingTheConsumerStopsTheReader() async throws {
        let server = try Self.fakeGPSD(lines: [], hold: .seconds(30))
        defer { server.stop() }
        let client = GPSDClient(configuration: GPSDClient.Configuration(port: server.port, pollInterval: .seconds(10)))
        client.start()
        let consumer = Task {
            var count = 0
            for await _ in client.events { count += 1 }
            return count
        }
        let running = await waitUntil(timeout: .seconds(5)) { client.statistics.connected }
        XCTAssertTrue(running)
        let cancelAt = ContinuousClock.now
        consumer.cancel()
        _ = await consumer.value
        let stopped = await waitUntil(timeout: .seconds(3), interval: .milliseconds(5)) { !client.isRunning }
        XCTAssertTrue(stopped)
        XCTAssertLessThan(ContinuousClock.now - cancelAt, .milliseconds(500))
    }

    func testStartAfterStopDoesNothing() async throws {
        let client = GPSDClient(configuration: Self.fastConfiguration(port: 1))
        client.stop()
        client.start()
        XCTAssertFalse(client.isRunning)
        var iterator = client.events.makeAsyncIterator()
        let next = await iterator.next()
        XCTAssertNil(next, "a client stopped before it started has a finished stream")
    }
}

func realtimeNow() throws -> UnixTime {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return UnixTime(seconds: Int64(now.tv_sec), nanoseconds: UInt32(now.tv_nsec))
}

import NodeModels
import Foundation
import Node
import XCTest

/// A running `fleetnode` with `[state] database`, following a chronyd on loopback: its samples, clock updates
/// and source events land in the database, status reports the store, and the frequency saved at shutdown
/// is restored from the store at the next start.
final class StateStoreNodeTests: XCTestCase {
    func testNodeRecordsMeasurementsEventsAndDriftInTheStore() async throws {
        let directory = try NodeProcess.makeDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let port = freeLoopbackPort()
        let chrony = try ChronyProcess.server(in: directory, port: port)
        defer { chrony.stop() }
        let database = directory.appendingPathComponent("var/state.sqlite").path
        let drift = directory.appendingPathComponent("drift").path
        let config = """
            [state]
            database = "\(database)"
            flush_interval = 0.2
            [clock]
            drift_file = "\(drift)"
            [ntp]
            listen = ["127.0.0.1:0"]
            [[server]]
            address = "127.0.0.1:\(port)"
            minpoll = -1
            maxpoll = -1
            """
        let source = "127.0.0.1:\(port)"
        let watch = SystemClockWatch()
        var node: NodeProcess? = try await NodeProcess(config: config)
        try await waitFor(node!, seconds: 30) { status in
            (status.timekeeping?.tracking.updates ?? 0) >= 4 && status.timekeeping?.tracking.selected?.name == source
                && (status.stateStore?.measurementsWritten ?? 0) >= 4
        }
        let status = try await node!.status()
        let store = try XCTUnwrap(status.stateStore)
        XCTAssertEqual(store.path, database)
        XCTAssertGreaterThan(store.sizeBytes, 0)
        XCTAssertNotNil(store.lastWrite)
        XCTAssertEqual(store.writeFailures, 0)
        XCTAssertEqual(store.retentionSeconds, 604_800)
        XCTAssertTrue(StatusReport.text(status).contains("state database \(database)"), StatusReport.text(status))
        XCTAssertEqual(node!.stop(), 0)
        let nodeLog = node!.log
        node = nil

        let opened = try NodeStore(path: database)
        let samples = try opened.samples(source: source)
        XCTAssertGreaterThanOrEqual(samples.count, 4)
        XCTAssertTrue(samples.allSatisfy { $0.delay > 0 && $0.delay < 0.1 }, "\(samples)")
        // chronyd serves the system clock, the node its bare oscillator: their offsets stay small unless
        // something outside the test adjusted the system clock meanwhile (once: +33 ms within 7 s).
        let adjusted = watch.adjustment
        if abs(adjusted) < 0.002 {
            XCTAssertTrue(samples.allSatisfy { abs($0.offset) < 0.01 }, "\(samples); chronyd: \(chrony.log); node: \(nodeLog)")
        } else {
            print("StateStoreNodeTests: the system clock was adjusted by \(adjusted) s during the test (not by it): offsets to chronyd not judged: \(samples.map(\.offset))")
        }
        XCTAssertLessThan(abs((samples.last?.utc ?? 0) - Date().timeIntervalSince1970), 60)
        let updates = try opened.clockUpdates()
        XCTAssertGreaterThanOrEqual(updates.count, 4)
        XCTAssertEqual(updates.last?.source, source)
        XCTAssertEqual(updates.map(\.updates), updates.map(\.updates).sorted())
        let events = try opened.events()
        XCTAssertTrue(events.contains { $0.kind == .source && $0.subject == source && $0.detail.hasSuffix("-> selected") }, "\(events)")
        XCTAssertEqual(events.first { $0.kind == .node }?.detail.hasPrefix("started"), true, "\(events)")
        XCTAssertEqual(events.last?.detail, "stopped", "\(events)")
        let saved = try XCTUnwrap(try opened.drift(), "drift saved at shutdown")
        XCTAssertLessThan(abs(saved.frequencyPPM), 500)
        XCTAssertTrue(FileManager.default.fileExists(atPath: drift), "the drift file keeps working alongside")
        for file in opened.files where FileManager.default.fileExists(atPath: file) {
            XCTAssertEqual((try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? NSNumber)?.intValue, 0o600, file)
        }

        // Restarted: the frequency comes from the store (which wins over the drift file).
        try "garbage\n".write(toFile: drift, atomically: true, encoding: .utf8)
        let restarted = try await NodeProcess(config: config)
        defer { _ = restarted.stop() }
        try await waitFor(restarted) { _ in restarted.log.contains("frequency restored from the state database") }
        XCTAssertTrue(restarted.log.contains("ppm=\(saved.frequencyPPM)"), restarted.log)
        XCTAssertFalse(restarted.log.contains("ignoring the drift file"))
        try await waitFor(restarted) { ($0.stateStore?.events ?? 0) > events.count }
    }
}

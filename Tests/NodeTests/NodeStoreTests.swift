import ConfigFile
import NodeModels
import Foundation
import Logging
@testable import Node
@testable import TimeCore
import NIOConcurrencyHelpers
import XCTest

/// The node's state database through its public API: schema, key operations, history, drift, file modes and
/// damaged files. The kill -9 test is `StoreCrashTests`; a running node's use of it is `StateStoreNodeTests`.
final class NodeStoreTests: XCTestCase {
    var directory: URL!
    var path: String { directory.appendingPathComponent("state.sqlite").path }

    override func setUpWithError() throws {
        directory = try NodeProcess.makeDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func mode(_ file: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: file)
        return (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    func assertThrows<T>(_ expected: StoreError, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> T) {
        do {
            _ = try body()
            XCTFail("no error, expected \(expected)", file: file, line: line)
        } catch {
            XCTAssertEqual(error as? StoreError, expected, file: file, line: line)
        }
    }

    func testCreatesMigratesAndReopensAnEmptyDatabase() throws {
        let nested = directory.appendingPathComponent("lib/fleetnode/state.sqlite").path
        let store = try NodeStore(path: nested)
        XCTAssertEqual(try store.integrityCheck(), ["ok"])
        XCTAssertEqual(try store.keys(kind: .symmetric), [])
        XCTAssertNil(try store.drift())
        XCTAssertEqual(try store.eventCount(), 0)
        XCTAssertEqual(try mode(directory.appendingPathComponent("lib/fleetnode").path), 0o700)
        let tables = try store.pool.read { db in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name") }
        XCTAssertTrue(Set(tables).isSuperset(of: ["key", "keyHistory", "drift", "sourceSample", "clockUpdate", "event", "grdb_migrations"]), "\(tables)")
        let journal = try store.pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        XCTAssertEqual(journal, "wal")
        let synchronous = try store.pool.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
        XCTAssertEqual(synchronous, 2, "FULL")
        try store.stageKey(.symmetric, id: 1, type: "AES128", material: Data(repeating: 7, count: 16))
        let reopened = try NodeStore(path: nested)
        XCTAssertEqual(try reopened.keys(kind: .symmetric).map(\.id), [1])
        let migrations = try reopened.pool.read { db in try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations") }
        XCTAssertEqual(migrations, ["v1"])
    }

    func testKeyOperationsAreTransactionalAndIdempotent() throws {
        let clock = NIOLockedValueBox(1_000.0)
        let store = try NodeStore(path: path, now: { clock.withLockedValue { $0 } })
        let one = Data(repeating: 1, count: 16)
        let staged = try store.stageKey(.symmetric, id: 1, type: "AES128", material: one)
        XCTAssertEqual(staged.state, .staged)
        clock.withLockedValue { $0 = 1_001 }
        XCTAssertEqual(try store.stageKey(.symmetric, id: 1, type: "AES128", material: one), staged, "the same request again: the same key")
        assertThrows(.keyConflict(set: "symmetric", id: 1)) { try store.stageKey(.symmetric, id: 1, type: "AES128", material: Data(repeating: 2, count: 16)) }
        assertThrows(.keyConflict(set: "symmetric", id: 1)) { try store.stageKey(.symmetric, id: 1, type: "SHA1", material: one) }

        let active = try store.activateKey(.symmetric, id: 1)
        XCTAssertEqual(active.state, .active)
        XCTAssertEqual(try store.activateKey(.symmetric, id: 1), active)
        try store.stageKey(.symmetric, id: 2, type: "AES256", material: Data(repeating: 3, count: 32))
        clock.withLockedValue { $0 = 1_002 }
        try store.activateKey(.symmetric, id: 2)
        let keys = try store.keys(kind: .symmetric)
        XCTAssertEqual(keys.map(\.state), [.staged, .active], "the old key demoted in the same transaction")
        XCTAssertEqual(keys.filter { $0.state == .active }.count, 1)
        XCTAssertEqual(try store.activeKey(.symmetric)?.id, 2)

        let retired = try store.retireKey(.symmetric, id: 1)
        XCTAssertEqual(retired.state, .retired)
        XCTAssertTrue(retired.material.isEmpty, "retired material is wiped")
        XCTAssertEqual(try store.retireKey(.symmetric, id: 1), retired)
        assertThrows(.keyRetired(set: "symmetric", id: 1)) { try store.activateKey(.symmetric, id: 1) }
        assertThrows(.keyRetired(set: "symmetric", id: 1)) { try store.stageKey(.symmetric, id: 1, type: "AES128", material: one) }
        assertThrows(.keyNotFound(set: "symmetric", id: 9)) { try store.activateKey(.symmetric, id: 9) }

        XCTAssertEqual(try store.keyHistory(.symmetric, id: 1).map(\.state), [.staged, .active, .staged, .retired])
        XCTAssertEqual(try store.keyHistory(.symmetric, id: 2).map(\.state), [.staged, .active])
        let events = try store.events()
        XCTAssertEqual(events.map(\.subject), ["symmetric/1", "symmetric/1", "symmetric/2", "symmetric/1", "symmetric/2", "symmetric/1"])
        XCTAssertEqual(events.map(\.detail), ["staged AES128", "activated", "staged AES256", "demoted (key 2 activated)", "activated", "retired"])
        let ids = events.compactMap(\.id)
        XCTAssertEqual(ids, ids.sorted(), "journal order is write order")
        XCTAssertEqual(ids.count, 6)
        XCTAssertEqual(try store.events(after: events[3].id!).count, 2)
        XCTAssertFalse(String(describing: keys).contains("0101"), "material never in descriptions")
    }

    func testNeverLeavesASetWithoutAUsableKey() throws {
        let store = try NodeStore(path: path)
        try store.stageKey(.cookie, id: 1, type: "AES-SIV-CMAC-256", material: Data(repeating: 1, count: 64))
        assertThrows(.wouldLeaveNoUsableKey(set: "cookie", id: 1, reason: "it is the last usable key of the set")) { try store.retireKey(.cookie, id: 1) }
        try store.activateKey(.cookie, id: 1)
        assertThrows(.wouldLeaveNoUsableKey(set: "cookie", id: 1, reason: "it is the active key; activate another key first")) { try store.retireKey(.cookie, id: 1) }
        try store.stageKey(.cookie, id: 2, type: "AES-SIV-CMAC-256", material: Data(repeating: 2, count: 64))
        try store.retireKey(.cookie, id: 2)
        XCTAssertEqual(try store.activeKey(.cookie)?.id, 1)

        // Sets are independent: a sibling scope and the other kind.
        try store.stageKey(.cookie, scope: "site-b", id: 1, type: "AES-SIV-CMAC-256", material: Data(repeating: 5, count: 64))
        try store.activateKey(.cookie, scope: "site-b", id: 1)
        XCTAssertEqual(try store.activeKey(.cookie)?.id, 1)
        XCTAssertEqual(try store.keys(kind: .cookie).count, 3)
        XCTAssertEqual(try store.keys(kind: .cookie, scope: "site-b").count, 1)
        XCTAssertNil(try store.activeKey(.symmetric))

        // The database itself refuses a second active key, whatever a writer tries.
        XCTAssertThrowsError(try store.pool.write { db in try db.execute(sql: "UPDATE key SET state = 'active' WHERE kind = 'cookie' AND scope = ''") })
        XCTAssertEqual(try store.keys(kind: .cookie, scope: "").filter { $0.state == .active }.count, 1)
    }

    func testMalformedKeysAreRefused() throws {
        let store = try NodeStore(path: path)
        XCTAssertThrowsError(try store.stageKey(.symmetric, id: 1, type: "AES128", material: Data())) { XCTAssertTrue("\($0)".contains("material")) }
        XCTAssertThrowsError(try store.stageKey(.symmetric, id: -1, type: "AES128", material: Data([1])))
        XCTAssertThrowsError(try store.stageKey(.symmetric, id: 1 << 33, type: "AES128", material: Data([1])))
        XCTAssertThrowsError(try store.stageKey(.symmetric, id: 1, type: "", material: Data([1])))
        XCTAssertEqual(try store.keys(kind: .symmetric), [])
    }

    func testRetentionPrunesMeasurementsAndKeepsTheJournal() throws {
        let clock = NIOLockedValueBox(1_000_000.0)
        let store = try NodeStore(path: path, now: { clock.withLockedValue { $0 } })
        func sample(_ utc: Double) -> SourceSampleRecord { .init(source: "GPS", local: Int64(utc), utc: utc, offset: 1e-6, delay: 0, dispersion: 1e-7) }
        func update(_ utc: Double) -> ClockUpdateRecord {
            .init(local: Int64(utc), utc: utc, offset: 0, rmsOffset: 0, frequencyPPM: 1, skewPPM: 0.1, errorBound: nil, source: nil, synchronized: false, updates: 1)
        }
        try store.append(samples: [sample(990_000), sample(999_000), sample(999_999)], updates: [update(990_000), update(999_999)],
                         events: [EventRecord(at: 990_000, kind: .node, subject: "fleetnode", detail: "old")])
        XCTAssertEqual(try store.prune(retention: 5_000), 2)
        XCTAssertEqual(try store.samples().map(\.utc), [999_000, 999_999])
        XCTAssertEqual(try store.clockUpdates().map(\.utc), [999_999])
        XCTAssertEqual(try store.samples(source: "GPS", since: 999_500).count, 1)
        XCTAssertEqual(try store.eventCount(), 1, "the journal is not pruned")

        // The recorder prunes on its own schedule (a tenth of the retention).
        let recorder = try StoreRecorder(store: store, retention: 60, flushInterval: 0.05, logger: Logger(label: "test"))
        XCTAssertEqual(recorder.pruneInterval, .seconds(6))
        recorder.prune()
        XCTAssertEqual(try store.samples().map(\.utc), [999_999])
    }

    func testRecorderWritesInBatchesAndRecordsTransitionsInOrder() async throws {
        let store = try NodeStore(path: path)
        let recorder = try StoreRecorder(store: store, retention: 604_800, flushInterval: 3_600, logger: Logger(label: "test"))
        for index in 0..<500 {
            recorder.recordSample(.init(source: "GPS", local: Int64(index), utc: 1_700_000_000 + Double(index), offset: 1e-7, delay: 0, dispersion: 1e-8))
        }
        XCTAssertEqual(try store.sampleCount(), 0, "nothing is written per sample")
        XCTAssertEqual(recorder.status().pending, 500)
        XCTAssertTrue(recorder.flush())
        XCTAssertEqual(try store.sampleCount(), 500)
        // Throughput of one batch: 20,000 samples in one transaction (a week of 1 Hz samples is 604,800 rows).
        for index in 0..<20_000 {
            recorder.recordSample(.init(source: "PPS", local: Int64(index), utc: 1_700_000_000 + Double(index), offset: 1e-7, delay: 0, dispersion: 1e-8))
        }
        let started = ContinuousClock.now
        XCTAssertTrue(recorder.flush())
        let elapsed = ContinuousClock.now - started
        print("state store: 20000 samples in one batch in \(elapsed) (\(Int(20_000 / (Double(elapsed.components.attoseconds) / 1e18 + Double(elapsed.components.seconds)))) rows/s)")
        XCTAssertEqual(try store.sampleCount(), 20_500)
        var status = recorder.status()
        XCTAssertEqual(status.measurementsWritten, 20_500)
        status = recorder.status()
        XCTAssertEqual(status.pending, 0)
        XCTAssertNotNil(status.lastWrite)
        XCTAssertEqual(status.path, path)
        XCTAssertGreaterThan(status.sizeBytes, 0)

        // Source states over four updates: unreachable (nothing), reachable but unusable, selected, falseticker.
        func report(_ state: SourceState, reach: UInt8, note: String? = nil) -> SourceReport {
            SourceReport(id: SourceID("GPS"), kind: .gps, state: state, stratum: 0, referenceID: 0, reach: reach, lastSampleAge: nil,
                         offset: nil, jitter: nil, rootDistance: nil, samples: 0, accepted: 0, dropped: 0, note: note)
        }
        func timekeeping(updates: Int, _ sources: [SourceReport]) -> TimekeepingStatus {
            TimekeepingStatus(tracking: TrackingReport(
                selected: updates > 0 ? SourceID("GPS") : nil, referenceID: 0, stratum: 1, leap: 0, synchronized: updates > 0,
                lastOffset: 1e-6, rmsOffset: 2e-6, frequencyPPM: 3.5, skewPPM: 0.01, rootDelay: 0, rootDispersion: 1e-6,
                lastUpdateAge: nil, updateInterval: 1, holdoverSeconds: nil, errorBound: 1e-6, updates: updates, steps: 0, reason: nil),
                sources: sources, refclocks: [], leap: nil)
        }
        recorder.observe(timekeeping(updates: 0, [report(.unusable, reach: 0)]), local: 1, utc: 100)
        recorder.observe(timekeeping(updates: 0, [report(.unusable, reach: 1, note: "too few samples")]), local: 2, utc: 101)
        recorder.observe(timekeeping(updates: 1, [report(.selected, reach: 3)]), local: 3, utc: 102)
        recorder.observe(timekeeping(updates: 1, [report(.selected, reach: 7)]), local: 4, utc: 103)
        recorder.observe(timekeeping(updates: 2, [report(.falseticker, reach: 15)]), local: 5, utc: 104)
        recorder.flush()
        let events = try store.events().filter { $0.kind == .source }
        XCTAssertEqual(events.map(\.detail), ["unreachable -> unusable (too few samples)", "unusable -> selected", "selected -> falseticker"])
        XCTAssertEqual(events.map(\.at), [101, 102, 104])
        let updates = try store.clockUpdates()
        XCTAssertEqual(updates.map(\.updates), [1, 2], "one row per discipline update")
        XCTAssertEqual(updates.first?.frequencyPPM, 3.5)
        XCTAssertEqual(updates.first?.source, "GPS")
        XCTAssertEqual(recorder.status().events, 3)
    }

    func testRecorderKeepsRowsWhenWritesFailAndDropsOnlyBeyondItsBound() throws {
        let store = try NodeStore(path: path)
        let recorder = try StoreRecorder(store: store, retention: 604_800, flushInterval: 3_600, maxPending: 100, logger: Logger(label: "test"))
        // A trigger that makes every insert into sourceSample fail, as a full disk would.
        try store.pool.write { db in
            try db.execute(sql: "CREATE TRIGGER fail BEFORE INSERT ON sourceSample BEGIN SELECT RAISE(ABORT, 'disk full (simulated)'); END")
        }
        for index in 0..<80 { recorder.recordSample(.init(source: "S", local: Int64(index), utc: Double(index), offset: 0, delay: 0, dispersion: 0)) }
        XCTAssertFalse(recorder.flush())
        for index in 80..<150 { recorder.recordSample(.init(source: "S", local: Int64(index), utc: Double(index), offset: 0, delay: 0, dispersion: 0)) }
        var status = recorder.status()
        XCTAssertEqual(status.writeFailures, 1)
        XCTAssertEqual(status.pending, 100)
        XCTAssertEqual(status.dropped, 50)
        XCTAssertTrue(status.lastError?.contains("disk full") ?? false, "\(status)")
        try store.pool.write { db in try db.execute(sql: "DROP TRIGGER fail") }
        XCTAssertTrue(recorder.flush())
        XCTAssertEqual(try store.samples().map(\.local), Array(50..<150), "the newest rows survive, in order")
        status = recorder.status()
        XCTAssertEqual(status.pending, 0)
    }

    /// Certificate swaps and key changes made outside the store reach the journal from status snapshots.
    func testCertificateAndKeyChangesBecomeEvents() throws {
        let store = try NodeStore(path: path, now: { 500 })
        let recorder = try StoreRecorder(store: store, flushInterval: 3_600, logger: Logger(label: "test"))
        func status(certificate: String, cookies: [UInt32], current: UInt32, symmetric: [UInt32]) -> NodeStatus {
            NodeStatus(
                name: "n", version: "v", uptimeSeconds: 1,
                clock: .init(driver: "software", offsetSeconds: 0, frequencyPPM: 0, precision: -20),
                serving: .init(synchronized: false, source: "none", leap: 3, stratum: 16, referenceID: "", rootDelaySeconds: 0, rootDispersionSeconds: 0),
                listeners: [], ntp: ServerCounters(), busiestClients: [], rateLimiting: false, configReloads: 0,
                nts: .init(listeners: [], certificate: .init(subject: "CN=time.test", notAfter: 2_000_000_000, sha256: certificate),
                           certificateSwaps: 0, cookieKeys: cookies.map { .init(id: $0, createdAt: 0, current: $0 == current) },
                           rotateIntervalSeconds: 0, ntske: NTSKECounters(), activeConnections: 0),
                symmetricKeys: symmetric.map { .init(id: $0, type: "AES128", bits: 128) })
        }
        recorder.observe(node: status(certificate: "aa", cookies: [1, 2], current: 2, symmetric: [1]))
        recorder.observe(node: status(certificate: "aa", cookies: [1, 2], current: 2, symmetric: [1]))
        recorder.observe(node: status(certificate: "bb", cookies: [2, 3], current: 3, symmetric: [1, 2]))
        recorder.flush()
        let events = try store.events().map { "\($0.kind) \($0.subject): \($0.detail)" }
        XCTAssertEqual(events, [
            "certificate CN=time.test: in use: sha256 aa, valid until 2000000000",
            "key cookie: in use: 1, 2, current 2",
            "key symmetric-file: in use: 1 AES128",
            "certificate CN=time.test: swapped in: sha256 bb, valid until 2000000000",
            "key cookie/3: added",
            "key cookie/1: dropped",
            "key cookie/3: current",
            "key symmetric-file/2: loaded 2 AES128",
        ])
    }

    func testDriftRoundTrip() throws {
        let store = try NodeStore(path: path)
        XCTAssertNil(try store.drift())
        try store.saveDrift(frequencyPPM: -12.345678, skewPPM: 0.0123)
        try store.saveDrift(frequencyPPM: 17.25, skewPPM: 0.5)
        let drift = try XCTUnwrap(try NodeStore(path: path).drift())
        XCTAssertEqual(drift.frequencyPPM, 17.25)
        XCTAssertEqual(drift.skewPPM, 0.5)
        XCTAssertThrowsError(try store.saveDrift(frequencyPPM: .nan, skewPPM: 0))
        XCTAssertThrowsError(try store.saveDrift(frequencyPPM: 600, skewPPM: 0))
        let recorder = try StoreRecorder(store: store, logger: Logger(label: "test"))
        XCTAssertEqual(recorder.storedDrift(), DriftFile.Contents(frequencyPPM: 17.25, skewPPM: 0.5))
        recorder.saveDrift(.init(frequencyPPM: 1.5, skewPPM: 0.25))
        XCTAssertEqual(try store.drift()?.frequencyPPM, 1.5)
    }

    func testFilesAreCreated0600AndLooseModesAreRefused() throws {
        let store = try NodeStore(path: path)
        try store.stageKey(.symmetric, id: 1, type: "AES128", material: Data(repeating: 9, count: 16))
        for file in store.files {
            XCTAssertTrue(FileManager.default.fileExists(atPath: file), file)
            XCTAssertEqual(try mode(file), 0o600, file)
        }

        // An existing database readable by others holds exposed keys: refused, with what to do.
        let other = directory.appendingPathComponent("other.sqlite").path
        _ = try NodeStore(path: other)
        chmod(other, 0o644)
        do {
            _ = try NodeStore(path: other)
            XCTFail("accepted a 0644 database")
        } catch {
            XCTAssertTrue("\(error)".contains("chmod 600"), "\(error)")
        }
        chmod(other, 0o600)
        _ = FileManager.default.createFile(atPath: other + "-wal", contents: Data(), attributes: [.posixPermissions: 0o640])
        XCTAssertThrowsError(try NodeStore(path: other)) { XCTAssertTrue("\($0)".contains("other.sqlite-wal"), "\($0)") }

        // An empty file (made by an installer under a loose umask) holds nothing yet: made private and used.
        let empty = directory.appendingPathComponent("empty.sqlite").path
        _ = FileManager.default.createFile(atPath: empty, contents: Data(), attributes: [.posixPermissions: 0o644])
        _ = try NodeStore(path: empty)
        XCTAssertEqual(try mode(empty), 0o600)
    }

    func testDamagedFilesGiveAClearError() throws {
        try Data((0..<8_192).map { UInt8(truncatingIfNeeded: $0 &* 37) }).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o600)
        do {
            _ = try NodeStore(path: path)
            XCTFail("opened garbage")
        } catch {
            XCTAssertTrue("\(error)".contains("not a database"), "\(error)")
            XCTAssertTrue("\(error)".contains("move the file away"), "\(error)")
        }

        // A real database whose pages after the header are overwritten: refused at open, not at first use.
        let damaged = directory.appendingPathComponent("damaged.sqlite").path
        do {
            let store = try NodeStore(path: damaged)
            for id in 1...50 { try store.stageKey(.symmetric, id: Int64(id), type: "AES128", material: Data(repeating: UInt8(id), count: 16)) }
            try store.checkpoint()
        }
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: damaged))
        let size = try handle.seekToEnd()
        try handle.seek(toOffset: 4_096)
        handle.write(Data(repeating: 0xA5, count: Int(size) - 4_096))
        try handle.close()
        XCTAssertThrowsError(try NodeStore(path: damaged)) { error in
            guard case .unusableFile(let file, _) = error as? StoreError else { return XCTFail("\(error)") }
            XCTAssertEqual(file, damaged)
        }
    }

    /// The node stops at start, naming the key and the problem, instead of running without its keys.
    func testNodeRefusesToStartWithADamagedDatabase() throws {
        try Data(repeating: 0x42, count: 4_096).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o600)
        let config = directory.appendingPathComponent("node.toml")
        try """
            [node]
            status_socket = "\(directory.path)/status.sock"
            [state]
            database = "\(path)"
            [ntp]
            listen = ["127.0.0.1:0"]
            """.write(to: config, atomically: true, encoding: .utf8)
        let node = NodeProcess.binDirectory.appendingPathComponent("fleetnode").path
        let result = try ExternalTool.run(node, ["run", "--config", config.path], timeout: 20)
        XCTAssertFalse(result.timedOut)
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("state.database: state database \(path): file is not a database"), result.stderr)
    }

    func testStateConfiguration() throws {
        XCTAssertNil(try ConfigLoader.parse(text: "", file: "t.toml").state, "no table, no database")
        let defaults = try XCTUnwrap(try ConfigLoader.parse(text: "[state]\n", file: "t.toml").state)
        XCTAssertEqual(defaults.database, "/var/lib/fleetnode/state.sqlite")
        XCTAssertEqual(defaults.retention, 604_800)
        let set = try XCTUnwrap(try ConfigLoader.parse(text: "[state]\ndatabase = \"/srv/s.db\"\nretention = 3600\nflush_interval = 0.5\n", file: "t.toml").state)
        XCTAssertEqual(set, NodeConfig.State(database: "/srv/s.db", retention: 3_600, flushInterval: 0.5))
        for (text, key, fragment) in [
            ("[state]\ndatabase = \"state.db\"\n", "state.database", "absolute path"),
            ("[state]\nretention = 10\n", "state.retention", "between 60"),
            ("[state]\nretention = \"week\"\n", "state.retention", "expected a number"),
            ("[state]\npath = \"/x\"\n", "state.path", "unknown key"),
        ] {
            XCTAssertThrowsError(try ConfigLoader.parse(text: text, file: "t.toml")) { error in
                let error = error as? ConfigError
                XCTAssertEqual(error?.key, key, text)
                XCTAssertEqual(error?.line, 2, text)
                XCTAssertTrue(error?.message.contains(fragment) ?? false, "\(String(describing: error))")
            }
        }
    }
}

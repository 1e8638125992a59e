import Admin
import FleetCrypto
import Foundation
import Logging
import NodeModels
import NTSKE
import NIOConcurrencyHelpers
import XCTest
@testable import Node

/// The state database and key files on a real full filesystem (a 4 MiB tmpfs this test mounts and
/// unmounts): writes fail, the recorder says so in status once per state change (not per flush), keeps
/// its rows, and clears by itself when space comes back; a key file that cannot be written leaves no
/// temporary file behind.
final class StorageFaultTests: XCTestCase {
    var directory: URL!
    var mountPoint: String!

    override func setUp() async throws {
        directory = try NodeProcess.makeDirectory()
        mountPoint = directory.appendingPathComponent("fs").path
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        guard getuid() == 0, (try? ExternalTool.run("/bin/mount", ["-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", mountPoint]))?.status == 0 else {
            throw XCTSkip("cannot mount a tmpfs (needs root)")
        }
    }

    override func tearDown() async throws {
        if let mountPoint {
            if (try? ExternalTool.run("/bin/umount", [mountPoint]))?.status != 0 {
                _ = try? ExternalTool.run("/bin/umount", ["-l", mountPoint])
            }
        }
        try? FileManager.default.removeItem(at: directory)
    }

    /// Fills the filesystem with a file of zeros; returns its path (remove it to make room again).
    func fill() throws -> String {
        let filler = mountPoint + "/filler"
        _ = FileManager.default.createFile(atPath: filler, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: filler))
        defer { try? handle.close() }
        let chunk = Data(count: 16 * 1024)
        while (try? handle.write(contentsOf: chunk)) != nil {}
        return filler
    }

    func testFullDiskIsAStateReportedOnceAndClearsByItself() throws {
        let log = CollectedLog()
        let logger = Logger(label: "test") { _ in CollectedLog.Handler(log: log) }
        try {
            let store = try NodeStore(path: mountPoint + "/state.sqlite")
            let recorder = try StoreRecorder(store: store, retention: 604_800, flushInterval: 3_600, maxPending: 1_000_000, logger: logger)
            recorder.recordSample(.init(source: "S", local: 0, utc: 0, offset: 0, delay: 0, dispersion: 0))
            XCTAssertTrue(recorder.flush())
            XCTAssertFalse(recorder.status().failing)

            let filler = try fill()
            func record(_ range: Range<Int>) {
                for index in range {
                    recorder.recordSample(.init(source: "S", local: Int64(index), utc: Double(index), offset: 0, delay: 0, dispersion: 0))
                }
            }
            record(1..<5_000)
            for _ in 0..<4 { XCTAssertFalse(recorder.flush(), "no room: the batch cannot be written") }
            var status = recorder.status()
            XCTAssertTrue(status.failing, "\(status)")
            XCTAssertEqual(status.writeFailures, 4)
            XCTAssertEqual(status.pending, 4_999, "nothing lost while failing")
            XCTAssertEqual(log.count("state database cannot be written"), 1, "logged once, not per flush: \(log.messages)")

            // A key file cannot be written either, and leaves no temporary file.
            XCTAssertThrowsError(try CookieKeyStore(path: mountPoint + "/cookie.keys", history: 3, now: 0, logger: logger)) { error in
                XCTAssertTrue("\(error)".contains("No space left on device"), "\(error)")
                XCTAssertFalse("\(error)".contains("NSCocoaErrorDomain"), "\(error)")
            }
            let left = try FileManager.default.contentsOfDirectory(atPath: mountPoint)
            XCTAssertFalse(left.contains { $0.contains(".tmp") || $0.hasPrefix("cookie.keys") }, "\(left)")

            try FileManager.default.removeItem(atPath: filler)
            XCTAssertTrue(recorder.flush(), "room again: the next flush gets through")
            status = recorder.status()
            XCTAssertFalse(status.failing)
            XCTAssertEqual(status.pending, 0)
            XCTAssertEqual(try store.samples().count, 5_000, "every row kept through the fault")
            XCTAssertEqual(log.count("state database writable again"), 1, "\(log.messages)")
        }()
    }

    /// A running node following chronyd, its state database on the tmpfs: the disk fills and `/v1/health`
    /// turns degraded with the reason, the metric and status say so, the node keeps serving, the fault is
    /// logged once; the disk is freed and all of it clears by itself, with no sample lost.
    func testRunningNodeReportsAFullDiskAndRecovers() async throws {
        let port = freeLoopbackPort()
        let chrony = try ChronyProcess.server(in: directory, port: port)
        defer { chrony.stop() }
        let access = try AdminAccess(pki: try TestPKI(directory: directory))
        let node = try await NodeProcess(config: """
            [state]
            database = "\(mountPoint!)/state.sqlite"
            flush_interval = 0.2
            [ntp]
            listen = ["127.0.0.1:0"]
            [metrics]
            listen = "127.0.0.1:0"
            [[server]]
            address = "127.0.0.1:\(port)"
            minpoll = -1
            maxpoll = -1
            \(access.table)
            """)
        defer { node.stop() }
        try await waitFor(node, seconds: 30) { ($0.stateStore?.measurementsWritten ?? 0) >= 2 && $0.serving.synchronized }
        let admin = try AdminClient(node: try await node.adminListener(), credentials: access.credentials)
        let metricsURL = "http://\(try await node.status().metricsListener ?? "")/metrics"

        let filler = try fill()
        try await waitFor(node, seconds: 30) { ($0.stateStore?.failing ?? false) && ($0.stateStore?.writeFailures ?? 0) >= 5 }
        let failing = try await node.status()
        let health = try await admin.get(AdminPath.health, as: AdminHealth.self)
        let reason = health.reasons.first { $0.message.hasPrefix("state database") }
        XCTAssertEqual(health.verdict, .degraded, "\(health)")
        XCTAssertNotNil(reason, "\(health)")
        XCTAssertTrue(failing.serving.synchronized, "still serving")
        XCTAssertTrue(StatusReport.text(failing).contains("FAILING NOW"), StatusReport.text(failing))
        try await Task.sleep(for: .seconds(2.5))
        var metrics = try PrometheusScrape.scrape(metricsURL)
        XCTAssertEqual(PrometheusScrape.value(metrics, "fleetnode_state_database_writable{}"), 0, "\(metrics.filter { $0.contains("state_database") })")
        XCTAssertGreaterThanOrEqual(PrometheusScrape.value(metrics, "fleetnode_state_database_write_failures_total{}") ?? 0, 5)
        XCTAssertEqual(node.log.components(separatedBy: "state database cannot be written").count - 1, 1, "logged once, not per flush")

        try FileManager.default.removeItem(atPath: filler)
        try await waitFor(node, seconds: 30) { !($0.stateStore?.failing ?? true) && ($0.stateStore?.pending ?? 1) < 20 }
        let healed = try await admin.get(AdminPath.health, as: AdminHealth.self)
        XCTAssertFalse(healed.reasons.contains { $0.message.hasPrefix("state database") }, "\(healed)")
        try await Task.sleep(for: .seconds(2.5))
        metrics = try PrometheusScrape.scrape(metricsURL)
        XCTAssertEqual(PrometheusScrape.value(metrics, "fleetnode_state_database_writable{}"), 1)
        XCTAssertEqual(node.log.components(separatedBy: "state database writable again").count - 1, 1, node.log)
        let final = try await node.status()
        XCTAssertEqual(final.stateStore?.dropped, 0, "no sample lost")
        print("storage fault: health while full: \(health.verdict.rawValue): \(reason?.message ?? "-"); after: \(healed.verdict.rawValue) \(healed.reasons.map(\.message))")
        node.stop()
    }
}

extension StorageFaultTests {
    /// The cookie key file's directory made unwritable while the node runs (`chattr +i`, which stops root
    /// too, on the test's tmpfs): a key change through the admin API fails and leaves no temporary file,
    /// the node keeps serving NTS with the keys in memory, health, metrics and status say the key file
    /// cannot be written, the log says it once; the directory is made writable again and it clears by itself
    /// (the node writes the keys in use again at its next rotation check), with the key file unchanged.
    func testRunningNodeReportsAnUnwritableCookieKeyFileAndRecovers() async throws {
        let chattr = "/usr/bin/chattr"
        guard FileManager.default.isExecutableFile(atPath: chattr) else { throw XCTSkip("no \(chattr)") }
        let keys = mountPoint + "/keys"
        try FileManager.default.createDirectory(atPath: keys, withIntermediateDirectories: true)
        let keyFile = keys + "/cookie-keys"
        let certificate = try TestCertificate.make(in: directory)
        let access = try AdminAccess(pki: try TestPKI(directory: directory))
        let node = try await NodeProcess(config: """
            [local]
            stratum = 1
            [ntp]
            listen = ["127.0.0.1:0"]
            [metrics]
            listen = "127.0.0.1:0"
            \(certificate.ntsTable(keyFile: keyFile, extra: "rotate_interval = 60"))
            \(access.table)
            """)
        defer { node.stop() }
        defer { _ = try? ExternalTool.run(chattr, ["-i", keys]) }
        let admin = try AdminClient(node: try await node.adminListener(), credentials: access.credentials)
        let before = try String(contentsOfFile: keyFile, encoding: .utf8)
        let keysBefore = try await node.status().nts?.cookieKeys
        let logStart = node.log.count

        XCTAssertEqual(try ExternalTool.run(chattr, ["+i", keys]).status, 0)
        do {
            _ = try await admin.send("POST", AdminPath.cookieKeyStage, body: CookieKeyStageRequest(id: 9, key: String(repeating: "5a", count: 32)), as: CookieKeyResult.self)
            XCTFail("a key change that cannot be written must fail")
        } catch {
            XCTAssertTrue("\(error)".contains("Operation not permitted") || "\(error)".contains("cannot"), "\(error)")
        }
        let failing = try await node.status()
        let keyFileStatus = try XCTUnwrap(failing.nts?.keyFile)
        XCTAssertNotNil(keyFileStatus.failingSince, "\(keyFileStatus)")
        let health = try await admin.get(AdminPath.health, as: AdminHealth.self)
        let reason = try XCTUnwrap(health.reasons.first { $0.fault == "cookie-key-file" }, "\(health)")
        XCTAssertTrue(StatusReport.text(failing).contains("CANNOT BE WRITTEN"), StatusReport.text(failing))
        XCTAssertEqual(failing.nts?.cookieKeys, keysBefore, "the keys in use are unchanged")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: keys), ["cookie-keys"], "no temporary file left")
        // Still serving NTS-KE with the keys in memory.
        let port = try await node.ntsKEPort()
        let trust = try TLSContext.client(trustedCertificates: certificate.certificate, alpn: NTSKEServer.alpn)
        let session = try await NTSKEClient.establish(host: "127.0.0.1", port: port, trust: trust, ciphers: NettleCipherFactory())
        XCTAssertEqual(session.cookies.count, 8)
        try await Task.sleep(for: .seconds(7))  // a retry at the next rotation check (every 6 s) fails again
        let retried = try await node.status().nts?.keyFile?.writeFailures ?? 0
        XCTAssertGreaterThanOrEqual(retried, 2, "retried")
        let listener = try XCTUnwrap(failing.metricsListener)
        var metrics = try PrometheusScrape.scrape("http://\(listener)/metrics")
        XCTAssertEqual(PrometheusScrape.value(metrics, "fleetnode_nts_key_file_writable{}"), 0)
        XCTAssertGreaterThanOrEqual(PrometheusScrape.value(metrics, "fleetnode_nts_key_file_write_failures_total{}") ?? 0, 1)
        var log = String(node.log.dropFirst(logStart))
        XCTAssertEqual(log.components(separatedBy: "NTS cookie key file cannot be written").count - 1, 1, "logged once, not per retry: \(log)")
        XCTAssertEqual(log.components(separatedBy: "health: NTS cookie key file").count - 1, 1, log)

        XCTAssertEqual(try ExternalTool.run(chattr, ["-i", keys]).status, 0)
        try await waitFor(node, seconds: 15) { $0.nts?.keyFile?.failingSince == nil }
        try await Task.sleep(for: .seconds(2.5))
        let healed = try await admin.get(AdminPath.health, as: AdminHealth.self)
        XCTAssertFalse(healed.reasons.contains { $0.fault == "cookie-key-file" }, "\(healed)")
        metrics = try PrometheusScrape.scrape("http://\(listener)/metrics")
        XCTAssertEqual(PrometheusScrape.value(metrics, "fleetnode_nts_key_file_writable{}"), 1)
        XCTAssertEqual(try String(contentsOfFile: keyFile, encoding: .utf8), before, "no key lost or changed")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: keys), ["cookie-keys"], "no temporary file left")
        log = String(node.log.dropFirst(logStart))
        XCTAssertEqual(log.components(separatedBy: "NTS cookie key file writable again").count - 1, 1, log)
        print("cookie key file unwritable: \(reason.message); after: \(healed.verdict.rawValue) \(healed.reasons.map(\.message))")
    }
}

/// Log messages kept in memory, to count what a fault logs.
final class CollectedLog: Sendable {
    private let stored = NIOLockedValueBox<[String]>([])

    var messages: [String] { stored.withLockedValue { $0 } }

    func count(_ text: String) -> Int { messages.filter { $0.contains(text) }.count }

    struct Handler: LogHandler {
        let log: CollectedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            log.stored.withLockedValue { $0.append("\(event.message)") }
        }
    }
}

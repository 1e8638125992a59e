import Admin
import Foundation
import GPSTestSupport
import NodeModels
import XCTest
@testable import Node

/// The state database's filesystem goes read-only while the node runs, as ext4 does after an I/O error with
/// `errors=remount-ro`: an 16 MiB ext4 image on a loop device this test mounts, its error trigger
/// (`/sys/fs/ext4/DEV/trigger_fs_error`) fired. (A tmpfs cannot be remounted read-only while SQLite holds its
/// files open for writing: the kernel answers EBUSY; `chmod` does not stop root.) The node keeps serving and
/// keeps its rows in memory; health, metrics and status say the database cannot be written, the log says it
/// once; the operator repairs the filesystem (lazy unmount, e2fsck, mount again) and the node opens the
/// database again by itself and writes what it held, with nothing lost.
final class DatabaseFaultTests: XCTestCase {
    var directory: URL!
    var image: String!
    var mountPoint: String!

    override func setUp() async throws {
        directory = try NodeProcess.makeDirectory()
        image = directory.appendingPathComponent("state.ext4").path
        mountPoint = directory.appendingPathComponent("fs").path
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/sbin/mkfs.ext4"),
              FileManager.default.fileExists(atPath: "/dev/loop-control")
        else { throw XCTSkip("needs root, mkfs.ext4 and loop devices") }
        XCTAssertEqual(try ExternalTool.run("/usr/bin/truncate", ["-s", "16M", image]).status, 0)
        XCTAssertEqual(try ExternalTool.run("/usr/sbin/mkfs.ext4", ["-q", image]).status, 0)
        guard let device = try attach(), try ExternalTool.run("/bin/mount", ["-o", "errors=remount-ro", device, mountPoint]).status == 0 else {
            throw XCTSkip("cannot mount an ext4 image on a loop device")
        }
    }

    /// Loop devices this test attached, detached at the end (a busy one when its last user lets go).
    var devices: [String] = []

    /// Attaches the image to a new loop device (`mount -o loop` would reuse the one still attached, whose
    /// filesystem is the failed one).
    private func attach() throws -> String? {
        let result = try ExternalTool.run("/usr/sbin/losetup", ["-f", "--show", image])
        let device = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        guard result.status == 0, device.hasPrefix("/dev/loop") else { return nil }
        devices.append(device)
        return device
    }

    override func tearDown() async throws {
        if let mountPoint {
            if (try? ExternalTool.run("/bin/umount", [mountPoint]))?.status != 0 {
                _ = try? ExternalTool.run("/bin/umount", ["-l", mountPoint])
            }
        }
        for device in devices { _ = try? ExternalTool.run("/usr/sbin/losetup", ["-d", device]) }
        try? FileManager.default.removeItem(at: directory)
    }

    /// The loop device under the mount point ("loop3").
    private func device() throws -> String {
        let result = try ExternalTool.run("/usr/bin/findmnt", ["-n", "-o", "SOURCE", mountPoint])
        return URL(fileURLWithPath: result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)).lastPathComponent
    }

    func testDatabaseGoingReadOnlyIsReportedAndRecoveredAfterRepair() async throws {
        let feeder = try SHMFeeder(unit: 12)
        defer { feeder.stop() }
        let access = try AdminAccess(pki: try TestPKI(directory: directory))
        let database = mountPoint + "/state.sqlite"
        let node = try await NodeProcess(config: """
            [state]
            database = "\(database)"
            flush_interval = 0.2
            [ntp]
            listen = ["127.0.0.1:0"]
            [metrics]
            listen = "127.0.0.1:0"
            [[refclock]]
            name = "GPS"
            driver = "shm"
            unit = \(feeder.unit)
            poll = 1
            \(access.table)
            """)
        defer { node.stop() }
        try await waitFor(node, seconds: 30) { ($0.stateStore?.measurementsWritten ?? 0) >= 3 && $0.serving.synchronized }
        let admin = try AdminClient(node: try await node.adminListener(), credentials: access.credentials)
        let metricsURL = "http://\(try await node.status().metricsListener ?? "")/metrics"
        let logStart = node.log.count

        let trigger = "/sys/fs/ext4/\(try device())/trigger_fs_error"
        guard FileManager.default.fileExists(atPath: trigger) else { throw XCTSkip("no \(trigger)") }
        try "1\n".write(toFile: trigger, atomically: false, encoding: .utf8)
        try await waitFor(node, seconds: 20) { ($0.stateStore?.failing ?? false) && ($0.stateStore?.writeFailures ?? 0) >= 3 }
        let failing = try await node.status()
        XCTAssertTrue(failing.serving.synchronized, "still serving")
        XCTAssertEqual(failing.serving.stratum, 1)
        XCTAssertEqual(failing.serving.leap, 0)
        let health = try await admin.get(AdminPath.health, as: AdminHealth.self)
        XCTAssertEqual(health.verdict, .degraded, "\(health)")
        let reason = try XCTUnwrap(health.reasons.first { $0.fault == "state-database" }, "\(health)")
        XCTAssertTrue(StatusReport.text(failing).contains("FAILING NOW"))
        try await Task.sleep(for: .seconds(2.5))
        let metrics = try PrometheusScrape.scrape(metricsURL)
        XCTAssertEqual(PrometheusScrape.value(metrics, "fleetnode_state_database_writable{}"), 0)
        XCTAssertEqual(PrometheusScrape.value(metrics, "fleetnode_health_fault{fault=state-database,subject=}"), 1)
        XCTAssertEqual(String(node.log.dropFirst(logStart)).components(separatedBy: "state database cannot be written").count - 1, 1, "logged once: \(node.log)")

        // The operator repairs it: the node still holds the failed mount's files, so unmount lazily, check
        // the image, mount it again at the same place.
        XCTAssertEqual(try ExternalTool.run("/bin/umount", ["-l", mountPoint]).status, 0)
        let check = try ExternalTool.run("/usr/sbin/e2fsck", ["-fy", image])
        XCTAssertLessThanOrEqual(check.status, 1, "e2fsck: \(check.stdout) \(check.stderr)")
        let fresh = try XCTUnwrap(try attach())
        let remounted = try ExternalTool.run("/bin/mount", ["-o", "errors=remount-ro", fresh, mountPoint])
        XCTAssertEqual(remounted.status, 0, remounted.stderr)
        try await waitFor(node, seconds: 30) { !($0.stateStore?.failing ?? true) && ($0.stateStore?.pending ?? 1) < 20 }
        let healed = try await admin.get(AdminPath.health, as: AdminHealth.self)
        XCTAssertFalse(healed.reasons.contains { $0.fault == "state-database" }, "\(healed)")
        let final = try await node.status()
        XCTAssertEqual(final.stateStore?.dropped, 0, "no row lost")
        let log = String(node.log.dropFirst(logStart))
        XCTAssertTrue(log.contains("state database opened again"), log)
        XCTAssertEqual(log.components(separatedBy: "state database writable again").count - 1, 1, log)
        node.stop()
        // Every measurement the node says it wrote (before the fault, and held through it) is in the file.
        let store = try NodeStore(path: database)
        let inFile = try store.samples().count + store.clockUpdates().count
        XCTAssertGreaterThanOrEqual(UInt64(inFile), final.stateStore?.measurementsWritten ?? .max, "nothing lost")
        print("database read-only (ext4 remount-ro): \(reason.message); after repair: \(healed.verdict.rawValue), \(inFile) measurements in the file, \(final.stateStore?.measurementsWritten ?? 0) written")
    }
}

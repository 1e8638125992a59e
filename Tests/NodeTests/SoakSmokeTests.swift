import Foundation
import XCTest

/// The soak (`make soak`, scripts/soak.sh; ISSUE 14) end to end in well under a minute of load: two real nodes,
/// plain and NTS load with good NTS-KE clients and the NTS probe, the connection-slot attacker, a cookie and a
/// symmetric-key rotation through the real fleetctl, the sampler and the judge. The script must finish with its
/// verdict PASS: memory and descriptors not rising, no authentication failure (the rotations included), every
/// error counter that rose explained. The long run's figures are in the README ("Soak").
final class SoakSmokeTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func testSoakEndToEndBriefly() throws {
        let bin = NodeProcess.binDirectory
        guard FileManager.default.isExecutableFile(atPath: bin.appendingPathComponent("soak-load").path) else {
            throw XCTSkip("no soak-load next to fleetnode (swift build --build-tests builds it)")
        }
        _ = try ExternalTool.require("python3", package: "python3")
        let directory = try NodeProcess.makeDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let run = directory.appendingPathComponent("soak-run")
        let output = directory.appendingPathComponent("soak.log")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)

        let process = Process()
        process.executableURL = Self.root.appendingPathComponent("scripts/soak.sh")
        var settings = [
            "SOAK_BIN": bin.path, "SOAK_RUN_DIR": run.path, "SOAK_SECONDS": "36", "SOAK_RATE": "2000",
            "SOAK_COOKIE_LIFETIME": "6", "SOAK_INTERVAL": "3", "SOAK_ATTACK_ADDRESSES": "20", "SOAK_ATTACK_PER_ADDRESS": "5",
            "SOAK_ADDRESSES": "127.0.0.73 127.0.0.74",
        ]
        // Under AddressSanitizer (make sanitize-asan) freed memory waits in its quarantine, up to 256 MB, before
        // it is reused: the verdict's memory trend measured that (190 -> 533 MiB in 36 s, RISING). With 8 MB the
        // nodes' memory is ours again (186 -> 209 MiB, flat) and is still judged; a use after free is still
        // caught while the block is in the quarantine. A later option wins (ASAN_OPTIONS is read left to right).
        if let options = ProcessInfo.processInfo.environment["ASAN_OPTIONS"] {
            settings["ASAN_OPTIONS"] = options + ":quarantine_size_mb=8"
        }
        process.environment = ProcessInfo.processInfo.environment.merging(settings) { _, new in new }
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = process.standardOutput
        process.standardInput = FileHandle.nullDevice
        let started = Date()
        try process.run()
        ChildProcessReaper.track(process)
        // The script stops everything it started on SIGTERM; SIGKILL only if that did not end it.
        let deadline = started.addingTimeInterval(150)
        while process.isRunning && Date() < deadline { usleep(100_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            for _ in 0..<100 where process.isRunning { usleep(100_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
        ChildProcessReaper.forget(process)
        let log = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        print(log)
        print("soak smoke: \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        XCTAssertEqual(process.terminationStatus, 0, log)
        let verdict = (try? String(contentsOf: run.appendingPathComponent("verdict.txt"), encoding: .utf8)) ?? ""
        XCTAssertTrue(verdict.contains("VERDICT: PASS"), verdict)
        XCTAssertTrue(verdict.contains("authentication failures over the whole soak, rotations included: 0 "), verdict)
        XCTAssertTrue(log.contains("cookie rotation: done") && log.contains("symmetric rotation: done"), log)
        // The clients really ran: the probe's responses were verified, the good NTS-KE clients got sessions,
        // most of the load was answered, and the attacker held connections.
        let load = try loadCounters(run)
        XCTAssertGreaterThan(load["probe_authenticated"] as? Int ?? 0, 50, "\(load)")
        XCTAssertGreaterThan(load["ke_completed"] as? Int ?? 0, 20, "\(load)")
        let sent = (load["plain_sent"] as? Int ?? 0) + (load["nts_sent"] as? Int ?? 0)
        let answered = (load["plain_received"] as? Int ?? 0) + (load["nts_received"] as? Int ?? 0)
        XCTAssertGreaterThan(sent, 36 * 2000 / 2, "\(load)")
        XCTAssertGreaterThan(Double(answered), 0.95 * Double(sent), "\(load)")
        XCTAssertTrue(verdict.contains("attacker:"), verdict)
        // Nothing the script started outlives it.
        let leftovers = try ExternalTool.run("/usr/bin/pgrep", ["-f", run.path])
        XCTAssertEqual(leftovers.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "", "processes left behind")
    }

    func loadCounters(_ run: URL) throws -> [String: Any] {
        let lines = try String(contentsOf: run.appendingPathComponent("load.jsonl"), encoding: .utf8).split(separator: "\n")
        let last = try XCTUnwrap(lines.last)
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
    }
}

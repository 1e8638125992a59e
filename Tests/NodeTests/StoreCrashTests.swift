import Foundation
import Node
import NIOConcurrencyHelpers
import XCTest

/// `kill -9` during key writes never leaves a broken store: `fleetnode store-exercise` rotates keys and
/// appends measurement batches as fast as it can, announcing each write before it starts and after it
/// commits; it is killed at random moments, and each time the reopened store must pass SQLite's integrity
/// check, have exactly one active key per set, hold the last acknowledged state or the one announced after
/// it, and keep its files 0600. The same file is reused across rounds, so every round also recovers the WAL
/// the previous kill left.
final class StoreCrashTests: XCTestCase {
    /// The exerciser's stdout, collected as it comes.
    final class Output: Sendable {
        let text = NIOLockedValueBox("")
        var lines: [String] { text.withLockedValue { $0.split(separator: "\n").map(String.init) } }
    }

    /// What a round's output says the store may hold: the last acknowledged state, or the announced one.
    struct Expectation {
        var keys: String?
        var pendingKeys: String?
        var rows: Int?
        var pendingRows: Int?

        mutating func read(_ lines: [String]) {
            for line in lines {
                let parts = line.split(separator: " ", maxSplits: 2).map(String.init)
                guard parts.count == 3 else { continue }
                switch (parts[0], parts[1]) {
                case ("intent", "keys"): pendingKeys = parts[2]
                case ("ack", "keys"): keys = parts[2]; pendingKeys = nil
                case ("intent", "rows"): pendingRows = Int(parts[2])
                case ("ack", "rows"): rows = Int(parts[2]); pendingRows = nil
                default: break
                }
            }
        }
    }

    func testKillDuringKeyWritesNeverBreaksTheStore() throws {
        let directory = try NodeProcess.makeDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("state.sqlite").path
        let fleetnode = NodeProcess.binDirectory.appendingPathComponent("fleetnode")
        var expectation = Expectation()
        var acknowledged = 0
        var killedMidWrite = 0
        var committedUnacknowledged = 0
        let rounds = 30
        let started = Date()
        for round in 0..<rounds {
            let process = Process()
            process.executableURL = fleetnode
            process.arguments = ["store-exercise", "--database", path]
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = FileHandle.nullDevice
            process.standardInput = FileHandle.nullDevice
            let output = Output()
            pipe.fileHandleForReading.readabilityHandler = { handle in
                let data = handle.availableData
                output.text.withLockedValue { $0 += String(decoding: data, as: UTF8.self) }
            }
            try process.run()
            // Every fifth round is killed anywhere from the start (opening, WAL recovery, migration); the others
            // once writes are under way.
            if round % 5 != 0 {
                let deadline = Date().addingTimeInterval(10)
                while !output.lines.contains(where: { $0.hasPrefix("intent") }) && Date() < deadline && process.isRunning { usleep(2_000) }
            }
            usleep(UInt32.random(in: 0...200_000))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            pipe.fileHandleForReading.readabilityHandler = nil
            let rest = pipe.fileHandleForReading.readDataToEndOfFile()
            output.text.withLockedValue { $0 += String(decoding: rest, as: UTF8.self) }
            XCTAssertEqual(process.terminationReason, .uncaughtSignal, "round \(round): the exerciser stopped on its own: \(output.lines.suffix(3))")

            let lines = output.lines
            XCTAssertFalse(lines.contains { $0.contains("mismatch") }, "round \(round)")
            acknowledged += lines.filter { $0.hasPrefix("ack keys") }.count
            expectation.read(lines)
            if expectation.pendingKeys != nil { killedMidWrite += 1 }

            for file in [path, path + "-wal", path + "-shm"] where FileManager.default.fileExists(atPath: file) {
                let mode = (try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? NSNumber)?.intValue
                XCTAssertEqual(mode, 0o600, "round \(round): \(file)")
            }
            let store = try NodeStore(path: path)
            XCTAssertEqual(try store.integrityCheck(), ["ok"], "round \(round)")
            let digest = try StoreExerciser.digest(store)
            let allowed = [expectation.keys, expectation.pendingKeys].compactMap { $0 }
            if digest == expectation.pendingKeys { committedUnacknowledged += 1 }
            if allowed.isEmpty {
                XCTAssertEqual(digest, "symmetric[];cookie[]", "round \(round): killed before any write")
            } else {
                XCTAssertTrue(allowed.contains(digest), "round \(round): store holds \(digest), expected one of \(allowed)")
            }
            for kind in KeyRecord.Kind.allCases {
                let keys = try store.keys(kind: kind)
                let active = keys.filter { $0.state == .active }.count
                if keys.contains(where: { $0.state != .staged }) {
                    XCTAssertEqual(active, 1, "round \(round): \(kind) once activated keeps exactly one active key: \(keys)")
                }
                XCTAssertTrue(keys.isEmpty || keys.contains(where: \.isUsable), "round \(round): \(kind) has no usable key")
            }
            let rows = try store.sampleCount()
            let allowedRows = [expectation.rows ?? 0, expectation.pendingRows].compactMap { $0 }
            XCTAssertTrue(allowedRows.contains(rows), "round \(round): \(rows) samples, expected one of \(allowedRows)")
            // What the store holds now is what the next round starts from.
            expectation = Expectation(keys: digest, pendingKeys: nil, rows: rows, pendingRows: nil)
        }
        let seconds = Date().timeIntervalSince(started)
        print("kill -9: \(rounds) rounds in \(String(format: "%.1f", seconds)) s, \(acknowledged) acknowledged key writes, \(killedMidWrite) kills between announcing and acknowledging a key write (\(committedUnacknowledged) of them after the commit)")
        XCTAssertGreaterThan(acknowledged, rounds, "the exerciser got to write")
        XCTAssertEqual(try NodeStore(path: path).integrityCheck(), ["ok"])
    }
}

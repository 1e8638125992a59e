import CRefclockTestSupport
import Foundation
import XCTest

/// The processes tests start die with the test process when a sanitizer aborts it (ChildProcessReaper).
final class ChildProcessReaperTests: XCTestCase {
    /// What the sanitizer's death callback does: a tracked process and the process it started are killed.
    func testReapingKillsTrackedProcessesAndTheirDescendants() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "sleep 300 & echo $!; wait"]
        let output = Pipe()
        process.standardOutput = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        ChildProcessReaper.track(process)
        defer {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            ChildProcessReaper.forget(process)
        }
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line += chunk
        }
        let grandchild = try XCTUnwrap(Int32(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)))
        XCTAssertTrue(Self.alive(grandchild))

        // The two (and anything an earlier test left tracked: XCTest runs the tests one at a time).
        XCTAssertGreaterThanOrEqual(crt_reap_children_now(), 2)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .uncaughtSignal)
        XCTAssertEqual(process.terminationStatus, SIGKILL)
        let deadline = Date().addingTimeInterval(5)
        while Self.alive(grandchild) && Date() < deadline { usleep(20_000) }
        XCTAssertFalse(Self.alive(grandchild), "the tracked process's child survived")
        XCTAssertEqual(crt_reap_children_now(), 0, "the table is emptied")
    }

    /// End to end, only on request (it aborts the test process): a node is started, then AddressSanitizer
    /// aborts the test process on a use after free; the node must not outlive it.
    /// scripts/sanitizers/orphan-check.sh runs it under `make sanitize-asan` and checks that nothing was left.
    func testNodeDiesWhenAddressSanitizerAbortsTheTestProcess() async throws {
        guard ProcessInfo.processInfo.environment["FLEET_SANITIZER_ABORT_CHECK"] == "1" else {
            throw XCTSkip("aborts the test process; scripts/sanitizers/orphan-check.sh runs it")
        }
        let node = try await NodeProcess(config: """
            [ntp]
            listen = ["127.0.0.1:0"]
            """)
        // stderr: unbuffered, so the line is out before the abort.
        FileHandle.standardError.write(Data("orphan-check: node \(node.process.processIdentifier) running\n".utf8))
        let pointer = UnsafeMutablePointer<Int>.allocate(capacity: 4)
        pointer.initialize(repeating: 7, count: 4)
        pointer.deallocate()
        FileHandle.standardError.write(Data("orphan-check: read after free \(pointer[1])\n".utf8))
        XCTFail("AddressSanitizer did not abort (not an ASan build?)")
        node.stop()
    }

    private static func alive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        // A zombie has finished; it only waits for its parent.
        return stat[stat.index(close, offsetBy: 2)] != "Z"
    }
}

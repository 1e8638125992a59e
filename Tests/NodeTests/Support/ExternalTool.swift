import Foundation
import XCTest

/// Runs a program to completion with a deadline, capturing its output. The process is killed (by PID) if
/// it overruns, so a hung peer can never hang the suite.
struct ToolResult {
    var status: Int32
    var stdout: String
    var stderr: String
    var timedOut: Bool
}

enum ExternalTool {
    /// The absolute path of `name` on PATH (or the usual sbin directories), or nil.
    static func find(_ name: String) -> String? {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "") + ":/usr/sbin:/sbin:/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Like `find`, but fails the test with an install hint when the tool is missing: `make test` installs
    /// every peer, so a missing one is a setup error, not a reason to pass silently.
    static func require(_ name: String, package: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        guard let path = find(name) else {
            XCTFail("\(name) is not installed (apt-get install \(package); `make test` does this)", file: file, line: line)
            throw XCTSkip("missing \(name)")
        }
        return path
    }

    @discardableResult
    /// `environment`: variables added to this process's environment.
    static func run(_ executable: String, _ arguments: [String], timeout: TimeInterval = 30, environment: [String: String] = [:]) throws -> ToolResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, added in added } }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        ChildProcessReaper.track(process)
        defer { ChildProcessReaper.forget(process) }
        // Drain both pipes concurrently so a chatty tool cannot block on a full pipe.
        let outData = LockedData()
        let errData = LockedData()
        let group = DispatchGroup()
        for (pipe, sink) in [(out, outData), (err, errData)] {
            group.enter()
            DispatchQueue.global().async {
                sink.set(pipe.fileHandleForReading.readDataToEndOfFile())
                group.leave()
            }
        }
        let deadline = Date().addingTimeInterval(timeout)
        var timedOut = false
        while process.isRunning {
            if Date() > deadline {
                timedOut = true
                kill(process.processIdentifier, SIGKILL)
                break
            }
            usleep(20_000)
        }
        process.waitUntilExit()
        group.wait()
        return ToolResult(
            status: process.terminationStatus, stdout: String(decoding: outData.get(), as: UTF8.self),
            stderr: String(decoding: errData.get(), as: UTF8.self), timedOut: timedOut)
    }
}

final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func set(_ value: Data) { lock.withLock { data = value } }
    func get() -> Data { lock.withLock { data } }
}

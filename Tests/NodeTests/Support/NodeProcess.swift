import NodeModels
import Foundation
import Node
import XCTest

/// A real `fleetnode` process started from the built executable with a configuration written by the test,
/// in a directory of its own. Stopped by PID (SIGTERM, then SIGKILL) when the test ends.
final class NodeProcess {
    let directory: URL
    let configURL: URL
    let statusSocket: String
    let process: Process
    private let logURL: URL

    /// The directory holding the built products (fleetnode, fleetctl) next to the test bundle.
    static var binDirectory: URL {
        var url = Bundle(for: NodeProcess.self).bundleURL
        while url.path != "/" {
            let candidate = url.appendingPathComponent("fleetnode")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return url }
            url.deleteLastPathComponent()
        }
        fatalError("fleetnode executable not found next to the test bundle; run `swift build` first")
    }

    static func makeDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("fleetnode-test-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// More `[node]` lines (for example `user = "nobody"`).
    private let nodeLines: String

    /// Starts a node. `config` is the TOML body without [node] (added here with the status socket, and
    /// `nodeSettings`). `launcher` runs the node under another program (for example `ip netns exec NS`);
    /// `arguments` go after `run --config FILE`.
    init(
        config: String, nodeSettings: String = "", launcher: [String] = [], arguments: [String] = [],
        file: StaticString = #filePath, line: UInt = #line
    ) async throws {
        nodeLines = nodeSettings
        directory = try Self.makeDirectory()
        statusSocket = directory.appendingPathComponent("status.sock").path
        configURL = directory.appendingPathComponent("fleetnode.toml")
        logURL = directory.appendingPathComponent("fleetnode.log")
        process = Process()
        try write(config: config)
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let log = try FileHandle(forWritingTo: logURL)

        let node = Self.binDirectory.appendingPathComponent("fleetnode").path
        if let first = launcher.first {
            process.executableURL = URL(fileURLWithPath: first)
            process.arguments = Array(launcher.dropFirst()) + [node, "run", "--config", configURL.path] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: node)
            process.arguments = ["run", "--config", configURL.path] + arguments
        }
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        ChildProcessReaper.track(process)

        // Ready when the status socket answers.
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            if !process.isRunning {
                XCTFail("fleetnode exited at start (status \(process.terminationStatus)): \(self.log)", file: file, line: line)
                throw NodeStartError(message: "fleetnode exited at start")
            }
            if FileManager.default.fileExists(atPath: statusSocket), (try? await StatusClient.fetch(path: statusSocket)) != nil {
                return
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        stop()
        XCTFail("fleetnode did not become ready: \(self.log)", file: file, line: line)
        throw NodeStartError(message: "fleetnode did not become ready")
    }

    func write(config: String, logLevel: String = "debug") throws {
        let text = """
            [node]
            name = "test-node"
            log_level = "\(logLevel)"
            status_socket = "\(statusSocket)"
            \(nodeLines)

            \(config)
            """
        try text.write(to: configURL, atomically: true, encoding: .utf8)
    }

    var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    func status() async throws -> NodeStatus { try await StatusClient.fetch(path: statusSocket) }

    /// The first bound port of a listener address.
    func port(of address: String) async throws -> UInt16 {
        let status = try await status()
        guard let listener = status.listeners.first(where: { $0.address == address }) else {
            throw NodeStartError(message: "no listener on \(address): \(status.listeners)")
        }
        return UInt16(listener.port)
    }

    func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// SIGTERM, wait up to 10 s, then SIGKILL. Returns the exit status.
    @discardableResult
    func stop() -> Int32 {
        if process.isRunning {
            signal(SIGTERM)
            let deadline = Date().addingTimeInterval(10)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning { signal(SIGKILL) }
        }
        process.waitUntilExit()
        ChildProcessReaper.forget(process)
        return process.terminationStatus
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }
}

extension NodeProcess {
    /// Lines of the node's log written after `offset` (a `log.count` taken earlier) that hold every one of `texts`.
    func logLines(after offset: Int, containing texts: String...) -> [Substring] {
        String(log.dropFirst(offset)).split(separator: "\n").filter { line in texts.allSatisfy { line.contains($0) } }
    }

    /// Waits until a line holding every one of `texts` is logged after `offset`; fails the test if none comes.
    func waitForLogLine(after offset: Int, containing texts: String..., seconds: Double = 10, file: StaticString = #filePath, line: UInt = #line) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if String(log.dropFirst(offset)).split(separator: "\n").contains(where: { line in texts.allSatisfy { line.contains($0) } }) { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        XCTFail("no log line with \(texts) within \(seconds) s: \(log)", file: file, line: line)
    }
}

import NodeModels
import Foundation
import Node
import XCTest

/// Symmetric-key authenticated NTP (RFC 5905 §7.5 MACs, RFC 8573 AES-CMAC) against chrony 4.3, both ways,
/// with keys made by `chronyc keygen` at test time (never committed).
final class SymmetricKeyTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = try NodeProcess.makeDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    /// `chronyc keygen ID TYPE [BITS]` lines in a new 0600 file.
    func keyFile(_ name: String, _ keys: [(UInt32, String, Int?)]) throws -> String {
        let chronyc = try ExternalTool.require("chronyc", package: "chrony")
        var lines: [String] = []
        for (id, type, bits) in keys {
            let result = try ExternalTool.run(chronyc, ["keygen", "\(id)", type] + (bits.map { ["\($0)"] } ?? []), timeout: 10)
            XCTAssertEqual(result.status, 0, result.stderr)
            lines.append(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        let path = directory.appendingPathComponent(name).path
        _ = FileManager.default.createFile(atPath: path, contents: Data((lines.joined(separator: "\n") + "\n").utf8), attributes: [.posixPermissions: 0o600])
        return path
    }

    /// A node serving at stratum 2 with `[keys] file`, and its NTP port.
    func keyedServer(keyFile: String) async throws -> (NodeProcess, UInt16) {
        let node = try await NodeProcess(config: """
            [local]
            stratum = 2
            [ntp]
            listen = ["127.0.0.1:0"]
            [keys]
            file = "\(keyFile)"
            """)
        return (node, try await node.port(of: "127.0.0.1"))
    }

    /// chronyd -Q as a client with `key ID` against the node; true when chrony accepted a measurement.
    func chronyQuery(port: UInt16, keyID: UInt32, keyFile: String) throws -> (accepted: Bool, output: String) {
        let chronyd = try ExternalTool.require("chronyd", package: "chrony")
        let setpriv = try ExternalTool.require("setpriv", package: "util-linux")
        let logs = directory.appendingPathComponent("chrony-\(keyID)-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        // -Q: query only, never set the clock; without CAP_SYS_TIME in the bounding set it could not anyway.
        let result = try ExternalTool.run(setpriv, [
            "--bounding-set=-sys_time", chronyd, "-Q", "-t", "4", "-u", "root", "-f", "/dev/null",
            "server 127.0.0.1 port \(port) key \(keyID) iburst minpoll -6 maxpoll -6 maxsamples 3",
            "keyfile \(keyFile)", "pidfile \(logs.path)/chronyd.pid",
        ], timeout: 20)
        let output = result.stdout + result.stderr
        return (output.contains("System clock wrong by"), output)
    }

    /// chrony authenticates to the node and accepts the node's MAC, for every key type chrony's keygen makes;
    /// a client holding a different secret under the same id gets no answer (dropped and counted, as chrony
    /// does), and a key id the node does not know likewise.
    func testChronyClientsWithEveryKeyType() async throws {
        let types: [(UInt32, String, Int?)] = [(1, "AES128", nil), (2, "AES256", nil), (3, "SHA1", nil), (4, "SHA256", 256), (5, "MD5", 128), (6, "SHA512", 512), (7, "SHA384", 384)]
        let keys = try keyFile("node.keys", types)
        let (node, port) = try await keyedServer(keyFile: keys)
        defer { _ = node.stop() }
        for (id, type, _) in types {
            let (accepted, output) = try chronyQuery(port: port, keyID: id, keyFile: keys)
            XCTAssertTrue(accepted, "\(type): chronyd did not accept the node's authenticated answer: \(output)")
        }
        var status = try await node.status()
        XCTAssertGreaterThanOrEqual(status.ntp.symmetricAuthenticated, UInt64(types.count))
        XCTAssertEqual(status.symmetricKeys.map(\.type), types.map(\.1))
        XCTAssertFalse(try String(contentsOf: node.directory.appendingPathComponent("fleetnode.log"), encoding: .utf8)
            .contains(try String(contentsOfFile: keys, encoding: .utf8).split(separator: ":")[1].prefix(16)), "key material in the log")

        let wrong = try keyFile("wrong.keys", [(1, "AES128", nil)])
        let (acceptedWrong, _) = try chronyQuery(port: port, keyID: 1, keyFile: wrong)
        XCTAssertFalse(acceptedWrong, "a wrong secret must get no answer")
        let unknown = try keyFile("unknown.keys", [(99, "SHA1", nil)])
        let (acceptedUnknown, _) = try chronyQuery(port: port, keyID: 99, keyFile: unknown)
        XCTAssertFalse(acceptedUnknown)
        status = try await node.status()
        XCTAssertGreaterThanOrEqual(status.ntp.dropped["authenticationFailed"] ?? 0, 2)
    }

    /// A chronyd server with a key file as the node's source: the node authenticates its polls and follows
    /// it; with a different secret under the same id it never accepts an answer and stays unsynchronised.
    func testChronyServerAsAnAuthenticatedSource() async throws {
        let keys = try keyFile("shared.keys", [(10, "AES128", nil)])
        let port = freeLoopbackPort()
        let chrony = try ChronyProcess.server(in: directory, port: port, keyFile: keys)
        defer { chrony.stop() }
        /// A node polling the chronyd every second with key 10 from `file`.
        func client(keys file: String) async throws -> NodeProcess {
            try await NodeProcess(config: """
                [ntp]
                listen = ["127.0.0.1:0"]
                [keys]
                file = "\(file)"
                [[server]]
                address = "127.0.0.1:\(port)"
                key = 10
                minpoll = 0
                maxpoll = 0
                """)
        }
        let node = try await client(keys: keys)
        defer { _ = node.stop() }
        try await waitFor(node, seconds: 30) { $0.serving.synchronized }
        let synced = try await node.status()
        XCTAssertEqual(synced.serving.stratum, 3)

        let wrong = try keyFile("wrong.keys", [(10, "AES128", nil)])
        let refused = try await client(keys: wrong)
        defer { _ = refused.stop() }
        // chronyd answers with a MAC under its own secret: not authentic, so ignored as if never received.
        try await waitFor(refused, seconds: 15) { ($0.timekeeping?.sources.first?.note ?? "").contains("no response") }
        let status = try await refused.status()
        XCTAssertFalse(status.serving.synchronized, "an answer that does not authenticate is never used")
    }

    /// A key file readable by group or others is refused with a clear message; the node does not start.
    func testLooseKeyFilePermissionsAreRefused() throws {
        let keys = try keyFile("loose.keys", [(1, "SHA1", nil)])
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: keys)
        let config = directory.appendingPathComponent("node.toml")
        try """
            [node]
            status_socket = "\(directory.path)/status.sock"
            [ntp]
            listen = ["127.0.0.1:0"]
            [keys]
            file = "\(keys)"
            """.write(to: config, atomically: true, encoding: .utf8)
        let node = NodeProcess.binDirectory.appendingPathComponent("fleetnode").path
        let result = try ExternalTool.run(node, ["run", "--config", config.path], timeout: 20)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue((result.stdout + result.stderr).contains("readable by group or others"), result.stdout + result.stderr)
    }
}

extension SymmetricKeyTests {
    /// A key change without a failed exchange: key 2 is staged next to key 1 (SIGHUP re-reads the file), the
    /// client switches to it, then key 1 is retired; each step is checked with chrony.
    func testStagingSwitchingAndRetiringAKeyByReload() async throws {
        let first = try keyFile("first.keys", [(1, "AES128", nil)])
        let second = try keyFile("second.keys", [(2, "AES256", nil)])
        let both = directory.appendingPathComponent("both.keys").path
        let live = directory.appendingPathComponent("node.keys").path
        let firstText = try String(contentsOfFile: first, encoding: .utf8)
        let secondText = try String(contentsOfFile: second, encoding: .utf8)
        func install(_ text: String) throws {
            _ = FileManager.default.createFile(atPath: live + ".new", contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
            XCTAssertEqual(rename(live + ".new", live), 0)
        }
        _ = FileManager.default.createFile(atPath: both, contents: Data((firstText + secondText).utf8), attributes: [.posixPermissions: 0o600])
        try install(firstText)
        let (node, port) = try await keyedServer(keyFile: live)
        defer { _ = node.stop() }
        XCTAssertTrue(try chronyQuery(port: port, keyID: 1, keyFile: first).accepted)

        try install(firstText + secondText)  // stage key 2
        node.signal(SIGHUP)
        try await waitFor(node) { $0.symmetricKeys.count == 2 }
        XCTAssertTrue(try chronyQuery(port: port, keyID: 1, keyFile: both).accepted, "the old key still works")
        XCTAssertTrue(try chronyQuery(port: port, keyID: 2, keyFile: both).accepted, "the new key works")

        try install(secondText)  // retire key 1
        node.signal(SIGHUP)
        try await waitFor(node) { $0.symmetricKeys.map(\.id) == [2] }
        XCTAssertTrue(try chronyQuery(port: port, keyID: 2, keyFile: both).accepted)
        let droppedBefore = try await node.status().ntp.dropped["authenticationFailed"] ?? 0
        XCTAssertFalse(try chronyQuery(port: port, keyID: 1, keyFile: both).accepted, "a retired key gets no answer")
        let droppedAfter = try await node.status().ntp.dropped["authenticationFailed"] ?? 0
        XCTAssertGreaterThan(droppedAfter, droppedBefore, "and is counted")

        // A broken file keeps the keys in use.
        try install("1 AES128 HEX:12\n")
        node.signal(SIGHUP)
        try await waitFor(node) { _ in node.log.contains("symmetric key file reload failed") }
        XCTAssertTrue(try chronyQuery(port: port, keyID: 2, keyFile: both).accepted)
    }
}

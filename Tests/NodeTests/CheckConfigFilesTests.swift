import Foundation
import XCTest

/// `fleetnode check-config` loads and cross-checks what `run` would (certificates and keys, the admin CA,
/// key files, servers), names the file and what to do in each problem, and a configuration it passes starts.
/// `--syntax-only` keeps the file-only check (for examples whose files exist only on real nodes).
final class CheckConfigFilesTests: XCTestCase {
    var directory: URL!
    var pki: TestPKI!
    var access: AdminAccess!
    var nts: TestCertificate!
    var keys = ""

    override func setUp() async throws {
        directory = try NodeProcess.makeDirectory()
        pki = try TestPKI(directory: directory)
        access = try AdminAccess(pki: pki)
        nts = try TestCertificate.make(in: directory, name: "nts")
        keys = directory.appendingPathComponent("ntp.keys").path
        try "1 SHA256 HEX:\(String(repeating: "ab", count: 32))\n".write(toFile: keys, atomically: true, encoding: .utf8)
        chmod(keys, 0o600)
    }

    override func tearDown() async throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func config(certificate: String? = nil, privateKey: String? = nil, clientCA: String? = nil, keyFile: String? = nil,
                server: String = "127.0.0.1", serverKey: Int = 1) -> String {
        var admin = access.table
        if let clientCA { admin = admin.replacingOccurrences(of: "client_ca = \"\(access.authority.certificate)\"", with: "client_ca = \"\(clientCA)\"") }
        return """
            [local]
            stratum = 1
            [ntp]
            listen = ["127.0.0.1:0"]
            [keys]
            file = "\(keyFile ?? keys)"
            [nts]
            listen = ["127.0.0.1:0"]
            certificate = "\(certificate ?? nts.certificate)"
            private_key = "\(privateKey ?? nts.privateKey)"
            key_file = "\(directory.appendingPathComponent("cookie.keys").path)"
            \(admin)
            [[server]]
            address = "\(server)"
            key = \(serverKey)
            """
    }

    /// Runs check-config on `body` (with its own [node] table, as NodeProcess writes it).
    func check(_ body: String, syntaxOnly: Bool = false) throws -> ToolResult {
        let file = directory.appendingPathComponent("checked-\(UUID().uuidString.prefix(6)).toml")
        try "[node]\nname = \"checked\"\nstatus_socket = \"\(directory.appendingPathComponent("s.sock").path)\"\n\(body)\n"
            .write(to: file, atomically: true, encoding: .utf8)
        let fleetnode = NodeProcess.binDirectory.appendingPathComponent("fleetnode").path
        return try ExternalTool.run(fleetnode, ["check-config"] + (syntaxOnly ? ["--syntax-only"] : []) + [file.path], timeout: 30)
    }

    func assertProblem(_ body: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try check(body)
        XCTAssertEqual(result.status, 1, result.stdout, file: file, line: line)
        XCTAssertTrue(result.stderr.contains(expected), "expected \(expected) in: \(result.stderr)", file: file, line: line)
        for library in ["NSCocoaErrorDomain", "failedToLoad", "Error(", "NIOSSL", "ASN1"] {
            XCTAssertFalse(result.stderr.contains(library), "no library names: \(result.stderr)", file: file, line: line)
        }
        XCTAssertEqual(try check(body, syntaxOnly: true).status, 0, "--syntax-only checks the file alone", file: file, line: line)
    }

    func testAGoodConfigPassesAndStarts() async throws {
        let result = try check(config())
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("OK"), result.stdout)
        let node = try await NodeProcess(config: config())
        defer { node.stop() }
        try await waitFor(node) { $0.adminListener != nil }
    }

    func testMissingMismatchedAndMisplacedCertificatesAndKeys() throws {
        let missing = directory.appendingPathComponent("nope.pem").path
        try assertProblem(config(certificate: missing), "nts.certificate: \(missing): no such file")
        try assertProblem(config(certificate: nts.privateKey), "nts.certificate: \(nts.privateKey): not a certificate chain (leaf first) (it holds a private key: point this at the certificate)")
        let other = try TestCertificate.make(in: directory, name: "other")
        try assertProblem(config(privateKey: other.privateKey), "nts.private_key: \(other.privateKey): this key does not belong to the certificate \(nts.certificate)")
        try assertProblem(config(privateKey: nts.certificate), "nts.private_key: \(nts.certificate): not a PEM private key")
        try assertProblem(config(clientCA: missing), "admin.client_ca: \(missing): no such file")
        let expired = try pki.issue(by: access.authority, name: "old-nts", server: true, expired: true)
        try assertProblem(config(certificate: expired.certificate, privateKey: expired.privateKey), "nts.certificate: \(expired.certificate): the certificate is not valid now")
    }

    /// TLS private keys readable by group or others are refused like every other secret, by check-config
    /// and by run.
    func testLooseTLSKeysAreRefused() async throws {
        let loose = directory.appendingPathComponent("loose-key.pem").path
        try FileManager.default.copyItem(atPath: nts.privateKey, toPath: loose)
        chmod(loose, 0o640)
        try assertProblem(config(privateKey: loose), "nts.private_key: \(loose) is readable by group or others (mode 640): it holds secret keys; chmod 600 it")
        let file = directory.appendingPathComponent("loose.toml")
        try "[node]\nstatus_socket = \"\(directory.appendingPathComponent("l.sock").path)\"\n\(config(privateKey: loose))\n".write(to: file, atomically: true, encoding: .utf8)
        let run = try ExternalTool.run(NodeProcess.binDirectory.appendingPathComponent("fleetnode").path, ["run", "--config", file.path], timeout: 15)
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(run.stderr.contains("readable by group or others"), run.stderr)
    }

    func testKeyFilesAndServers() throws {
        let missing = directory.appendingPathComponent("missing.keys").path
        try assertProblem(config(keyFile: missing), "keys.file: \(missing): no such file")
        try assertProblem(config(serverKey: 7), "server[1].key: key 7 is not in \(keys); add it there or change the id")
        try assertProblem(config(server: "no-such-host.invalid"), "server[1].address: no-such-host.invalid does not resolve")
    }
}

import NodeModels
import FleetCrypto
import Foundation
import NTPCore
import NTSKE
import XCTest

/// NTS (RFC 8915) against chrony 4.3, both ways, and between nodes sharing cookie keys.
final class NTSInteropTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = try NodeProcess.makeDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func ntsNode(_ certificate: TestCertificate, keyFile: String? = nil, extra: String = "", stratum: Int = 1) async throws -> NodeProcess {
        try await NodeProcess(config: """
            [local]
            stratum = \(stratum)
            [ntp]
            listen = ["127.0.0.1:0"]
            \(certificate.ntsTable(keyFile: keyFile ?? directory.appendingPathComponent("keys/cookie-keys").path, extra: extra))
            """)
    }

    /// chrony as a new user would run it: one-shot NTS client trusting the node's certificate.
    func testChronyOneShotGetsNTSAuthenticatedTime() async throws {
        let chronyd = try ExternalTool.require("chronyd", package: "chrony")
        let setpriv = try ExternalTool.require("setpriv", package: "util-linux")
        let certificate = try TestCertificate.make(in: directory)
        let node = try await ntsNode(certificate, stratum: 3)
        let kePort = try await node.ntsKEPort()

        let result = try ExternalTool.run(setpriv, [
            "--bounding-set=-sys_time", chronyd, "-Q", "-t", "10", "-u", "root", "-f", "/dev/null",
            // No `port`: chrony takes the NTP port from the Port Negotiation record.
            "server 127.0.0.1 nts ntsport \(kePort) iburst minpoll -6 maxpoll -6 maxsamples 4",
            "ntstrustedcerts \(certificate.certificate)", "pidfile \(directory.path)/chronyd.pid",
            "logdir \(directory.path)", "log measurements",
        ], timeout: 30)
        XCTAssertEqual(result.status, 0, "\(result.stderr)\n\(node.log)")
        XCTAssertTrue(result.stderr.contains("System clock wrong by"), result.stderr)
        let measurements = try String(contentsOf: directory.appendingPathComponent("measurements.log"), encoding: .utf8)
        let samples = measurements.split(separator: "\n").filter { $0.contains("127.0.0.1") }
        XCTAssertFalse(samples.isEmpty)
        for sample in samples { XCTAssertEqual(sample.split(separator: " ", omittingEmptySubsequences: true)[4], "3") }

        let status = try await node.status()
        XCTAssertEqual(status.nts?.ntske.keysEstablished, 1)
        XCTAssertEqual(status.ntp.ntsAuthenticated, UInt64(samples.count), "every sample chrony took was NTS-authenticated")
        XCTAssertEqual(status.ntp.ntsNAK + status.ntp.ntsAuthenticationFailed, 0)
    }

    /// A persistent chrony client shows the node as an NTS-authenticated source (chronyc authdata, ntpdata).
    func testPersistentChronyClientReportsNTSAuthentication() async throws {
        let chronyc = try ExternalTool.require("chronyc", package: "chrony")
        let certificate = try TestCertificate.make(in: directory)
        let node = try await ntsNode(certificate)
        let kePort = try await node.ntsKEPort()
        let socketDirectory = directory.appendingPathComponent("sock")
        try FileManager.default.createDirectory(at: socketDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let socket = socketDirectory.appendingPathComponent("chronyd.sock").path
        let chrony = try ChronyProcess(directory: directory, config: """
            server 127.0.0.1 nts ntsport \(kePort) iburst minpoll -6 maxpoll -6
            ntstrustedcerts \(certificate.certificate)
            ntsdumpdir \(directory.path)
            port 0
            cmdport 0
            bindcmdaddress \(socket)
            """)
        defer { chrony.stop() }

        var authdata = ""
        var ntpdata = ""
        for _ in 0..<100 {
            try await Task.sleep(for: .milliseconds(100))
            authdata = (try? ExternalTool.run(chronyc, ["-h", socket, "-c", "authdata"], timeout: 5).stdout) ?? ""
            ntpdata = (try? ExternalTool.run(chronyc, ["-h", socket, "ntpdata"], timeout: 5).stdout) ?? ""
            if ntpdata.contains("Authenticated   : Yes") && ntpdata.contains("Total good RX   : 2") { break }
        }
        // e.g. 127.0.0.1,NTS,1,15,256,...: mode NTS, key established, AEAD 15 (AES-SIV-CMAC-256), 256-bit keys.
        XCTAssertTrue(authdata.hasPrefix("127.0.0.1,NTS,1,15,256,"), "authdata: \(authdata)\n\(chrony.log)")
        XCTAssertTrue(ntpdata.contains("Authenticated   : Yes"), "ntpdata: \(ntpdata)")
        let status = try await node.status()
        XCTAssertGreaterThanOrEqual(status.ntp.ntsAuthenticated, 2)
    }

    /// Our NTS client gets authenticated time from chronyd's NTS server.
    func testOurClientGetsAuthenticatedTimeFromChrony() async throws {
        let certificate = try TestCertificate.make(in: directory)
        let ntpPort = freeLoopbackPort()
        let kePort = freeLoopbackPort()
        let chrony = try ChronyProcess.server(in: directory, port: ntpPort, nts: (certificate, kePort))
        defer { chrony.stop() }
        let trust = try TLSContext.client(trustedCertificates: certificate.certificate, alpn: NTSKEServer.alpn)
        let client = NTSTimeClient(configuration: .init(host: "127.0.0.1", kePort: kePort, trust: trust, ciphers: NettleCipherFactory()))

        var first: NTSTimeClient.Result?
        for _ in 0..<50 {  // until chronyd listens
            first = try? await client.query()
            if first != nil { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let result = try XCTUnwrap(first, chrony.log)
        XCTAssertTrue(result.ranKeyEstablishment)
        XCTAssertEqual(result.aead, AEADAlgorithm.aesSIVCMAC256)
        XCTAssertEqual(result.server, SocketEndpoint(host: "127.0.0.1", port: ntpPort), "chrony negotiated its NTP port")
        XCTAssertEqual(result.measurement.stratum, 2)
        XCTAssertLessThanOrEqual(abs(result.measurement.offset), result.measurement.delay / 2 + 1e-6)
        XCTAssertEqual(result.cookiesLeft, 8, "each response refills the jar")

        // Later queries spend cookies, not handshakes.
        for _ in 0..<10 {
            let next = try await client.query()
            XCTAssertFalse(next.ranKeyEstablishment)
            XCTAssertEqual(next.cookiesLeft, 8)
        }
    }

    /// Two nodes of a site share the cookie master keys: node A's NTS-KE points clients at node B's NTP
    /// service (Server and Port Negotiation), and B accepts A's cookies.
    func testCookiesFromOneNodeOpenOnAnother() async throws {
        let certificate = try TestCertificate.make(in: directory)
        let keyFile = directory.appendingPathComponent("site/cookie-keys").path
        let nodeB = try await ntsNode(certificate, keyFile: keyFile, stratum: 1)
        let portB = try await nodeB.port(of: "127.0.0.1")
        let nodeA = try await ntsNode(certificate, keyFile: keyFile, extra: """
            ntp_server = "127.0.0.1"
            ntp_port = \(portB)
            rotate_interval = 0
            """, stratum: 2)
        let keA = try await nodeA.ntsKEPort()

        let trust = try TLSContext.client(trustedCertificates: certificate.certificate, alpn: NTSKEServer.alpn)
        let client = NTSTimeClient(configuration: .init(host: "127.0.0.1", kePort: keA, trust: trust, ciphers: NettleCipherFactory()))
        for _ in 0..<3 {
            let result = try await client.query()
            XCTAssertEqual(result.server.port, portB)
            XCTAssertEqual(result.measurement.stratum, 1, "answered by node B")
        }
        let statusA = try await nodeA.status()
        let statusB = try await nodeB.status()
        XCTAssertEqual(statusA.nts?.ntske.keysEstablished, 1)
        XCTAssertEqual(statusA.ntp.received, 0)
        XCTAssertEqual(statusB.ntp.ntsAuthenticated, 3, "node B opened node A's cookies")
        XCTAssertEqual(statusB.ntp.ntsNAK, 0)
        XCTAssertEqual(statusA.nts?.cookieKeys, statusB.nts?.cookieKeys)
    }

    /// After the site's keys change under a client, its old cookies get an NTS NAK and the client runs
    /// NTS-KE again by itself.
    func testNAKAfterKeyReplacementMakesTheClientRekey() async throws {
        let certificate = try TestCertificate.make(in: directory)
        let keyFile = directory.appendingPathComponent("keys/cookie-keys").path
        let node = try await ntsNode(certificate, keyFile: keyFile)
        let kePort = try await node.ntsKEPort()
        let trust = try TLSContext.client(trustedCertificates: certificate.certificate, alpn: NTSKEServer.alpn)
        let client = NTSTimeClient(configuration: .init(host: "127.0.0.1", kePort: kePort, trust: trust, ciphers: NettleCipherFactory()))
        _ = try await client.query()

        // The fleet tool would distribute a new set; here a new set is written in place and loaded on SIGHUP.
        // Not SystemRandomNumberGenerator: an empty struct passed inout through a closure crashes ThreadSanitizer (README, Sanitizers).
        var random = SecureRandomGenerator()
        let replacement = try CookieKeySet(keys: [CookieKey.generate(id: 77, createdAt: 1_800_000_000, using: &random)])
        try replacement.serialized().write(toFile: keyFile, atomically: true, encoding: .utf8)
        chmod(keyFile, 0o600)
        node.signal(SIGHUP)
        for _ in 0..<100 where try await node.status().nts?.cookieKeys.first?.id != 77 {
            try await Task.sleep(for: .milliseconds(50))
        }

        let after = try await client.query()
        XCTAssertTrue(after.ranKeyEstablishment, "the NAK made the client run NTS-KE again")
        let status = try await node.status()
        XCTAssertEqual(status.ntp.ntsNAK, 1)
        XCTAssertEqual(status.nts?.ntske.keysEstablished, 2)
    }
}

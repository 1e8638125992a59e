import FleetCrypto
import Foundation
import Logging
import NIOCore
import NTPCore
import NTSKE
import NTSKECore
import NodeModels
import XCTest

/// The NTS-KE server and client over loopback TLS 1.3 (RFC 8915 §4): both run on the one TLS handler and the
/// message decoder; the server's responder reads the cookie keys from the provider the NTP server also reads.
final class NTSKETransportTests: XCTestCase {
    private var directory: URL!
    private let ciphers: any AEADCipherFactory = NettleCipherFactory()

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ntske-transport-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    /// A P-256 certificate for localhost and 127.0.0.1, made now (no key is committed).
    private func certificate() throws -> (certificate: String, key: String) {
        let certificate = directory.appendingPathComponent("cert.pem").path
        let key = directory.appendingPathComponent("key.pem").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
            "-keyout", key, "-out", certificate, "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "openssl req")
        return (certificate, key)
    }

    private func key(_ id: UInt32, _ fill: UInt8) -> CookieKey {
        CookieKey(id: id, key: [UInt8](repeating: fill, count: CookieKey.keyLength), createdAt: Int64(id))
    }

    func testSessionsEstablishKeysUnderTheProvidersCurrentCookieKey() async throws {
        let files = try certificate()
        let provider = CookieKeyProvider(keySet: try CookieKeySet(keys: [key(1, 0x11)]), ciphers: ciphers)
        let statistics = NTSKEStatistics()
        let server = try NTSKEServer(
            endpoints: [SocketEndpoint(host: "127.0.0.1", port: 0)],
            tls: try TLSContext.server(certificateChain: files.certificate, privateKey: files.key, alpn: NTSKEServer.alpn),
            responder: NTSKEResponder(policy: NTSKEServerPolicy(ntpPort: 11123), cookieKeys: provider),
            limits: NTSKELimits(), statistics: statistics, logger: Logger(label: "ntske-test"))
        let port = try XCTUnwrap(server.boundEndpoints.first?.port)
        let trust = try TLSContext.client(trustedCertificates: files.certificate, alpn: NTSKEServer.alpn)

        let first = try await NTSKEClient.establish(host: "127.0.0.1", port: port, trust: trust, ciphers: ciphers)
        XCTAssertEqual(first.tlsVersion, "TLSv1.3")
        XCTAssertEqual(first.ntpPort, 11123)
        XCTAssertFalse(first.peerCertificates.isEmpty, "the server's chain as sent")
        XCTAssertEqual(first.cookies.count, 8)
        for cookie in first.cookies {
            XCTAssertEqual(NTSCookie.keyID(of: cookie), 1)
            // The server sealed the keys it exported; the client exported the same ones from its side.
            XCTAssertEqual(NTSCookie.open(cookie, keySet: provider.current!.keySet, ciphers: ciphers), first.keys)
        }

        // A rotation published to the provider reaches the next session without touching the server.
        provider.publish(try CookieKeySet(keys: [key(1, 0x11), key(2, 0x22)]))
        let second = try await NTSKEClient.establish(host: "127.0.0.1", port: port, trust: trust, ciphers: ciphers)
        XCTAssertEqual(Set(second.cookies.map { NTSCookie.keyID(of: $0) }), [2])
        XCTAssertNotEqual(second.keys, first.keys, "each session exports its own keys")
        for cookie in second.cookies {
            XCTAssertEqual(NTSCookie.open(cookie, keySet: provider.current!.keySet, ciphers: ciphers), second.keys)
        }

        // Bytes after End of Message cannot be framed: Bad Request (§4.1.3) through the same pipeline.
        let request: [NTSKERecord] = [.nextProtocol([0]), .aeadAlgorithms([15]), .endOfMessage()]
        let answer = try await NTSKEClient.exchangeRecords(
            host: "127.0.0.1", port: port, trust: trust, request: request.encoded() + [0x80, 0x00])
        XCTAssertEqual(answer, [.error(.badRequest), .endOfMessage()])

        let counters = statistics.snapshot
        XCTAssertEqual(counters.keysEstablished, 2)
        XCTAssertEqual(counters.errorResponses, 1)
        XCTAssertEqual(counters.handshakeFailures, 0)
        try await shutdown(server)
    }

    func testAClientThatDoesNotTrustTheServerFailsTheHandshakeOnBothSides() async throws {
        let files = try certificate()
        let other = directory.appendingPathComponent("other")
        try FileManager.default.createDirectory(at: other, withIntermediateDirectories: true)
        let provider = CookieKeyProvider(keySet: try CookieKeySet(keys: [key(1, 0x11)]), ciphers: ciphers)
        let statistics = NTSKEStatistics()
        let server = try NTSKEServer(
            endpoints: [SocketEndpoint(host: "127.0.0.1", port: 0)],
            tls: try TLSContext.server(certificateChain: files.certificate, privateKey: files.key, alpn: NTSKEServer.alpn),
            responder: NTSKEResponder(policy: NTSKEServerPolicy(), cookieKeys: provider),
            limits: NTSKELimits(), statistics: statistics, logger: Logger(label: "ntske-test"))
        let port = try XCTUnwrap(server.boundEndpoints.first?.port)
        // Trusts a different self-signed certificate.
        let saved = directory
        directory = other
        let stranger = try certificate()
        directory = saved
        let trust = try TLSContext.client(trustedCertificates: stranger.certificate, alpn: NTSKEServer.alpn)
        do {
            _ = try await NTSKEClient.establish(host: "127.0.0.1", port: port, trust: trust, ciphers: ciphers, timeout: .seconds(2))
            XCTFail("a session with an untrusted server")
        } catch {
            XCTAssertTrue(error is TLSError, "the client's own verification failure: \(error)")
        }
        // The server hears the client's alert as a failed handshake.
        for _ in 0..<100 where statistics.snapshot.handshakeFailures == 0 { try await Task.sleep(for: .milliseconds(20)) }
        XCTAssertEqual(statistics.snapshot.handshakeFailures, 1)
        XCTAssertEqual(statistics.snapshot.keysEstablished, 0)
        try await shutdown(server)
    }

    /// Stops the server's listeners (what graceful shutdown does in the node).
    private func shutdown(_ server: NTSKEServer) async throws {
        let task = Task { try await server.run() }
        task.cancel()
        try await task.value
    }
}

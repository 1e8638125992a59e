import Admin
import NodeModels
import FleetCrypto
import Foundation
import NTPCore
import NTSKE
import Node
import XCTest

/// The admin API's writes against a running node: certificate install (refusals change nothing; a good
/// certificate is swapped in while NTS-KE clients keep connecting), cookie master keys staged, activated
/// and retired (idempotent, persisted across a restart), and configuration reload.
final class AdminWriteTests: XCTestCase {
    var directory: URL!
    var pki: TestPKI!
    var credentials: AdminCredentials!
    var adminTable = ""

    override func setUp() async throws {
        directory = try NodeProcess.makeDirectory()
        pki = try TestPKI(directory: directory)
        let access = try AdminAccess(pki: pki)
        credentials = access.credentials
        adminTable = access.table
    }

    override func tearDown() async throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func node(certificate: String, privateKey: String, keyFile: String? = nil, extra: String = "") async throws -> NodeProcess {
        try await NodeProcess(config: """
            [local]
            stratum = 1
            [ntp]
            listen = ["127.0.0.1:0"]
            [nts]
            listen = ["127.0.0.1:0"]
            certificate = "\(certificate)"
            private_key = "\(privateKey)"
            key_file = "\(keyFile ?? directory.appendingPathComponent("keys/cookie-keys").path)"
            rotate_interval = 0
            \(extra)
            \(adminTable)
            """)
    }

    func client(_ node: NodeProcess) async throws -> AdminClient {
        try await waitFor(node) { $0.adminListener != nil }
        return try AdminClient(node: try await node.adminListener(), credentials: credentials)
    }

    func read(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }

    // MARK: Certificates

    func testCertificateInstallRefusesBadInputsAndSwapsLive() async throws {
        let firstCA = try pki.authority("nts-one")
        let secondCA = try pki.authority("nts-two")
        let first = try pki.issue(by: firstCA, name: "nts-first", commonName: "localhost", server: true)
        let renewed = try pki.issue(by: secondCA, name: "nts-renewed", commonName: "localhost", server: true)
        let expired = try pki.issue(by: secondCA, name: "nts-expired", commonName: "localhost", server: true, expired: true)
        let narrow = try pki.issue(by: secondCA, name: "nts-narrow", commonName: "other", server: true, sans: "DNS:other.example")
        let liveCertificate = directory.appendingPathComponent("live-cert.pem").path
        let liveKey = directory.appendingPathComponent("live-key.pem").path
        try FileManager.default.copyItem(atPath: first.certificate, toPath: liveCertificate)
        try FileManager.default.copyItem(atPath: first.privateKey, toPath: liveKey)
        let node = try await node(certificate: liveCertificate, privateKey: liveKey)
        defer { node.stop() }
        let admin = try await client(node)
        let firstFingerprint = try pki.fingerprint(first.certificate)
        let renewedFingerprint = try pki.fingerprint(renewed.certificate)
        let chain = { (issued: TestPKI.Issued, ca: TestPKI.Authority) throws -> String in
            try self.read(issued.certificate) + self.read(ca.certificate)
        }

        // Refused, with nothing changed: in service, on disk, swap count.
        let refusals: [(String, CertificateInstallRequest, String)] = [
            ("key mismatch", .init(certificateChain: try chain(renewed, secondCA), privateKey: try read(first.privateKey)), "does not match"),
            ("expired", .init(certificateChain: try chain(expired, secondCA), privateKey: try read(expired.privateKey)), "expired"),
            ("SANs missing", .init(certificateChain: try chain(narrow, secondCA), privateKey: try read(narrow.privateKey)), "lack DNS:localhost, IP:127.0.0.1, IP:::1"),
            ("chain from another CA", .init(certificateChain: try read(renewed.certificate) + read(firstCA.certificate), privateKey: try read(renewed.privateKey)), "issued by"),
            ("not PEM", .init(certificateChain: "hello", privateKey: try read(renewed.privateKey)), "CERTIFICATE"),
        ]
        for (what, request, message) in refusals {
            do {
                _ = try await admin.send("PUT", AdminPath.ntsCertificate, body: request, as: CertificateInstallResult.self)
                XCTFail("\(what) was installed")
            } catch {
                XCTAssertEqual(error.status, 422, "\(what): \(error)")
                XCTAssertTrue(error.description.contains(message), "\(what): \(error)")
            }
        }
        let unchanged = try await node.status()
        XCTAssertEqual(unchanged.nts?.certificate?.sha256, firstFingerprint)
        XCTAssertEqual(unchanged.nts?.certificateSwaps, 0)
        XCTAssertEqual(try read(liveCertificate), try read(first.certificate))
        XCTAssertEqual(try read(liveKey), try read(first.privateKey))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.contains(".new-") }, [])

        // The good one, while an NTS-KE client loop keeps connecting (trusting both CAs).
        let port = try await node.ntsKEPort()
        let bundle = directory.appendingPathComponent("both-cas.pem").path
        try (read(firstCA.certificate) + read(secondCA.certificate)).write(toFile: bundle, atomically: true, encoding: .utf8)
        let trust = try TLSContext.client(trustedCertificates: bundle, alpn: NTSKEServer.alpn)
        let loop = Task {
            var (sessions, failures) = (0, [String]())
            let deadline = ContinuousClock.now + .seconds(3)
            while ContinuousClock.now < deadline {
                do {
                    _ = try await NTSKEClient.establish(host: "127.0.0.1", port: port, trust: trust, ciphers: NettleCipherFactory())
                    sessions += 1
                } catch {
                    failures.append("\(error)")
                }
            }
            return (sessions, failures)
        }
        try await Task.sleep(for: .milliseconds(500))
        let request = CertificateInstallRequest(certificateChain: try chain(renewed, secondCA), privateKey: try read(renewed.privateKey))
        let installed = try await admin.send("PUT", AdminPath.ntsCertificate, body: request, as: CertificateInstallResult.self)
        let (sessions, failures) = await loop.value
        print("NTS-KE sessions around the install: \(sessions), failed: \(failures.count)")
        XCTAssertTrue(installed.changed)
        XCTAssertEqual(installed.certificate.sha256, renewedFingerprint)
        XCTAssertEqual(installed.certificate.intermediates, 1)
        XCTAssertEqual(failures, [], "no NTS-KE session failed during the swap")
        XCTAssertGreaterThan(sessions, 20)
        var status = try await node.status()
        XCTAssertEqual(status.nts?.certificate?.sha256, renewedFingerprint, "in service")
        XCTAssertEqual(status.nts?.certificateSwaps, 1)
        XCTAssertEqual(status.nts?.ntske.handshakeFailures, 0)
        XCTAssertEqual(try read(liveCertificate), request.certificateChain, "persisted")
        XCTAssertEqual(try read(liveKey), request.privateKey)
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: liveKey)[.posixPermissions] as? Int, 0o600)
        // A client trusting only the new CA now gets in; one trusting only the old CA does not.
        _ = try await NTSKEClient.establish(
            host: "127.0.0.1", port: port, trust: TLSContext.client(trustedCertificates: secondCA.certificate, alpn: NTSKEServer.alpn),
            ciphers: NettleCipherFactory())
        do {
            _ = try await NTSKEClient.establish(
                host: "127.0.0.1", port: port, trust: TLSContext.client(trustedCertificates: firstCA.certificate, alpn: NTSKEServer.alpn),
                ciphers: NettleCipherFactory())
            XCTFail("the old certificate is still served")
        } catch {}

        // The same request again: same answer, nothing swapped.
        let again = try await admin.send("PUT", AdminPath.ntsCertificate, body: request, as: CertificateInstallResult.self)
        XCTAssertFalse(again.changed)
        XCTAssertEqual(again.certificate, installed.certificate)
        try await Task.sleep(for: .milliseconds(200))
        status = try await node.status()
        XCTAssertEqual(status.nts?.certificateSwaps, 1)
        let listed = try await admin.get(AdminPath.certificates, as: AdminCertificates.self)
        XCTAssertEqual(listed.nts, installed.certificate)
    }

    // MARK: Cookie master keys

    func testCookieKeysStageActivateRetireAreIdempotentAndPersisted() async throws {
        let nts = try TestCertificate.make(in: directory)
        var node = try await node(certificate: nts.certificate, privateKey: nts.privateKey)
        var admin = try await client(node)
        let start = try await admin.get(AdminPath.keys, as: AdminKeys.self)
        XCTAssertEqual(start.cookie.map(\.id), [1])
        let material = String(repeating: "5a", count: 32)

        let stage = CookieKeyStageRequest(id: 7, key: material)
        let staged = try await admin.send("POST", AdminPath.cookieKeyStage, body: stage, as: CookieKeyResult.self)
        XCTAssertTrue(staged.changed)
        XCTAssertEqual(staged.keys.map { "\($0.id) \($0.state.rawValue)" }, ["1 current", "7 staged"])
        let stagedAgain = try await admin.send("POST", AdminPath.cookieKeyStage, body: stage, as: CookieKeyResult.self)
        XCTAssertFalse(stagedAgain.changed)
        XCTAssertEqual(stagedAgain.keys.map(\.id), staged.keys.map(\.id))
        XCTAssertEqual(stagedAgain.keys.map(\.state), staged.keys.map(\.state))
        do {
            _ = try await admin.send("POST", AdminPath.cookieKeyStage, body: CookieKeyStageRequest(id: 7, key: String(repeating: "00", count: 32)), as: CookieKeyResult.self)
            XCTFail("same id, another key")
        } catch {
            XCTAssertEqual(error.status, 409)
        }
        do {
            _ = try await admin.send("POST", AdminPath.cookieKeyStage, body: CookieKeyStageRequest(id: 9, key: "abc"), as: CookieKeyResult.self)
            XCTFail("short key")
        } catch {
            XCTAssertEqual(error.status, 400)
        }
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent("keys/cookie-keys.staged").path)[.posixPermissions] as? Int, 0o600)

        // Staged keys already open cookies: the NTP server accepts a cookie sealed under key 7 elsewhere
        // (checked below after activation through a real NTS session); activation makes it seal.
        let activate = CookieKeyRequest(id: 7)
        let activated = try await admin.send("POST", AdminPath.cookieKeyActivate, body: activate, as: CookieKeyResult.self)
        XCTAssertTrue(activated.changed)
        XCTAssertEqual(activated.keys.map { "\($0.id) \($0.state.rawValue)" }, ["1 previous", "7 current"])
        let activatedAgain = try await admin.send("POST", AdminPath.cookieKeyActivate, body: activate, as: CookieKeyResult.self)
        XCTAssertFalse(activatedAgain.changed)
        XCTAssertEqual(activatedAgain.keys.map(\.state), activated.keys.map(\.state))
        do {
            _ = try await admin.send("POST", AdminPath.cookieKeyActivate, body: CookieKeyRequest(id: 99), as: CookieKeyResult.self)
            XCTFail("activated a key never staged")
        } catch {
            XCTAssertEqual(error.status, 404)
        }
        // New cookies are sealed under key 7 (its id leads every cookie) and open on the node.
        let kePort = try await node.ntsKEPort()
        let trust = try TLSContext.client(trustedCertificates: nts.certificate, alpn: NTSKEServer.alpn)
        let session = try await NTSKEClient.establish(host: "127.0.0.1", port: kePort, trust: trust, ciphers: NettleCipherFactory())
        XCTAssertEqual(session.cookies.first.map { Array($0.prefix(4)) }, [0, 0, 0, 7])
        let query = NTSTimeClient(configuration: .init(host: "127.0.0.1", kePort: kePort, trust: trust, ciphers: NettleCipherFactory()))
        _ = try await query.query()

        let retired = try await admin.send("POST", AdminPath.cookieKeyRetire, body: CookieKeyRequest(id: 1), as: CookieKeyResult.self)
        XCTAssertTrue(retired.changed)
        XCTAssertEqual(retired.keys.map { "\($0.id) \($0.state.rawValue)" }, ["7 current"])
        let retiredAgain = try await admin.send("POST", AdminPath.cookieKeyRetire, body: CookieKeyRequest(id: 1), as: CookieKeyResult.self)
        XCTAssertFalse(retiredAgain.changed)
        XCTAssertEqual(retiredAgain.keys.map(\.id), [7])
        do {
            _ = try await admin.send("POST", AdminPath.cookieKeyRetire, body: CookieKeyRequest(id: 7), as: CookieKeyResult.self)
            XCTFail("retired the current key")
        } catch {
            XCTAssertEqual(error.status, 409)
        }
        _ = try await admin.send("POST", AdminPath.cookieKeyStage, body: CookieKeyStageRequest(id: 8), as: CookieKeyResult.self)

        // A restart keeps all of it.
        node.stop()
        node = try await self.node(certificate: nts.certificate, privateKey: nts.privateKey)
        defer { node.stop() }
        admin = try await client(node)
        let after = try await admin.get(AdminPath.keys, as: AdminKeys.self)
        XCTAssertEqual(after.cookie.map { "\($0.id) \($0.state.rawValue)" }, ["7 current", "8 staged"])
        let keyFile = try read(directory.appendingPathComponent("keys/cookie-keys").path)
        XCTAssertTrue(keyFile.contains(material), "the site's key material as given")
        let restartedKE = try await node.ntsKEPort()
        let again = try await NTSKEClient.establish(host: "127.0.0.1", port: restartedKE, trust: trust, ciphers: NettleCipherFactory())
        XCTAssertEqual(again.cookies.first.map { Array($0.prefix(4)) }, [0, 0, 0, 7])
    }

    /// The site procedure across two nodes: a key activated on B seals cookies that A cannot open (NTS NAK)
    /// until the same key is staged on A; staged, A opens them though it still seals under its own key.
    func testStagedKeyOpensCookiesFromAnotherNode() async throws {
        let nts = try TestCertificate.make(in: directory)
        let a = try await node(certificate: nts.certificate, privateKey: nts.privateKey, keyFile: directory.appendingPathComponent("a/keys").path)
        defer { a.stop() }
        let aPort = try await a.port(of: "127.0.0.1")
        // B hands its NTS clients to A's NTP service (Server and Port Negotiation).
        let b = try await node(
            certificate: nts.certificate, privateKey: nts.privateKey, keyFile: directory.appendingPathComponent("b/keys").path,
            extra: "ntp_server = \"127.0.0.1\"\nntp_port = \(aPort)")
        defer { b.stop() }
        let (adminA, adminB) = (try await client(a), try await client(b))
        let material = String(repeating: "c3", count: 32)
        _ = try await adminB.send("POST", AdminPath.cookieKeyStage, body: CookieKeyStageRequest(id: 7, key: material), as: CookieKeyResult.self)
        _ = try await adminB.send("POST", AdminPath.cookieKeyActivate, body: CookieKeyRequest(id: 7), as: CookieKeyResult.self)

        let trust = try TLSContext.client(trustedCertificates: nts.certificate, alpn: NTSKEServer.alpn)
        let viaB = NTSTimeClient(configuration: .init(host: "127.0.0.1", kePort: try await b.ntsKEPort(), trust: trust, ciphers: NettleCipherFactory()))
        do {
            _ = try await viaB.query()
            XCTFail("A opened a cookie under a key it does not hold")
        } catch {}
        // The node counts a batch after sending it: the client can have the NAK before the count moves.
        try await waitFor(a, seconds: 5) { $0.ntp.ntsNAK >= 1 }
        var status = try await a.status()
        XCTAssertGreaterThanOrEqual(status.ntp.ntsNAK, 1, "A answered NTS NAK")
        XCTAssertEqual(status.ntp.ntsAuthenticated, 0)

        let staged = try await adminA.send("POST", AdminPath.cookieKeyStage, body: CookieKeyStageRequest(id: 7, key: material), as: CookieKeyResult.self)
        XCTAssertEqual(staged.keys.map { "\($0.id) \($0.state.rawValue)" }, ["1 current", "7 staged"])
        let result = try await viaB.query()
        XCTAssertEqual(result.server.port, aPort, "answered by A")
        try await waitFor(a, seconds: 5) { $0.ntp.ntsAuthenticated >= 1 }
        status = try await a.status()
        XCTAssertGreaterThanOrEqual(status.ntp.ntsAuthenticated, 1, "A opened B's cookie under the staged key")
        // A still seals under its current key 1 until the key is activated there too.
        let session = try await NTSKEClient.establish(host: "127.0.0.1", port: try await a.ntsKEPort(), trust: trust, ciphers: NettleCipherFactory())
        XCTAssertEqual(session.cookies.first.map { Array($0.prefix(4)) }, [0, 0, 0, 1])
    }

    // MARK: Reload

    func testConfigurationReloadAppliesOrRefuses() async throws {
        let nts = try TestCertificate.make(in: directory)
        let node = try await node(certificate: nts.certificate, privateKey: nts.privateKey)
        defer { node.stop() }
        let admin = try await client(node)
        let first = try await admin.send("POST", AdminPath.configReload, body: EmptyBody(), as: ConfigReloadResult.self)
        XCTAssertEqual(first.reloads, 1)
        var status = try await node.status()
        XCTAssertEqual(status.serving.stratum, 1)

        // A changed file is applied ([local] stratum 1 -> 4).
        let config = try read(node.configURL.path).replacingOccurrences(of: "stratum = 1", with: "stratum = 4")
        try config.write(to: node.configURL, atomically: true, encoding: .utf8)
        let second = try await admin.send("POST", AdminPath.configReload, body: EmptyBody(), as: ConfigReloadResult.self)
        XCTAssertEqual(second.reloads, 2)
        status = try await node.status()
        XCTAssertEqual(status.serving.stratum, 4)

        // A broken file is refused with its location, and the running configuration stays.
        try (config + "\n[ratelimit]\nburst = 0\n").write(to: node.configURL, atomically: true, encoding: .utf8)
        do {
            _ = try await admin.send("POST", AdminPath.configReload, body: EmptyBody(), as: ConfigReloadResult.self)
            XCTFail("a broken configuration was applied")
        } catch {
            XCTAssertEqual(error.status, 422)
            XCTAssertTrue(error.description.contains("ratelimit.burst"), error.description)
        }
        status = try await node.status()
        XCTAssertEqual(status.configReloads, 2)
        XCTAssertEqual(status.serving.stratum, 4)
    }
}

/// An empty JSON object, for writes that take no body.
struct EmptyBody: AdminBody {}

import FleetCrypto
import Foundation
import NodeModels
import NTSKE
import XCTest
@testable import Node

/// An NTS-KE certificate with three days left on a real `fleetnode`: NTS-KE keeps working, health turns
/// degraded with the days left, the metric and status say so, the log says it once; a renewed certificate
/// (replaced in place, as certbot does) clears it by itself, and the cookie keys stay the same.
final class CertificateFaultTests: XCTestCase {
    func testCertificateNearExpiryIsReportedAndClearsOnRenewal() async throws {
        let directory = try NodeProcess.makeDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let expiring = try TestCertificate.make(in: directory, name: "expiring", days: 3)
        let renewed = try TestCertificate.make(in: directory, name: "renewed", days: 90)
        let live = TestCertificate(certificate: directory.appendingPathComponent("live-cert.pem").path,
                                   privateKey: directory.appendingPathComponent("live-key.pem").path)
        try FileManager.default.copyItem(atPath: expiring.certificate, toPath: live.certificate)
        try FileManager.default.copyItem(atPath: expiring.privateKey, toPath: live.privateKey)
        let bundle = directory.appendingPathComponent("trusted.pem").path
        try (String(contentsOfFile: expiring.certificate, encoding: .utf8) + String(contentsOfFile: renewed.certificate, encoding: .utf8))
            .write(toFile: bundle, atomically: true, encoding: .utf8)
        let node = try await NodeProcess(config: """
            [local]
            stratum = 1
            [ntp]
            listen = ["127.0.0.1:0"]
            [metrics]
            listen = "127.0.0.1:0"
            \(live.ntsTable(keyFile: directory.appendingPathComponent("keys/cookie-keys").path, extra: "certificate_check_interval = 1"))
            """)
        defer { node.stop() }
        let port = try await node.ntsKEPort()
        let trust = try TLSContext.client(trustedCertificates: bundle, alpn: NTSKEServer.alpn)
        let session = try await NTSKEClient.establish(host: "127.0.0.1", port: port, trust: trust, ciphers: NettleCipherFactory())
        XCTAssertEqual(session.cookies.count, 8, "NTS-KE keeps working with a certificate about to expire")

        try await Task.sleep(for: .seconds(2.5))
        let status = try await node.status()
        let health = AdminHealth(status: status, now: Int64(Date().timeIntervalSince1970))
        XCTAssertEqual(health.verdict, .degraded)
        let reason = try XCTUnwrap(health.reasons.first { $0.fault == "certificate-expiring" }, "\(health)")
        XCTAssertTrue(reason.message.hasSuffix("expires in 2 days"), reason.message)
        XCTAssertTrue(StatusReport.text(status).contains("DEGRADED: \(reason.message)"), StatusReport.text(status))
        let listener = try XCTUnwrap(status.metricsListener)
        var metrics = try PrometheusScrape.scrape("http://\(listener)/metrics")
        XCTAssertLessThan(PrometheusScrape.value(metrics, "fleetnode_certificate_expiry_seconds{}") ?? .infinity, 3 * 86_400)
        XCTAssertEqual(PrometheusScrape.value(metrics, "fleetnode_health_fault{fault=certificate-expiring,subject=}"), 1)
        let keysBefore = status.nts?.cookieKeys

        try replaceFile(live.privateKey, with: renewed.privateKey)
        try replaceFile(live.certificate, with: renewed.certificate)
        try await waitFor(node, seconds: 15) { ($0.nts?.certificateSwaps ?? 0) >= 1 }
        try await node.waitForLogLine(after: 0, containing: "health: fault cleared", "certificate-expiring")
        let after = try await node.status()
        XCTAssertFalse(AdminHealth(status: after, now: Int64(Date().timeIntervalSince1970)).reasons.contains { $0.fault?.hasPrefix("certificate") ?? false })
        XCTAssertEqual(after.nts?.cookieKeys, keysBefore, "no cookie key lost or changed by the swap")
        _ = try await NTSKEClient.establish(host: "127.0.0.1", port: port, trust: trust, ciphers: NettleCipherFactory())
        metrics = try PrometheusScrape.scrape("http://\(listener)/metrics")
        XCTAssertEqual(PrometheusScrape.value(metrics, "fleetnode_health_fault{fault=certificate-expiring,subject=}"), 0)
        let log = node.log
        XCTAssertEqual(log.components(separatedBy: "health: NTS-KE certificate").count - 1, 1, "logged once: \(log)")
        XCTAssertTrue(log.split(separator: "\n").contains { $0.contains("health: fault cleared") && $0.contains("certificate-expiring") }, log)
        print("certificate near expiry: \(reason.message); after renewal: \(AdminHealth(status: after, now: Int64(Date().timeIntervalSince1970)).verdict.rawValue)")
    }
}

import Foundation
import Logging
import NTSKE
import NIOConcurrencyHelpers
import Synchronization

/// Swaps a renewed certificate into the NTS-KE server without a restart: certbot (or the fleet tool) writes
/// new PEM files, and at the next check (or at once on SIGHUP) new connections use them, while sessions in
/// progress finish on the old context. A broken or mismatched pair is refused and the old one kept.
final class CertificateWatcher: Sendable {
    private let certificate: String
    private let privateKey: String
    private let server: NTSKEServer
    private let logger: Logger
    private let lastSeen: NIOLockedValueBox<[Date?]>
    private let swaps = Atomic<Int>(0)

    init(certificate: String, privateKey: String, server: NTSKEServer, logger: Logger) {
        self.certificate = certificate
        self.privateKey = privateKey
        self.server = server
        self.logger = logger
        self.lastSeen = NIOLockedValueBox([Self.modified(certificate), Self.modified(privateKey)])
    }

    /// Certificate swaps done since start.
    var swapCount: Int { swaps.load(ordering: .relaxed) }

    /// Loads the files if either changed since last seen.
    func checkForChange() {
        let now = [Self.modified(certificate), Self.modified(privateKey)]
        let changed = lastSeen.withLockedValue { seen in
            defer { seen = now }
            return seen != now
        }
        if changed { reload(reason: "files changed") }
    }

    /// Loads the files now. Returns true when the new certificate is in service.
    @discardableResult
    func reload(reason: String) -> Bool {
        do {
            let context = try TLSContext.server(certificateChain: certificate, privateKey: privateKey, alpn: NTSKEServer.alpn)
            server.replaceTLSContext(context)
            swaps.add(1, ordering: .relaxed)
            logger.notice("NTS-KE certificate loaded", metadata: [
                "reason": "\(reason)", "subject": "\(context.certificate?.subject ?? "?")",
                "sha256": "\(context.certificate?.sha256 ?? "?")",
            ])
            return true
        } catch {
            logger.error("NTS-KE certificate not loaded, keeping the one in service", metadata: ["reason": "\(reason)", "error": "\(error)"])
            return false
        }
    }

    /// Puts `context`, already made from the files now in place (the admin API's install), into service.
    func apply(_ context: TLSContext, reason: String) {
        server.replaceTLSContext(context)
        swaps.add(1, ordering: .relaxed)
        lastSeen.withLockedValue { $0 = [Self.modified(certificate), Self.modified(privateKey)] }
        logger.notice("NTS-KE certificate installed", metadata: [
            "reason": "\(reason)", "subject": "\(context.certificate?.subject ?? "?")", "sha256": "\(context.certificate?.sha256 ?? "?")",
        ])
    }

    private static func modified(_ path: String) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
    }
}

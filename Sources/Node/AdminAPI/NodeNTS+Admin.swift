import Certificates
import NodeModels
import Foundation
import NTPCore

/// The admin API's view of and changes to NTS: the certificate in service, its install, and the cookie
/// master keys. Each change is on disk before the server uses it.
extension NodeNTS {
    /// The certificate file's details when it is the one in service (nil when it cannot be read).
    func certificateDetails() -> CertificateDetails? {
        guard let chain = try? CertificateInspector.chain(file: configuration.certificate) else { return nil }
        let details = CertificateInspector.details(of: chain)
        guard details.sha256 == keyEstablishment.tlsContext.certificate?.sha256 else { return nil }
        return details
    }

    var certificateSwaps: Int { certificates.swapCount }

    /// Validates, persists, then swaps in a new certificate and key. The same pair again changes nothing.
    func installCertificate(_ request: CertificateInstallRequest, now: Date) throws(CertificateInstallError) -> CertificateInstallResult {
        let installer = CertificateInstaller(certificatePath: configuration.certificate, privateKeyPath: configuration.privateKey)
        let current = try? CertificateInspector.chain(file: configuration.certificate)
        let inService = keyEstablishment.tlsContext.certificate?.sha256
        let currentNames = current.flatMap { chain in
            CertificateInspector.fingerprint(of: chain[0]) == inService ? CertificateInspector.names(of: chain[0]) : nil
        } ?? []
        let validated = try installer.validate(request, requiredNames: request.requiredNames ?? currentNames, now: now)
        if let current, validated.details.sha256 == inService,
           current.map(CertificateInspector.fingerprint(of:)) == validated.chain.map(CertificateInspector.fingerprint(of:))
        {
            return CertificateInstallResult(changed: false, certificate: validated.details)
        }
        let context = try installer.persist(request)
        certificates.apply(context, reason: "admin API")
        return CertificateInstallResult(changed: true, certificate: validated.details)
    }

    func cookieKeys(now: Int64) -> [CookieKeyInfo] { keys.info(now: now) }

    // Each change is published by the store to the provider the NTP server and NTS-KE read.

    func stageCookieKey(_ request: CookieKeyStageRequest, now: Int64) throws(CookieKeyChangeError) -> CookieKeyResult {
        try keys.stage(id: request.id, hexKey: request.key, createdAt: request.createdAt, now: now)
    }

    func activateCookieKey(id: UInt32, now: Int64) throws(CookieKeyChangeError) -> CookieKeyResult {
        try keys.activate(id: id, now: now)
    }

    func retireCookieKey(id: UInt32, now: Int64) throws(CookieKeyChangeError) -> CookieKeyResult {
        try keys.retire(id: id, now: now)
    }
}

import Certificates
import Fleet
import Foundation
import NodeModels

/// What `fleetctl certs` does, kept out of the executable: the fleet's CAs and certificates issued into the
/// admin host's certificate folder, a chain pushed to nodes after a local check, and the views of what nodes
/// serve. Errors are one line each; key material is never printed.
public enum CertificateCommands {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    /// The admin CA and the operator's client certificate, and with `siteCA` a CA for NTS-KE certificates.
    public static func initCA(pki: FleetPKI, siteCA: Bool, force: Bool, days: Int) throws -> [String] {
        var written: [String] = []
        let wanted = [(pki.adminCA, pki.adminCAKey)] + (siteCA ? [(pki.siteCA, pki.siteCAKey)] : []) + [(pki.operatorCertificate, pki.operatorKey)]
        if !force {
            for (certificate, key) in wanted {
                for path in [certificate, key] where pki.exists(path) {
                    throw Failure("\(path) exists: not overwritten (give --force to replace it)")
                }
            }
        }
        let admin = try CertificateIssuer.issue(commonName: "timefleet admin CA", use: .authority, days: days, issuer: nil)
        written += try pki.store(admin, certificate: pki.adminCA, key: pki.adminCAKey, force: force)
        if siteCA {
            let site = try CertificateIssuer.issue(commonName: "timefleet site CA", use: .authority, days: days, issuer: nil)
            written += try pki.store(site, certificate: pki.siteCA, key: pki.siteCAKey, force: force)
        }
        let authority = try CertificateIssuer.Authority(certificatePEM: admin.certificate, privateKeyPEM: admin.privateKey)
        let operatorCertificate = try CertificateIssuer.issue(commonName: "fleetctl operator", use: .client, days: min(days, 825), issuer: authority)
        written += try pki.store(operatorCertificate, certificate: pki.operatorCertificate, key: pki.operatorKey, force: force)
        return written
    }

    /// A node's admin API certificate (admin CA) and, when a site CA exists, its NTS-KE certificate.
    public static func issue(pki: FleetPKI, node: Inventory.Node, force: Bool, days: Int) throws -> [String] {
        let admin = try pki.authority(certificate: pki.adminCA, key: pki.adminCAKey, what: "admin CA")
        let site: CertificateIssuer.Authority? = try pki.exists(pki.siteCA) ? pki.authority(certificate: pki.siteCA, key: pki.siteCAKey, what: "site CA") : nil
        if !force {
            var paths = [pki.adminCertificate(node.name), pki.adminKey(node.name)]
            if site != nil, node.ntsKE != nil { paths += [pki.ntsCertificate(node.name), pki.ntsKey(node.name)] }
            for path in paths where pki.exists(path) { throw Failure("\(path) exists: not overwritten (give --force to replace it)") }
        }
        var written: [String] = []
        let adminCertificate = try CertificateIssuer.issue(
            commonName: node.adminServerName ?? node.admin.host, use: .server(names: FleetPKI.adminNames(node)), days: days, issuer: admin)
        written += try pki.store(adminCertificate, certificate: pki.adminCertificate(node.name), key: pki.adminKey(node.name), force: force)
        if let site, node.ntsKE != nil {
            let nts = try CertificateIssuer.issue(commonName: node.ntsName ?? node.name, use: .server(names: FleetPKI.ntsNames(node)), days: days, issuer: site)
            written += try pki.store(nts, certificate: pki.ntsCertificate(node.name), key: pki.ntsKey(node.name), force: force)
        }
        return written
    }

    /// Checks `chain` and `key` for `node` (names, chain to the trust anchors, key) and installs them
    /// (`PUT /v1/certificates/nts`); what the node now serves.
    public static func install(inventory: Inventory, node: Inventory.Node, chain: String, key: String) async throws -> CertificateInstallResult {
        func read(_ path: String) throws -> String {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw Failure("cannot read \(path)") }
            return text
        }
        let chainPEM = try read(chain)
        let keyPEM = try read(key)
        let names = RotationPlanner.requiredNames(for: node)
        let anchors = try inventory.credentials.ntsTrustAnchors.map { try read($0) }
        do {
            _ = try await CertificateChainCheck.check(chainPEM: chainPEM, keyPEM: keyPEM, requiredNames: names, anchorsPEM: anchors)
        } catch {
            throw Failure("\(node.name): refused before anything changed: \(error.description)")
        }
        let client = try adminClient(inventory: inventory, node: node)
        return try await client.send(
            "PUT", AdminPath.ntsCertificate, body: CertificateInstallRequest(certificateChain: chainPEM, privateKey: keyPEM, requiredNames: names),
            as: CertificateInstallResult.self)
    }

    public static func certificates(inventory: Inventory, node: Inventory.Node) async throws -> AdminCertificates {
        try await adminClient(inventory: inventory, node: node).get(AdminPath.certificates, as: AdminCertificates.self)
    }

    static func adminClient(inventory: Inventory, node: Inventory.Node) throws -> AdminClient {
        let credentials = inventory.credentials
        guard let certificate = credentials.certificate, let key = credentials.privateKey, let ca = credentials.adminCA else {
            throw Failure("no admin credentials: set [credentials] certificate, private_key and admin_ca in the inventory")
        }
        return try AdminClient(
            node: node.admin.description, credentials: AdminCredentials(certificate: certificate, privateKey: key, ca: ca),
            serverName: node.adminServerName, timeout: .seconds(10))
    }

    /// One certificate in a few lines.
    public static func text(_ details: CertificateDetails, now: Double = Date().timeIntervalSince1970) -> String {
        let days = Int(((Double(details.notAfter) - now) / 86_400).rounded(.down))
        return """
              subject   \(details.subject)
              issuer    \(details.issuer)
              names     \(details.subjectAlternativeNames.joined(separator: ", "))
              valid     \(ISODate.text(Double(details.notBefore))) to \(ISODate.text(Double(details.notAfter))) (\(days) days left)
              sha256    \(details.sha256)
            """
    }
}

import Crypto
import Foundation
import NodeModels
import SwiftASN1
import X509

/// Makes the fleet's certificates with swift-certificates and swift-crypto (ECDSA P-256, SHA-256): CAs
/// (the admin CA, a site CA for NTS-KE), TLS server certificates (a node's admin API, its NTS-KE service)
/// and the operator's client certificate. Pure computation: the caller writes the PEM files.
public enum CertificateIssuer {
    public struct Issued: Sendable {
        /// PEM.
        public var certificate: String
        /// PEM (PKCS#8). Never logged or printed.
        public var privateKey: String
        public var details: CertificateDetails
    }

    /// A CA as read back from its files.
    public struct Authority: Sendable {
        public var certificate: Certificate
        public var privateKey: Certificate.PrivateKey

        public init(certificatePEM: String, privateKeyPEM: String) throws(CertificateInspector.Failure) {
            certificate = try CertificateInspector.chain(pem: certificatePEM)[0]
            privateKey = try CertificateInspector.privateKey(pem: privateKeyPEM)
            guard certificate.publicKey == privateKey.publicKey else {
                throw CertificateInspector.Failure(description: "the CA's private key does not belong to its certificate")
            }
        }
    }

    public enum Use: Sendable {
        case authority
        case server(names: [String])
        case client
    }

    /// A new key and a certificate for `commonName`: self-signed for an authority without `issuer`.
    public static func issue(commonName: String, use: Use, days: Int, issuer: Authority?, now: Date = Date()) throws(CertificateInspector.Failure) -> Issued {
        let key = P256.Signing.PrivateKey()
        let privateKey = Certificate.PrivateKey(key)
        do {
            let subject = try DistinguishedName { CommonName(commonName) }
            let publicKey = Certificate.PublicKey(key.publicKey)
            var list: [Certificate.Extension] = []
            switch use {
            case .authority:
                list.append(try Certificate.Extension(BasicConstraints.isCertificateAuthority(maxPathLength: 0), critical: true))
                list.append(try Certificate.Extension(KeyUsage(digitalSignature: true, keyCertSign: true, cRLSign: true), critical: true))
            case .server(let names):
                list.append(try Certificate.Extension(BasicConstraints.notCertificateAuthority, critical: true))
                list.append(try Certificate.Extension(KeyUsage(digitalSignature: true), critical: true))
                list.append(try Certificate.Extension(try ExtendedKeyUsage([.serverAuth]), critical: false))
                list.append(try Certificate.Extension(SubjectAlternativeNames(try names.map(generalName)), critical: false))
            case .client:
                list.append(try Certificate.Extension(BasicConstraints.notCertificateAuthority, critical: true))
                list.append(try Certificate.Extension(KeyUsage(digitalSignature: true), critical: true))
                list.append(try Certificate.Extension(try ExtendedKeyUsage([.clientAuth]), critical: false))
            }
            list.append(try Certificate.Extension(SubjectKeyIdentifier(hash: publicKey), critical: false))
            if let issuer, let identifier = try? issuer.certificate.extensions.subjectKeyIdentifier {
                list.append(try Certificate.Extension(AuthorityKeyIdentifier(keyIdentifier: identifier.keyIdentifier), critical: false))
            }
            let extensions = try Certificate.Extensions(list)
            let certificate = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: publicKey,
                notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(Double(days) * 86_400),
                issuer: issuer?.certificate.subject ?? subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: extensions, issuerPrivateKey: issuer?.privateKey ?? privateKey)
            return Issued(
                certificate: try certificate.serializeAsPEM().pemString, privateKey: try privateKey.serializeAsPEM().pemString,
                details: CertificateInspector.details(of: [certificate]))
        } catch let failure as CertificateInspector.Failure {
            throw failure
        } catch {
            throw CertificateInspector.Failure(description: "cannot issue the certificate for \(commonName): \(error)")
        }
    }

    /// "DNS:name", "IP:address", or a bare name or address.
    private static func generalName(_ name: String) throws -> GeneralName {
        let entry = CertificateInspector.sanEntry(for: name)
        if entry.hasPrefix("IP:") {
            let text = String(entry.dropFirst(3))
            var v4 = in_addr()
            if inet_pton(AF_INET, text, &v4) == 1 { return .ipAddress(ASN1OctetString(contentBytes: ArraySlice(withUnsafeBytes(of: v4) { Array($0) }))) }
            var v6 = in6_addr()
            if inet_pton(AF_INET6, text, &v6) == 1 { return .ipAddress(ASN1OctetString(contentBytes: ArraySlice(withUnsafeBytes(of: v6) { Array($0) }))) }
            throw CertificateInspector.Failure(description: "\(name) is not an IP address")
        }
        return .dnsName(String(entry.dropFirst(4)))
    }
}

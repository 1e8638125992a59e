import NodeModels
import FleetCrypto
import Foundation
import NTPCore
import SwiftASN1
import X509

/// Reads PEM certificate chains and private keys with swift-certificates: what a certificate says (subject,
/// SANs, validity, fingerprint) and whether a chain and key hang together. The node's admin API checks an
/// install with it; fleetctl reads the certificates nodes serve and the files it is given with it.
public enum CertificateInspector {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// The certificates of a PEM text, leaf first.
    public static func chain(pem: String) throws(Failure) -> [Certificate] {
        let documents: [PEMDocument]
        do {
            documents = try PEMDocument.parseMultiple(pemString: pem)
        } catch {
            throw Failure(description: "the certificate chain is not PEM: \(error)")
        }
        let certificates = documents.filter { $0.discriminator == "CERTIFICATE" }
        guard !certificates.isEmpty else { throw Failure(description: "no CERTIFICATE block in the chain") }
        guard certificates.count == documents.count else {
            throw Failure(description: "the certificate chain holds other PEM blocks than certificates")
        }
        var chain: [Certificate] = []
        for (index, document) in certificates.enumerated() {
            do {
                chain.append(try Certificate(derEncoded: document.derBytes))
            } catch {
                throw Failure(description: "certificate \(index + 1) of the chain does not parse: \(error)")
            }
        }
        return chain
    }

    public static func chain(file: String) throws(Failure) -> [Certificate] {
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw Failure(description: "cannot read \(file): \(error.localizedDescription)")
        }
        return try chain(pem: text)
    }

    /// The subject of a DER certificate (a client's, for the log).
    public static func subject(der: [UInt8]) -> String? {
        (try? Certificate(derEncoded: der)).map { String(describing: $0.subject) }
    }

    public static func privateKey(pem: String) throws(Failure) -> Certificate.PrivateKey {
        do {
            return try Certificate.PrivateKey(pemEncoded: pem)
        } catch {
            throw Failure(description: "the private key is not a PEM key of a supported type (RSA, P-256, P-384, P-521, Ed25519): \(error)")
        }
    }

    public static func details(of chain: [Certificate]) -> CertificateDetails {
        let leaf = chain[0]
        return CertificateDetails(
            subject: String(describing: leaf.subject), issuer: String(describing: leaf.issuer),
            subjectAlternativeNames: names(of: leaf),
            notBefore: Int64(leaf.notValidBefore.timeIntervalSince1970), notAfter: Int64(leaf.notValidAfter.timeIntervalSince1970),
            sha256: fingerprint(of: leaf), intermediates: chain.count - 1)
    }

    public static func der(_ certificate: Certificate) -> [UInt8] {
        var serializer = DER.Serializer()
        // A certificate that was parsed from DER serializes back; nothing to report otherwise.
        try? serializer.serialize(certificate)
        return serializer.serializedBytes
    }

    /// SHA-256 of the DER, lower-case hex (what status and `openssl x509 -fingerprint -sha256` show).
    public static func fingerprint(of certificate: Certificate) -> String { Digest.sha256.hex(der(certificate)) }

    /// "DNS:name" and "IP:address" entries of the subject alternative names.
    public static func names(of certificate: Certificate) -> [String] {
        guard let names = try? certificate.extensions.subjectAlternativeNames else { return [] }
        return names.compactMap { name -> String? in
            switch name {
            case .dnsName(let dns): return "DNS:\(dns.lowercased())"
            case .ipAddress(let octets): return IPAddress(bytes: octets.bytes).map { "IP:\($0)" }
            default: return nil
            }
        }
    }

    /// A name as a SAN entry: "IP:..." (canonical text) when it is an address, "DNS:..." otherwise.
    public static func sanEntry(for name: String) -> String {
        if name.hasPrefix("DNS:") { return "DNS:" + name.dropFirst(4).lowercased() }
        if name.hasPrefix("IP:") { return sanEntry(for: String(name.dropFirst(3))) }
        if let address = IPAddress(name) { return "IP:\(address)" }
        return "DNS:" + name.lowercased()
    }

    /// Whether `entries` (SAN entries) cover `required` (one SAN entry), with a leftmost-label wildcard.
    public static func covers(_ entries: [String], _ required: String) -> Bool {
        if entries.contains(required) { return true }
        guard required.hasPrefix("DNS:") else { return false }
        let labels = required.dropFirst(4).split(separator: ".", maxSplits: 1)
        guard labels.count == 2 else { return false }
        return entries.contains("DNS:*.\(labels[1])")
    }
}

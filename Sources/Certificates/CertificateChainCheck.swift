import Foundation
import NodeModels
import X509

/// Checks a certificate chain and key before they go anywhere: PEM, the key belongs to the leaf, the leaf
/// is valid now, its SANs cover the names clients check, and (with trust anchors) the chain verifies to one
/// of them under RFC 5280. What `rotate certs` and `certs push` run before touching a node.
public enum CertificateChainCheck {
    /// The leaf's details, or the first problem in words.
    public static func check(
        chainPEM: String, keyPEM: String, requiredNames: [String], anchorsPEM: String?, now: Date = Date()
    ) async throws(CertificateInspector.Failure) -> CertificateDetails {
        let chain = try CertificateInspector.chain(pem: chainPEM)
        let key = try CertificateInspector.privateKey(pem: keyPEM)
        let leaf = chain[0]
        guard key.publicKey == leaf.publicKey else {
            throw CertificateInspector.Failure(description: "the private key does not belong to the certificate")
        }
        guard leaf.notValidBefore <= now, now < leaf.notValidAfter else {
            throw CertificateInspector.Failure(description: "the certificate is not valid now (valid \(leaf.notValidBefore) to \(leaf.notValidAfter))")
        }
        let names = CertificateInspector.names(of: leaf)
        let missing = requiredNames.map(CertificateInspector.sanEntry(for:)).filter { !CertificateInspector.covers(names, $0) }
        guard missing.isEmpty else {
            throw CertificateInspector.Failure(
                description: "the certificate's names (\(names.isEmpty ? "none" : names.joined(separator: ", "))) do not cover \(missing.joined(separator: ", "))")
        }
        if let anchorsPEM {
            let anchors = try CertificateInspector.chain(pem: anchorsPEM)
            var verifier = Verifier(rootCertificates: CertificateStore(anchors)) {
                RFC5280Policy()
            }
            let result = await verifier.validate(leaf: leaf, intermediates: CertificateStore(chain.dropFirst()))
            if case .couldNotValidate = result {
                throw CertificateInspector.Failure(
                    description: "the chain does not verify against the trust anchors (no path to one of them, or a certificate on the way is expired or not a CA)")
            }
        }
        return CertificateInspector.details(of: chain)
    }
}

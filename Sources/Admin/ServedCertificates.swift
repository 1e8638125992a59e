import Certificates
import Fleet
import Foundation
import X509

extension ServedCertificate {
    /// The leaf of a chain a node served in a handshake (DER, leaf first), read with swift-certificates.
    init?(chain: [[UInt8]]) {
        guard let leaf = chain.first, let certificate = try? Certificate(derEncoded: leaf) else { return nil }
        self.init(
            subject: String(describing: certificate.subject), subjectAlternativeNames: CertificateInspector.names(of: certificate),
            notAfter: Int64(certificate.notValidAfter.timeIntervalSince1970), sha256: CertificateInspector.fingerprint(of: certificate))
    }
}

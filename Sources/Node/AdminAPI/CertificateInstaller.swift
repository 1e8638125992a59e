import Certificates
import NodeModels
import Foundation
import NTSKE
import X509

/// Installs a new NTS-KE certificate and key: everything is checked before anything changes (PEM, chain
/// links and signatures, key match, validity now, SANs covering the required names, and OpenSSL loading the
/// pair the way the NTS-KE server will), then the files are written beside the configured ones and renamed
/// over them, and only then is the new context swapped into the server.
struct CertificateInstaller {
    let certificatePath: String
    let privateKeyPath: String

    struct Validated {
        var chain: [Certificate]
        var details: CertificateDetails
    }

    func validate(_ request: CertificateInstallRequest, requiredNames: [String], now: Date) throws(CertificateInstallError) -> Validated {
        let chain: [Certificate]
        let key: Certificate.PrivateKey
        do {
            chain = try CertificateInspector.chain(pem: request.certificateChain)
            key = try CertificateInspector.privateKey(pem: request.privateKey)
        } catch {
            throw CertificateInstallError(error.description)
        }
        let leaf = chain[0]
        guard key.publicKey == leaf.publicKey else {
            throw CertificateInstallError("the private key does not match the certificate's public key")
        }
        for (index, certificate) in chain.enumerated() {
            let which = index == 0 ? "the certificate" : "chain certificate \(index + 1) (\(certificate.subject))"
            if now < certificate.notValidBefore {
                throw CertificateInstallError("\(which) is not valid before \(certificate.notValidBefore)")
            }
            if now >= certificate.notValidAfter {
                throw CertificateInstallError("\(which) expired at \(certificate.notValidAfter)")
            }
            if index + 1 < chain.count {
                let issuer = chain[index + 1]
                guard certificate.issuer == issuer.subject else {
                    throw CertificateInstallError("\(which) is issued by \(certificate.issuer), but the next certificate in the chain is \(issuer.subject)")
                }
                guard issuer.publicKey.isValidSignature(certificate.signature, for: certificate) else {
                    throw CertificateInstallError("\(which) is not signed by the next certificate in the chain")
                }
            }
        }
        let names = CertificateInspector.names(of: leaf)
        let missing = requiredNames.map(CertificateInspector.sanEntry(for:)).filter { !CertificateInspector.covers(names, $0) }
        guard missing.isEmpty else {
            throw CertificateInstallError("the certificate's subject alternative names \(names) lack \(missing.joined(separator: ", "))")
        }
        return Validated(chain: chain, details: CertificateInspector.details(of: chain))
    }

    /// Writes the pair next to the configured files, has OpenSSL load it (the NTS-KE server's own check),
    /// then renames both into place. Returns the context made from them; on any error the files in place
    /// are untouched.
    func persist(_ request: CertificateInstallRequest) throws(CertificateInstallError) -> TLSContext {
        let suffix = ".new-\(getpid())"
        let newCertificate = certificatePath + suffix
        let newKey = privateKeyPath + suffix
        defer {
            unlink(newCertificate)
            unlink(newKey)
        }
        do {
            try write(request.certificateChain, to: newCertificate, mode: 0o644)
            try write(request.privateKey, to: newKey, mode: 0o600)
        } catch {
            throw CertificateInstallError("cannot write the new files: \(error)", storage: true)
        }
        let context: TLSContext
        do {
            context = try TLSContext.server(certificateChain: newCertificate, privateKey: newKey, alpn: NTSKEServer.alpn)
        } catch {
            throw CertificateInstallError("OpenSSL refuses the pair: \(error)")
        }
        // The key first: a crash between the renames leaves the old certificate with the new key, which the
        // certificate watcher refuses (keeping the pair in service) until the install is repeated.
        guard rename(newKey, privateKeyPath) == 0 else {
            throw CertificateInstallError("cannot replace \(privateKeyPath): errno \(errno)", storage: true)
        }
        guard rename(newCertificate, certificatePath) == 0 else {
            throw CertificateInstallError("cannot replace \(certificatePath): errno \(errno)", storage: true)
        }
        return context
    }

    private func write(_ text: String, to path: String, mode: Int) throws {
        unlink(path)
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: mode]) else {
            throw CertificateInstallError("cannot create \(path)", storage: true)
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.write(contentsOf: Data(text.utf8))
        try handle.synchronize()
        try handle.close()
    }
}

/// Why a certificate install was refused; nothing was changed.
struct CertificateInstallError: Error, CustomStringConvertible {
    var description: String
    /// The disk, not the request, failed.
    var storage: Bool
    init(_ description: String, storage: Bool = false) {
        self.description = description
        self.storage = storage
    }
}

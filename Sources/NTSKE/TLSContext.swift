import Certificates
import CFleetTLS
import Foundation
import X509
import NodeModels

/// An OpenSSL TLS 1.3 context: the server's certificate and key, or a client's trust anchors. Immutable once
/// made; a certificate renewal makes a new one and swaps it in (connections in progress keep theirs, since
/// each holds a reference of its own).
public final class TLSContext: @unchecked Sendable {
    // @unchecked: the SSL_CTX is configured before this object is published and only read afterwards;
    // OpenSSL's SSL_CTX is safe to share for making connections.
    let pointer: OpaquePointer

    private init(_ pointer: OpaquePointer) { self.pointer = pointer }

    deinit { cft_ctx_free(pointer) }

    /// A server context from PEM files: the certificate chain (leaf first) and its private key.
    public static func server(certificateChain: String, privateKey: String, alpn: String) throws(TLSError) -> TLSContext {
        try make { cft_server_ctx_new(certificateChain, privateKey, alpn, $0, $1) }
    }

    /// A client context trusting the CA certificates in `trustedCertificates` (PEM), or the system store.
    public static func client(trustedCertificates: String?, alpn: String) throws(TLSError) -> TLSContext {
        try make { cft_client_ctx_new(trustedCertificates, alpn, $0, $1) }
    }

    private static func make(_ body: (UnsafeMutablePointer<CChar>, Int) -> OpaquePointer?) throws(TLSError) -> TLSContext {
        var message = [CChar](repeating: 0, count: 512)
        guard let pointer = message.withUnsafeMutableBufferPointer({ body($0.baseAddress!, $0.count) }) else {
            throw TLSError(message: String(nulTerminated: message))
        }
        return TLSContext(pointer)
    }

    /// The certificate this context presents (server contexts), read with swift-certificates.
    public var certificate: CertificateInfo? {
        let length = cft_ctx_certificate_der(pointer, nil, 0)
        guard length > 0 else { return nil }
        var der = [UInt8](repeating: 0, count: Int(length))
        guard cft_ctx_certificate_der(pointer, &der, der.count) == length, let certificate = try? Certificate(derEncoded: der) else { return nil }
        return CertificateInfo(
            subject: String(describing: certificate.subject), notAfter: Int64(certificate.notValidAfter.timeIntervalSince1970),
            sha256: CertificateInspector.fingerprint(of: certificate))
    }
}

/// What an operator wants to know about a served certificate.
public struct CertificateInfo: Sendable, Equatable, Codable {
    public var subject: String
    /// Unix seconds.
    public var notAfter: Int64
    public var sha256: String
}

public struct TLSError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

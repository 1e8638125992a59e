import CFleetTLS

/// The TLS library NTS-KE runs on (OpenSSL 3: TLS 1.3, the RFC 5705 keying-material exporter).
public enum TLSLibrary {
    /// OpenSSL's own version text, e.g. "OpenSSL 3.0.17 1 Jul 2025".
    public static var version: String { String(cString: cft_openssl_version()) }
}

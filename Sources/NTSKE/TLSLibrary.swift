import COpenSSL

/// The TLS library NTS-KE runs on (OpenSSL 3: TLS 1.3, the RFC 5705 keying-material exporter, AES-SIV, CMAC).
public enum TLSLibrary {
    /// OpenSSL's own version text, e.g. "OpenSSL 3.0.17 1 Jul 2025".
    public static var version: String {
        guard let text = OpenSSL_version(OPENSSL_VERSION) else { return "unknown" }
        return String(cString: text)
    }

    /// True when the linked OpenSSL is 3.0 or newer (needed for EVP AES-SIV and EVP_MAC CMAC).
    public static var isSupported: Bool { OpenSSL_version_num() >= 0x3000_0000 }
}

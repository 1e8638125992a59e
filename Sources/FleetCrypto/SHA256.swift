import CFleetCrypto

/// SHA-256 through OpenSSL libcrypto (`cfc_digest`): certificate fingerprints as `openssl x509 -fingerprint
/// -sha256` prints them, for the admin API.
public enum SHA256 {
    public static let digestLength = 32

    /// The 32-byte digest of `bytes`. Traps only if OpenSSL itself is broken (SHA-256 is in every provider).
    public static func digest(_ bytes: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 64)
        let length = bytes.withUnsafeBufferPointer { input in
            cfc_digest("SHA256", input.baseAddress, input.count, &out, out.count)
        }
        guard length == Int32(digestLength) else {
            fatalError("SHA-256 failed inside OpenSSL: \(takeOpenSSLError())")
        }
        return Array(out.prefix(digestLength))
    }

    /// The digest in lower-case hex.
    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: digest(bytes).flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0x0F)]] }, as: UTF8.self)
    }
}

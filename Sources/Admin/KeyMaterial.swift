import FleetCrypto
import NTPCore

/// New key material drawn on the admin host (OpenSSL's CSPRNG), as hex for the admin API: never logged,
/// never printed.
public enum KeyMaterial {
    /// An NTS cookie master key: 32 bytes (AES-SIV-CMAC-256's key, RFC 8915 §6).
    public static func cookieKeyHex() -> String { HexText.encode(SecureRandom.bytes(32)) }

    /// A symmetric key of chrony's `type`, as long as the digest or cipher wants it (AES128 16 bytes, AES256
    /// 32, SHA1 20, SHA256 32, SHA384 48, SHA512 64, MD5 16); nil for an unknown type.
    public static func symmetricKeyHex(type: String) -> String? {
        guard let kind = SymmetricKeyType(rawValue: type.uppercased()) else { return nil }
        return HexText.encode(SecureRandom.bytes(secretLength(kind)))
    }

    static func secretLength(_ type: SymmetricKeyType) -> Int {
        switch type {
        case .sha1: 20
        case .sha256, .aes256: 32
        case .sha384: 48
        case .sha512: 64
        case .md5, .aes128: 16
        }
    }
}

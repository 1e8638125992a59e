import FleetCrypto
import NTPCore

/// New key material drawn on the admin host (OpenSSL's CSPRNG), as hex for the admin API: never logged,
/// never printed.
public enum KeyMaterial {
    /// An NTS cookie master key: 32 bytes (AES-SIV-CMAC-256's key, RFC 8915 §6).
    public static func cookieKeyHex() -> String { HexText.encode(SecureRandom.bytes(32)) }

    /// A symmetric key of chrony's `type` (AES128 16 bytes, AES256 32, digests 20 as `chronyc keygen`
    /// makes them); nil for an unknown type.
    public static func symmetricKeyHex(type: String) -> String? {
        guard let kind = SymmetricKeyType(rawValue: type.uppercased()) else { return nil }
        return HexText.encode(SecureRandom.bytes(kind.requiredKeyLength ?? 20), uppercase: true)
    }
}

/// The MAC algorithm of a symmetric NTP key (RFC 5905 §7.5 and Appendix A.2 legacy MACs; RFC 8573
/// AES-CMAC), spelled as in chrony's key file (`chrony.conf(5)`, `keyfile`) and `chronyc keygen`.
///
/// The names are case-sensitive, as in chrony 4.3 (`md5` is not a type there). chrony's further types
/// SHA3-224/256/384/512, TIGER and WHIRLPOOL are not supported.
public enum SymmetricKeyType: String, CaseIterable, Sendable, Hashable {
    case md5 = "MD5", sha1 = "SHA1", sha256 = "SHA256", sha384 = "SHA384", sha512 = "SHA512"
    case aes128 = "AES128", aes256 = "AES256"

    /// The longest digest an NTPv4 MAC carries (chrony's `NTP_MAX_V4_MAC_LENGTH` of 24 bytes less the
    /// 4-byte key ID): longer MACs would make extension fields ambiguous (RFC 7822).
    public static let maximumV4MACLength = 20
    /// The longest digest any MAC carries (chrony's `NTP_MAX_MAC_LENGTH` of 68 bytes less the key ID).
    public static let maximumMACLength = 64

    /// Digest bytes carried in an NTPv4 MAC, as chrony sends them: MD5 16, SHA1 20, SHA256/384/512
    /// truncated to 20, AES128/256 CMAC 16.
    public var macLength: Int { min(fullMACLength, Self.maximumV4MACLength) }

    /// The untruncated length of the algorithm's output: what chrony carries in NTPv1-3 packets (it sends
    /// NTPv3 requests for keys whose full MAC does not fit an NTPv4 packet, i.e. SHA256/384/512, unless
    /// the source has `version 4`).
    public var fullMACLength: Int {
        switch self {
        case .md5: 16
        case .sha1: 20
        case .sha256: 32
        case .sha384: 48
        case .sha512: 64
        case .aes128, .aes256: 16
        }
    }

    /// True for the AES-CMAC types (RFC 8573), false for the digest(key || message) types.
    public var isCMAC: Bool {
        switch self {
        case .aes128, .aes256: true
        case .md5, .sha1, .sha256, .sha384, .sha512: false
        }
    }

    /// The key length in bytes a cipher type requires (AES128 16, AES256 32); nil for the digests, which
    /// take keys of any length of at least one byte.
    public var requiredKeyLength: Int? {
        switch self {
        case .aes128: 16
        case .aes256: 32
        case .md5, .sha1, .sha256, .sha384, .sha512: nil
        }
    }
}

import CFleetCrypto
import NTPCore

/// The message digests the product needs, through OpenSSL libcrypto (`cfc_digest`), one wrapper for all:
/// - MD5: not for security. RFC 5905 §7.3 derives an IPv6 upstream's reference id from the first four bytes
///   of the MD5 digest of its address, and loop detection needs the bytes every implementation computes.
/// - SHA-1: the `#h` integrity hash of the IERS/NIST leap-seconds.list (pass `Digest.sha1.hash` to TimeCore's
///   `LeapSecondsListParser.parse(_:sha1:)`). SHA-1 is not collision resistant (SHAttered, 2017): that hash
///   catches damage, not forgery, and must not be used for new keys, MACs or signatures.
/// - SHA-256: certificate fingerprints as `openssl x509 -fingerprint -sha256` prints them.
/// (The symmetric MACs of RFC 5905/8573 go through `OpenSSLMACComputer`, not here.)
public enum Digest: String, Sendable, CaseIterable {
    case md5 = "MD5"
    case sha1 = "SHA1"
    case sha256 = "SHA256"

    /// The digest length in bytes.
    public var length: Int {
        switch self {
        case .md5: 16
        case .sha1: 20
        case .sha256: 32
        }
    }

    /// The digest of `bytes`. Traps only if OpenSSL itself is broken: all three are in every OpenSSL 3
    /// default provider, and a digest has no error a caller could act on.
    public func hash(_ bytes: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 64)
        let written = bytes.withUnsafeBufferPointer { input in
            cfc_digest(rawValue, input.baseAddress, input.count, &out, out.count)
        }
        guard written == Int32(length) else {
            fatalError("\(rawValue) failed inside OpenSSL: \(takeOpenSSLError())")
        }
        return Array(out.prefix(length))
    }

    /// The digest in lower-case hex.
    public func hex(_ bytes: [UInt8]) -> String { HexText.encode(hash(bytes)) }
}

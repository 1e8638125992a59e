import CFleetCrypto

/// SHA-1 (FIPS 180-4) through OpenSSL libcrypto (EVP_Digest, by way of CFleetCrypto's `cfc_digest`).
///
/// Here for one job: checking the integrity hash of the IERS/NIST leap-seconds.list, whose `#h` line is a
/// SHA-1 digest (pass `SHA1.digest` to TimeCore's `LeapSecondsListParser.parse(_:sha1:)`; TimeCore has no
/// cryptography of its own). SHA-1 is not collision resistant (SHAttered, 2017): that hash catches damage,
/// not forgery, and SHA-1 must not be used for new keys, MACs or signatures.
public enum SHA1 {
    /// The digest length in bytes.
    public static let digestLength = 20

    /// The 20-byte digest of `bytes`.
    ///
    /// Traps if OpenSSL fails, which only a broken installation does (SHA-1 is in every OpenSSL 3 default and
    /// FIPS provider); like `AESCMAC.mac`, a digest has no error a caller could act on.
    public static func digest(_ bytes: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 64)
        let length = bytes.withUnsafeBufferPointer { input in
            cfc_digest("SHA1", input.baseAddress, input.count, &out, out.count)
        }
        guard length == Int32(digestLength) else {
            fatalError("SHA-1 failed inside OpenSSL: \(takeOpenSSLError())")
        }
        return Array(out.prefix(digestLength))
    }
}

import CFleetCrypto

/// MD5 through OpenSSL. Not for security: RFC 5905 §7.3 derives an IPv6 upstream's reference id from the
/// first four bytes of the MD5 digest of its address, and loop detection needs the same bytes as every other
/// implementation computes.
public enum MD5 {
    public static func digest(_ bytes: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 64)
        let length = bytes.withUnsafeBufferPointer { input in
            cfc_digest("MD5", input.baseAddress, input.count, &out, out.count)
        }
        // MD5 is built into every OpenSSL 3 default provider; a failure here means a broken installation.
        precondition(length == 16, "OpenSSL has no MD5")
        return Array(out.prefix(16))
    }
}

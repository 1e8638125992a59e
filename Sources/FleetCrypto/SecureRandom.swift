import CFleetCrypto

/// Cryptographically secure random bytes from OpenSSL's CSPRNG (RAND_bytes, seeded from getrandom()).
/// For keys, nonces, cookie keys and anything an attacker must not predict.
public enum SecureRandom {
    /// `count` random bytes.
    ///
    /// Traps if OpenSSL's CSPRNG reports failure. That is deliberate: it can only fail when the DRBG
    /// cannot be (re)seeded from the kernel, and then no key, nonce or cookie this process makes would be
    /// safe. There is no sensible way to continue: sealing has no error path (RFC 5116 AEADs do not fail),
    /// a caller handed an error might retry or fall back to something predictable, and serving
    /// unauthenticated or replayable responses is worse than a restart by the service manager. chrony
    /// likewise exits when it cannot read random bytes, and Swift's own SystemRandomNumberGenerator traps
    /// on the same failure.
    public static func bytes(_ count: Int) -> [UInt8] {
        precondition(count >= 0, "negative byte count")
        guard count > 0 else { return [] }
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            guard cfc_random_bytes(buffer.baseAddress, count) == 1 else {
                fatalError("OpenSSL's CSPRNG failed (RAND_bytes): \(takeOpenSSLError())")
            }
            initialized = count
        }
    }
}

/// The oldest OpenSSL error queued on this thread (the queue is cleared), for trap messages.
func takeOpenSSLError() -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    let length = cfc_take_error(&buffer, buffer.count)
    guard length > 0 else { return "no error queued" }
    return String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// Reads a C error buffer filled by a cfc_*_new function.
func errorText(_ buffer: [CChar]) -> String {
    let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    return bytes.isEmpty ? "unknown error" : String(decoding: bytes, as: UTF8.self)
}

import CFleetCrypto

/// A `RandomNumberGenerator` over OpenSSL's CSPRNG, buffered: one RAND_bytes call per 512 bytes. The
/// packet path draws nonces and cookies for every NTS response; SystemRandomNumberGenerator makes a
/// getrandom system call for every 8 bytes, which the NTS benchmark showed as several percent of a core.
/// A value type owned by one thread (a receive loop, one NTS-KE session); fails as `SecureRandom` does.
public struct SecureRandomGenerator: RandomNumberGenerator, Sendable {
    private static let words = 64
    private var buffer = [UInt64](repeating: 0, count: SecureRandomGenerator.words)
    private var index = SecureRandomGenerator.words

    public init() {}

    public mutating func next() -> UInt64 {
        if index == Self.words {
            buffer.withUnsafeMutableBytes { raw in
                guard cfc_random_bytes(raw.baseAddress, raw.count) == 1 else {
                    fatalError("OpenSSL's CSPRNG failed (RAND_bytes): \(takeOpenSSLError())")
                }
            }
            index = 0
        }
        defer { index += 1 }
        return buffer[index]
    }
}

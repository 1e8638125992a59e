import CFleetCrypto

/// A `RandomNumberGenerator` over OpenSSL's CSPRNG, buffered: one RAND_bytes call per 512 bytes. The
/// packet path draws nonces and cookies for every NTS response; SystemRandomNumberGenerator makes a
/// getrandom system call for every 8 bytes, which the NTS benchmark showed as several percent of a core.
/// A value type owned by one thread (a receive loop, one NTS-KE session); fails as `SecureRandom` does.
public struct SecureRandomGenerator: RandomNumberGenerator, Sendable {
    private var buffer: [UInt64]
    private var index: Int

    /// `words` 64-bit words drawn per RAND_bytes call: 64 (512 bytes) suits a short-lived owner (an NTS-KE
    /// session draws 128 bytes); a receive loop serving NTS asks for more, as each call has a fixed cost
    /// (callgrind: about 6,000 instructions per 512-byte call, 370 per NTS response).
    public init(words: Int = 64) {
        buffer = [UInt64](repeating: 0, count: max(1, words))
        index = buffer.count
    }

    public mutating func next() -> UInt64 {
        if index == buffer.count { refill() }
        defer { index += 1 }
        return buffer[index]
    }

    private mutating func refill() {
        buffer.withUnsafeMutableBytes { raw in
            guard cfc_random_bytes(raw.baseAddress, raw.count) == 1 else {
                fatalError("OpenSSL's CSPRNG failed (RAND_bytes): \(takeOpenSSLError())")
            }
        }
        index = 0
    }

    /// Fills `bytes` with random bytes, copied from the buffer (whole words; a last partial word's rest is
    /// dropped): the packet path's nonces, drawn without a generic `next()` call per word.
    public mutating func fill(_ bytes: UnsafeMutableRawBufferPointer) {
        guard let destination = bytes.baseAddress else { return }
        var offset = 0
        while offset < bytes.count {
            if index == buffer.count { refill() }
            let count = min((buffer.count - index) * 8, bytes.count - offset)
            buffer.withUnsafeBytes { pool in
                (destination + offset).copyMemory(from: pool.baseAddress! + index * 8, byteCount: count)
            }
            offset += count
            index += (count + 7) / 8
        }
    }
}

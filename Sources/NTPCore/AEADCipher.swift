/// An RFC 5116 AEAD as NTS uses it (RFC 8915 §5.6): the NTS authenticator of every NTS-protected packet and
/// the server's cookies are sealed with one. The protocol core does its NTS logic against this interface and
/// the node passes the Nettle implementation (FleetCrypto), as ntpd-rs's core takes a `Cipher`; tests and
/// fuzzing can pass the same real one.
public protocol AEADCipher: Sendable {
    /// The IANA AEAD algorithm id (RFC 5116 §6; 15 = AEAD_AES_SIV_CMAC_256, the one NTS requires).
    var algorithm: UInt16 { get }
    /// Seals `plaintext`: for AES-SIV the result is the 16-byte synthetic IV followed by the ciphertext.
    /// `plaintext` may be empty (an NTS client request usually carries no encrypted fields).
    func seal(nonce: [UInt8], associatedData: [UInt8], plaintext: [UInt8]) -> [UInt8]
    /// Opens what `seal` produced; nil when authentication fails or the input is malformed.
    func open(nonce: [UInt8], associatedData: [UInt8], sealed: [UInt8]) -> [UInt8]?
    /// `seal` into the caller's buffer, for the packet path (no allocation in the AES-SIV implementation):
    /// writes the sealed bytes at the start of `output` and returns their count, or nil when `output` is too
    /// small or the cipher refuses the input (AES-SIV: an empty nonce). `plaintext` may lie at `output.baseAddress + 16` (sealing in place, as the server does).
    func seal(
        nonce: UnsafeRawBufferPointer, associatedData: UnsafeRawBufferPointer, plaintext: UnsafeRawBufferPointer,
        into output: UnsafeMutableRawBufferPointer
    ) -> Int?
    /// `open` into the caller's buffer: returns the plaintext length, or nil when not authentic, malformed
    /// or `output` is too small. `output` must not overlap the inputs.
    func open(
        nonce: UnsafeRawBufferPointer, associatedData: UnsafeRawBufferPointer, sealed: UnsafeRawBufferPointer,
        into output: UnsafeMutableRawBufferPointer
    ) -> Int?
}

extension AEADCipher {
    /// Through the array API: right for any cipher, fast for none (AESSIV has its own).
    public func seal(
        nonce: UnsafeRawBufferPointer, associatedData: UnsafeRawBufferPointer, plaintext: UnsafeRawBufferPointer,
        into output: UnsafeMutableRawBufferPointer
    ) -> Int? {
        let sealed = seal(nonce: Array(nonce), associatedData: Array(associatedData), plaintext: Array(plaintext))
        guard sealed.count <= output.count else { return nil }
        output.copyBytes(from: sealed)
        return sealed.count
    }

    public func open(
        nonce: UnsafeRawBufferPointer, associatedData: UnsafeRawBufferPointer, sealed: UnsafeRawBufferPointer,
        into output: UnsafeMutableRawBufferPointer
    ) -> Int? {
        guard let plaintext = open(nonce: Array(nonce), associatedData: Array(associatedData), sealed: Array(sealed)),
              plaintext.count <= output.count
        else { return nil }
        output.copyBytes(from: plaintext)
        return plaintext.count
    }
}

/// Makes ciphers from keys, for the algorithms an implementation supports.
public protocol AEADCipherFactory: Sendable {
    /// Supported algorithm ids, most preferred first.
    var supportedAlgorithms: [UInt16] { get }
    /// The key length of `algorithm` in bytes, or nil when unsupported.
    func keyLength(of algorithm: UInt16) -> Int?
    /// A cipher for `algorithm` with `key`, or nil when the algorithm is unsupported or the key length wrong.
    func cipher(algorithm: UInt16, key: [UInt8]) -> (any AEADCipher)?
    /// One `seal` under a key used once (an NTS request's S2C key), into the caller's buffer; nil when the
    /// algorithm or key is unusable or `output` too small. Saves making a cipher object per packet.
    func seal(
        algorithm: UInt16, key: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer,
        associatedData: UnsafeRawBufferPointer, plaintext: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer
    ) -> Int?
    /// One `open` under a key used once (an NTS request's C2S key); nil as `AEADCipher.open(...into:)`.
    func open(
        algorithm: UInt16, key: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer,
        associatedData: UnsafeRawBufferPointer, sealed: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer
    ) -> Int?
}

extension AEADCipherFactory {
    /// Through a cipher object; NettleCipherFactory has a one-shot path.
    public func seal(
        algorithm: UInt16, key: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer,
        associatedData: UnsafeRawBufferPointer, plaintext: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer
    ) -> Int? {
        cipher(algorithm: algorithm, key: Array(key))?
            .seal(nonce: nonce, associatedData: associatedData, plaintext: plaintext, into: output)
    }

    public func open(
        algorithm: UInt16, key: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer,
        associatedData: UnsafeRawBufferPointer, sealed: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer
    ) -> Int? {
        cipher(algorithm: algorithm, key: Array(key))?
            .open(nonce: nonce, associatedData: associatedData, sealed: sealed, into: output)
    }
}

/// AEAD algorithm ids used by NTS (IANA "AEAD Algorithms" registry).
public enum AEADAlgorithm {
    /// AEAD_AES_SIV_CMAC_256 (RFC 5297): mandatory for NTS (RFC 8915 §5.1). 32-byte key.
    public static let aesSIVCMAC256: UInt16 = 15
    /// AEAD_AES_SIV_CMAC_384. 48-byte key.
    public static let aesSIVCMAC384: UInt16 = 16
    /// AEAD_AES_SIV_CMAC_512. 64-byte key.
    public static let aesSIVCMAC512: UInt16 = 17
}

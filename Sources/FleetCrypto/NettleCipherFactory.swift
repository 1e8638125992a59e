import NTPCore

/// The AEADs NTS can use, on GNU Nettle: AES-SIV-CMAC-256, -512 and -384 (RFC 5297).
public struct NettleCipherFactory: AEADCipherFactory {
    public init() {}

    /// Most preferred first: 15 (AEAD_AES_SIV_CMAC_256) is mandatory for NTS (RFC 8915 §5.1) and the only
    /// one chrony offers; 17 (AEAD_AES_SIV_CMAC_512) is the other one ntpd-rs offers; 16 last.
    public var supportedAlgorithms: [UInt16] {
        [AEADAlgorithm.aesSIVCMAC256, AEADAlgorithm.aesSIVCMAC512, AEADAlgorithm.aesSIVCMAC384]
    }

    public func keyLength(of algorithm: UInt16) -> Int? {
        switch algorithm {
        case AEADAlgorithm.aesSIVCMAC256: 32
        case AEADAlgorithm.aesSIVCMAC384: 48
        case AEADAlgorithm.aesSIVCMAC512: 64
        default: nil
        }
    }

    public func cipher(algorithm: UInt16, key: [UInt8]) -> (any AEADCipher)? {
        guard let length = keyLength(of: algorithm), key.count == length else { return nil }
        return try? AESSIV(key: key)
    }

    /// A per-packet key without a cipher object (no allocation: the keyed context is on the C stack): RFC 8915
    /// servers use each request's keys once.
    public func seal(
        algorithm: UInt16, key: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer,
        associatedData: UnsafeRawBufferPointer, plaintext: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer
    ) -> Int? {
        guard let length = keyLength(of: algorithm), key.count == length else { return nil }
        return AESSIV.seal(key: key, nonce: nonce, associatedData: associatedData, plaintext: plaintext, into: output)
    }

    public func open(
        algorithm: UInt16, key: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer,
        associatedData: UnsafeRawBufferPointer, sealed: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer
    ) -> Int? {
        guard let length = keyLength(of: algorithm), key.count == length else { return nil }
        return AESSIV.open(key: key, nonce: nonce, associatedData: associatedData, sealed: sealed, into: output)
    }
}

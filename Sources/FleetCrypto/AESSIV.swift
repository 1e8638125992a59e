import CFleetCrypto
import NTPCore

/// AES-SIV (RFC 5297) as the RFC 5116 AEAD of RFC 5297 §6: AEAD_AES_SIV_CMAC_256/384/512, the AEADs of
/// NTS (RFC 8915). `seal` returns the 16-byte synthetic IV followed by the ciphertext.
///
/// S2V runs over three components, associated data A, nonce N and plaintext P, A and P each one a
/// component even when empty; N must not be empty (N_MIN is 1 octet, RFC 5297 §6.1; NTS nonces are 16
/// bytes and NTSAuthenticator refuses empty ones). Computed by GNU Nettle's siv_cmac (through
/// CFleetCrypto), as chrony does: unlike OpenSSL 3.0's AES-SIV it seals an empty plaintext (the usual NTS
/// client request), and its fat build uses the CPU's AES instructions.
///
/// Immutable and safe to share between threads (the keyed Nettle contexts are only read).
public struct AESSIV: AEADCipher {
    /// Length of the synthetic IV that starts every sealed message.
    public static let tagLength = 16

    private let key: SIVKey
    /// 15, 16 or 17 (AEAD_AES_SIV_CMAC_256/384/512), from the key length.
    public let algorithm: UInt16

    /// A key of 32, 48 or 64 bytes (two AES-128, -192 or -256 keys: K1 for S2V, K2 for CTR).
    public init(key: [UInt8]) throws(CryptoError) {
        let algorithm: UInt16
        switch key.count {
        case 32: algorithm = AEADAlgorithm.aesSIVCMAC256
        case 48: algorithm = AEADAlgorithm.aesSIVCMAC384
        case 64: algorithm = AEADAlgorithm.aesSIVCMAC512
        default: throw .invalidKeyLength(key.count)
        }
        // The error buffer is on the stack: per-packet keys are made on every NTS packet, and a heap array
        // here cost as much as the C key set-up.
        var message = ""
        let made = withUnsafeTemporaryAllocation(of: CChar.self, capacity: 256) { error -> OpaquePointer? in
            let made = key.withUnsafeBufferPointer { cfc_siv_new($0.baseAddress, $0.count, error.baseAddress, error.count) }
            if made == nil, let text = error.baseAddress {
                message = String(cString: text)  // cfc_siv_new always NUL-terminates it
            }
            return made
        }
        guard let made else { throw .keyRefused(message.isEmpty ? "unknown error" : message) }
        self.key = SIVKey(made)
        self.algorithm = algorithm
    }

    /// The key length in bytes (32, 48 or 64).
    public var keyLength: Int {
        switch algorithm {
        case AEADAlgorithm.aesSIVCMAC384: 48
        case AEADAlgorithm.aesSIVCMAC512: 64
        default: 32
        }
    }

    // MARK: RFC 5116 AEAD (what NTS uses)

    /// SIV(16) || ciphertext of `plaintext` under S2V(A = `associatedData`, N = `nonce`, P = `plaintext`).
    /// Traps on an empty nonce (a caller's bug: see the type's comment).
    public func seal(nonce: [UInt8], associatedData: [UInt8], plaintext: [UInt8]) -> [UInt8] {
        precondition(!nonce.isEmpty, "AES-SIV needs a nonce of at least one byte (RFC 5297 §6.1)")
        return [UInt8](unsafeUninitializedCapacity: Self.tagLength + plaintext.count) { out, initialized in
            initialized = associatedData.withUnsafeBytes { a in
                nonce.withUnsafeBytes { n in
                    plaintext.withUnsafeBytes { p in
                        // The buffer always fits and the nonce is not empty: the buffer form cannot return nil.
                        seal(nonce: n, associatedData: a, plaintext: p, into: UnsafeMutableRawBufferPointer(out)) ?? 0
                    }
                }
            }
        }
    }

    /// The plaintext of `sealed`, or nil when it is shorter than 16 bytes, the nonce is empty, or it is not
    /// authentic for this key, nonce and associated data.
    public func open(nonce: [UInt8], associatedData: [UInt8], sealed: [UInt8]) -> [UInt8]? {
        guard sealed.count >= Self.tagLength else { return nil }
        return Self.opening(sealedCount: sealed.count) { out in
            associatedData.withUnsafeBytes { a in
                nonce.withUnsafeBytes { n in
                    sealed.withUnsafeBytes { s in
                        let output = UnsafeMutableRawBufferPointer(start: out, count: sealed.count - Self.tagLength)
                        return open(nonce: n, associatedData: a, sealed: s, into: output) == nil ? 0 : 1
                    }
                }
            }
        }
    }

    /// `seal` into the caller's buffer without allocating (the packet path); in place when `plaintext`
    /// starts at `output + 16`. Nil when `output` is too short or the nonce is empty.
    public func seal(
        nonce: UnsafeRawBufferPointer, associatedData: UnsafeRawBufferPointer, plaintext: UnsafeRawBufferPointer,
        into output: UnsafeMutableRawBufferPointer
    ) -> Int? {
        let length = Self.tagLength + plaintext.count
        guard output.count >= length, let out = output.baseAddress else { return nil }
        let result = withExtendedLifetime(key) {
            cfc_siv_seal(key.pointer, Self.bytes(associatedData), associatedData.count, Self.bytes(nonce), nonce.count,
                         Self.bytes(plaintext), plaintext.count, out.assumingMemoryBound(to: UInt8.self))
        }
        return result == 1 ? length : nil
    }

    /// `open` into the caller's buffer without allocating.
    public func open(
        nonce: UnsafeRawBufferPointer, associatedData: UnsafeRawBufferPointer, sealed: UnsafeRawBufferPointer,
        into output: UnsafeMutableRawBufferPointer
    ) -> Int? {
        guard sealed.count >= Self.tagLength, output.count >= sealed.count - Self.tagLength else { return nil }
        let result = withExtendedLifetime(key) {
            cfc_siv_open(key.pointer, Self.bytes(associatedData), associatedData.count, Self.bytes(nonce), nonce.count,
                         Self.bytes(sealed), sealed.count, Self.mutableBytes(output))
        }
        return result == 1 ? sealed.count - Self.tagLength : nil
    }

    /// One-shot seal under `key` with no key object (a per-packet key): the C side keys a context on its stack.
    static func seal(
        key: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer, associatedData: UnsafeRawBufferPointer,
        plaintext: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer
    ) -> Int? {
        let length = tagLength + plaintext.count
        guard output.count >= length, let out = output.baseAddress else { return nil }
        let result = cfc_siv_seal_key(
            bytes(key), key.count, bytes(associatedData), associatedData.count, bytes(nonce), nonce.count,
            bytes(plaintext), plaintext.count, out.assumingMemoryBound(to: UInt8.self))
        return result == 1 ? length : nil
    }

    /// One-shot open under `key` with no key object.
    static func open(
        key: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer, associatedData: UnsafeRawBufferPointer,
        sealed: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer
    ) -> Int? {
        guard sealed.count >= tagLength, output.count >= sealed.count - tagLength else { return nil }
        let result = cfc_siv_open_key(
            bytes(key), key.count, bytes(associatedData), associatedData.count, bytes(nonce), nonce.count,
            bytes(sealed), sealed.count, mutableBytes(output))
        return result == 1 ? sealed.count - tagLength : nil
    }

    @inline(__always)
    private static func bytes(_ buffer: UnsafeRawBufferPointer) -> UnsafePointer<UInt8>? {
        buffer.baseAddress?.assumingMemoryBound(to: UInt8.self)
    }

    @inline(__always)
    private static func mutableBytes(_ buffer: UnsafeMutableRawBufferPointer) -> UnsafeMutablePointer<UInt8>? {
        buffer.baseAddress?.assumingMemoryBound(to: UInt8.self)
    }

    /// Runs a C open into a new array of `sealedCount - 16` bytes: the array when `open` returns 1, else nil.
    /// An empty plaintext gets no buffer at all (C is given NULL): `Array(unsafeUninitializedCapacity: 0)`
    /// would write the count of the shared empty-array singleton, which ThreadSanitizer rightly flags.
    private static func opening(sealedCount: Int, _ open: (UnsafeMutablePointer<UInt8>?) -> Int32) -> [UInt8]? {
        let length = sealedCount - tagLength
        guard length > 0 else { return open(nil) == 1 ? [] : nil }
        var authentic = false
        let plaintext = [UInt8](unsafeUninitializedCapacity: length) { out, initialized in
            authentic = open(out.baseAddress) == 1
            initialized = authentic ? length : 0
        }
        return authentic ? plaintext : nil
    }
}

/// Owns a cfc_siv. The C object is immutable after creation and its functions only read it, so sharing it
/// across threads is safe (hence @unchecked).
final class SIVKey: @unchecked Sendable {
    let pointer: OpaquePointer
    init(_ pointer: OpaquePointer) { self.pointer = pointer }
    deinit { cfc_siv_free(pointer) }
}

import CFleetCrypto
import NTPCore

/// AES-SIV (RFC 5297) as the RFC 5116 AEAD of RFC 5297 §6: AEAD_AES_SIV_CMAC_256/384/512, the AEADs of
/// NTS (RFC 8915). `seal` returns the 16-byte synthetic IV followed by the ciphertext.
///
/// S2V runs over three components, associated data A, nonce N and plaintext P, each one a component even
/// when empty. CMAC, S2V and CTR are computed by hand (in CFleetCrypto) over keyed AES-CBC and AES-ECB
/// contexts: OpenSSL 3.0's own AES-*-SIV cannot produce a tag without plaintext (the usual NTS client
/// request) and its per-key set-up and per-operation context copies dominated an NTS server's cost. On
/// x86-64 CPUs with AES-NI, AES-128 blocks (AEAD_AES_SIV_CMAC_256) skip EVP and use the AES instructions
/// directly, EVP's per-call cost having become most of what remained. The tests check the by-hand path,
/// with and without the AES instructions, against OpenSSL's SIV, which stays selectable.
///
/// Immutable and safe to share between threads (each thread computes with its own keyed OpenSSL contexts,
/// kept in a per-thread cache in CFleetCrypto).
public struct AESSIV: AEADCipher {
    /// Whether AES-128 blocks use the CPU's AES instructions (x86-64 with AES-NI) rather than EVP.
    static var usesAESInstructions: Bool { cfc_aes_instructions() == 1 }

    /// Length of the synthetic IV that starts every sealed message.
    public static let tagLength = 16
    /// RFC 5297 limits S2V to 127 strings: up to 126 associated-data components plus the plaintext.
    public static let maxComponents = 126

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
        guard let made else { throw .openSSL(message.isEmpty ? "unknown error" : message) }
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
    public func seal(nonce: [UInt8], associatedData: [UInt8], plaintext: [UInt8]) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: Self.tagLength + plaintext.count) { out, initialized in
            initialized = associatedData.withUnsafeBytes { a in
                nonce.withUnsafeBytes { n in
                    plaintext.withUnsafeBytes { p in
                        // The buffer always fits: the buffer form returns nil only for a short buffer.
                        seal(nonce: n, associatedData: a, plaintext: p, into: UnsafeMutableRawBufferPointer(out)) ?? 0
                    }
                }
            }
        }
    }

    /// The plaintext of `sealed`, or nil when it is shorter than 16 bytes or not authentic for this
    /// key, nonce and associated data.
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
    /// starts at `output + 16`.
    public func seal(
        nonce: UnsafeRawBufferPointer, associatedData: UnsafeRawBufferPointer, plaintext: UnsafeRawBufferPointer,
        into output: UnsafeMutableRawBufferPointer
    ) -> Int? {
        let length = Self.tagLength + plaintext.count
        guard output.count >= length, let out = output.baseAddress else { return nil }
        let result = withExtendedLifetime(key) {
            cfc_siv_seal_aead(key.pointer, Self.bytes(associatedData), associatedData.count, Self.bytes(nonce), nonce.count,
                              Self.bytes(plaintext), plaintext.count, out.assumingMemoryBound(to: UInt8.self))
        }
        guard result == 1 else { fatalError("AES-SIV seal failed inside OpenSSL: \(takeOpenSSLError())") }
        return length
    }

    /// `open` into the caller's buffer without allocating.
    public func open(
        nonce: UnsafeRawBufferPointer, associatedData: UnsafeRawBufferPointer, sealed: UnsafeRawBufferPointer,
        into output: UnsafeMutableRawBufferPointer
    ) -> Int? {
        guard sealed.count >= Self.tagLength, output.count >= sealed.count - Self.tagLength else { return nil }
        let result = withExtendedLifetime(key) {
            cfc_siv_open_aead(key.pointer, Self.bytes(associatedData), associatedData.count, Self.bytes(nonce), nonce.count,
                              Self.bytes(sealed), sealed.count, Self.mutableBytes(output))
        }
        return result == 1 ? sealed.count - Self.tagLength : nil
    }

    /// One-shot seal under `key` with no key object (a per-packet key): the C side keys its scratch slot.
    static func seal(
        key: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer, associatedData: UnsafeRawBufferPointer,
        plaintext: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer
    ) -> Int? {
        let length = tagLength + plaintext.count
        guard output.count >= length, let out = output.baseAddress else { return nil }
        let result = cfc_siv_seal_aead_key(
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
        let result = cfc_siv_open_aead_key(
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

    // MARK: RFC 5297 with a list of associated-data components

    /// RFC 5297 `S2V(K1, AD1, ..., ADn, P)` then CTR: for test vectors and deterministic use. A nonce, if
    /// any, is the last component (RFC 5297 §3); `seal(nonce:associatedData:plaintext:)` equals
    /// `seal(components: [associatedData, nonce], plaintext:)`. At most `maxComponents` components.
    public func seal(components: [[UInt8]], plaintext: [UInt8]) -> [UInt8] {
        precondition(components.count <= Self.maxComponents, "RFC 5297 allows at most 126 AD components")
        guard let sealed = seal(components: components, plaintext: plaintext, path: .automatic) else {
            fatalError("AES-SIV seal failed inside OpenSSL: \(takeOpenSSLError())")
        }
        return sealed
    }

    /// Opens what `seal(components:plaintext:)` produced; nil when not authentic or malformed.
    public func open(components: [[UInt8]], sealed: [UInt8]) -> [UInt8]? {
        open(components: components, sealed: sealed, path: .automatic)
    }

    // MARK: Internals (also the tests' window on the two implementations)

    /// Which implementation seals: `.automatic` is what the public API uses (`.byHand`); `.byHandEVP` is
    /// the by-hand path with every AES block through OpenSSL's EVP, what CPUs without AES instructions run.
    enum Path: CaseIterable {
        case automatic, openSSL, byHand, byHandEVP

        var raw: Int32 {
            switch self {
            case .automatic: Int32(CFC_SIV_AUTO.rawValue)
            case .openSSL: Int32(CFC_SIV_OPENSSL.rawValue)
            case .byHand: Int32(CFC_SIV_BY_HAND.rawValue)
            case .byHandEVP: Int32(CFC_SIV_BY_HAND_EVP.rawValue)
            }
        }
    }

    /// Seals along `path`; nil when that path fails (OpenSSL's path with an empty plaintext). A failure
    /// inside OpenSSL is left on the thread's error queue for `takeOpenSSLError`.
    func seal(components: [[UInt8]], plaintext: [UInt8], path: Path) -> [UInt8]? {
        var ok = false
        let sealed = withExtendedLifetime(key) {
            [UInt8](unsafeUninitializedCapacity: Self.tagLength + plaintext.count) { out, initialized in
                let result = Self.withFlattened(components) { concat, lengths, count in
                    plaintext.withUnsafeBufferPointer { p in
                        cfc_siv_seal_path(key.pointer, path.raw, concat, lengths, count, p.baseAddress, p.count,
                                          out.baseAddress)
                    }
                }
                ok = result == 1
                initialized = ok ? Self.tagLength + plaintext.count : 0
            }
        }
        return ok ? sealed : nil
    }

    /// Opens along `path`; nil when not authentic or when that path fails.
    func open(components: [[UInt8]], sealed: [UInt8], path: Path) -> [UInt8]? {
        guard sealed.count >= Self.tagLength, components.count <= Self.maxComponents else { return nil }
        return Self.opening(sealedCount: sealed.count) { out in
            withExtendedLifetime(key) {
                Self.withFlattened(components) { concat, lengths, count in
                    sealed.withUnsafeBufferPointer { s in
                        cfc_siv_open_path(key.pointer, path.raw, concat, lengths, count, s.baseAddress, s.count, out)
                    }
                }
            }
        }
    }

    /// S2V(K1, S1, ..., Sn) of RFC 5297 §2.4 computed by hand, Sn being the last string.
    func s2v(_ strings: [[UInt8]]) -> [UInt8] {
        withExtendedLifetime(key) {
            [UInt8](unsafeUninitializedCapacity: Self.tagLength) { out, initialized in
                let result = Self.withFlattened(strings) { concat, lengths, count in
                    cfc_siv_s2v(key.pointer, concat, lengths, count, out.baseAddress)
                }
                guard result == 1 else { fatalError("S2V failed inside OpenSSL: \(takeOpenSSLError())") }
                initialized = Self.tagLength
            }
        }
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

    /// Calls `body` with the strings concatenated and their lengths (the C side's list form).
    private static func withFlattened<R>(
        _ strings: [[UInt8]], _ body: (UnsafePointer<UInt8>?, UnsafePointer<Int>?, Int) -> R
    ) -> R {
        let concat = strings.flatMap { $0 }
        let lengths = strings.map(\.count)
        return concat.withUnsafeBufferPointer { c in
            lengths.withUnsafeBufferPointer { l in body(c.baseAddress, l.baseAddress, strings.count) }
        }
    }
}

/// Owns a cfc_siv. The C object's only mutable state is the OpenSSL path's lazily built template, published
/// with atomic compare-and-swap and never changed afterwards (the by-hand path keeps its mutable contexts
/// in per-thread caches), so sharing it across threads is safe (hence @unchecked).
final class SIVKey: @unchecked Sendable {
    let pointer: OpaquePointer
    init(_ pointer: OpaquePointer) { self.pointer = pointer }
    deinit { cfc_siv_free(pointer) }
}

/// The AEAD ciphers of recent NTS clients' own keys, kept keyed so that a client polling again costs no
/// AES key schedule (issue 18).
///
/// Every NTS request is opened with the client's C2S key and its response sealed with the S2C key (RFC
/// 8915 §5.7). A server that keys AES-SIV afresh for each runs four AES key expansions per response (K1 and
/// K2 of both keys: callgrind, about 3,400 instructions, a fifth of all; chronyd does the same). A client
/// keeps its keys as long as its cookies (chrony: until its next NTS-KE, by default two weeks), so between
/// polls they repeat, and a keyed cipher made once answers every later request of that client.
///
/// Direct-mapped, `capacity` slots (a power of two), indexed by the key's first word: the keys are secret
/// and uniformly random (TLS exporter output), so any of their bits spread clients evenly, and a client that
/// grinds handshakes to collide with another only costs both a key expansion per request, what every
/// request costs without the cache. A slot's key is compared in constant time (all words, no early exit), so
/// the comparison tells nothing about a cached key's bytes. A replaced entry's cipher is released and the
/// implementation wipes its keyed state (FleetCrypto's `SIVKey`). With more clients than slots polling at
/// once, misses cost what no cache costs, plus the lookup.
///
/// One per receive loop, used by its thread alone (not Sendable): the slots are plain memory behind a
/// pointer, so a lookup pays no exclusivity check. Capacity 0 keeps nothing: every call is one-shot.
public final class NTSKeyCipherCache {
    /// Slots per receive loop: about 600 bytes each once filled (the entry and Nettle's keyed context).
    public static let defaultCapacity = 1024
    /// AEAD_AES_SIV_CMAC_512's 64 bytes, the longest key NTS uses.
    static let maximumKeyLength = 64

    /// What a slot's key is compared with: plain memory, read where it lies. Kept apart from the slot's
    /// cipher so that a lookup does not copy an optional entry with an existential inside (value-witness
    /// copies and destroys, about 300 instructions per NTS response: callgrind, issue 18).
    private struct Tag {
        var algorithm: UInt16
        /// 0: an empty slot.
        var keyLength: Int
        var words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)
    }

    /// A slot's cipher behind one reference: a lookup retains it and calls the cipher where it lies, where an
    /// optional existential was copied and destroyed through value witnesses (twice per lookup).
    private final class Keyed {
        let cipher: any AEADCipher
        init(_ cipher: any AEADCipher) { self.cipher = cipher }
    }

    private let tags: UnsafeMutablePointer<Tag>
    private let ciphers: UnsafeMutablePointer<Keyed?>
    private let mask: Int
    public let capacity: Int

    public init(capacity: Int = NTSKeyCipherCache.defaultCapacity) {
        var size = 0
        if capacity > 0 {
            size = 1
            while size < min(capacity, 1 << 20) { size <<= 1 }
        }
        self.capacity = size
        mask = max(0, size - 1)
        tags = UnsafeMutablePointer<Tag>.allocate(capacity: max(1, size))
        tags.initialize(repeating: Tag(algorithm: 0, keyLength: 0, words: (0, 0, 0, 0, 0, 0, 0, 0)), count: max(1, size))
        ciphers = UnsafeMutablePointer<Keyed?>.allocate(capacity: max(1, size))
        ciphers.initialize(repeating: nil, count: max(1, size))
    }

    deinit {
        ciphers.deinitialize(count: max(1, capacity))
        ciphers.deallocate()
        // The keys compared against stay in the tags' memory: wiped before it is given back.
        UnsafeMutableRawPointer(tags).initializeMemory(as: UInt8.self, repeating: 0, count: max(1, capacity) * MemoryLayout<Tag>.stride)
        tags.deallocate()
    }

    /// How many slots hold a cipher (for tests).
    public var occupied: Int {
        var count = 0
        for index in 0..<capacity where ciphers[index] != nil { count += 1 }
        return count
    }

    /// `open` under `key` (a request's C2S key), through its cipher in `cache`; one-shot through `factory`
    /// without a cache or when nothing can be cached. Decides as `factory.open(algorithm:key:...)`.
    static func open(
        algorithm: UInt16, key: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer, associatedData: UnsafeRawBufferPointer,
        sealed: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, cache: NTSKeyCipherCache?,
        factory: any AEADCipherFactory
    ) -> Int? {
        guard let keyed = cache?.keyed(algorithm: algorithm, key: key, factory: factory) else {
            return factory.open(algorithm: algorithm, key: key, nonce: nonce, associatedData: associatedData, sealed: sealed, into: output)
        }
        return keyed.cipher.open(nonce: nonce, associatedData: associatedData, sealed: sealed, into: output)
    }

    /// `seal` under `key` (a request's S2C key), as `open`.
    static func seal(
        algorithm: UInt16, key: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer, associatedData: UnsafeRawBufferPointer,
        plaintext: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, cache: NTSKeyCipherCache?,
        factory: any AEADCipherFactory
    ) -> Int? {
        guard let keyed = cache?.keyed(algorithm: algorithm, key: key, factory: factory) else {
            return factory.seal(
                algorithm: algorithm, key: key, nonce: nonce, associatedData: associatedData, plaintext: plaintext, into: output)
        }
        return keyed.cipher.seal(nonce: nonce, associatedData: associatedData, plaintext: plaintext, into: output)
    }

    /// The cipher of `key` for `algorithm`: the cached one, or one made now and kept in the key's slot
    /// (replacing what was there); nil when the cache is off, the key is empty or too long, or `factory`
    /// cannot make it (then the caller's one-shot call decides, as without a cache).
    func cipher(algorithm: UInt16, key: UnsafeRawBufferPointer, factory: any AEADCipherFactory) -> (any AEADCipher)? {
        keyed(algorithm: algorithm, key: key, factory: factory)?.cipher
    }

    /// `cipher(algorithm:key:factory:)` in its box.
    private func keyed(algorithm: UInt16, key: UnsafeRawBufferPointer, factory: any AEADCipherFactory) -> Keyed? {
        guard capacity > 0, !key.isEmpty, key.count <= Self.maximumKeyLength else { return nil }
        var words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &words) { $0.copyMemory(from: key) }
        let slot = Int(truncatingIfNeeded: words.0 ^ UInt64(algorithm)) & mask
        let tag = tags + slot
        if tag.pointee.algorithm == algorithm, tag.pointee.keyLength == key.count, Self.same(tag.pointee.words, words),
           let keyed = ciphers[slot]
        {
            return keyed
        }
        guard let cipher = factory.cipher(algorithm: algorithm, key: Array(key)) else { return nil }
        let keyed = Keyed(cipher)
        ciphers[slot] = keyed
        tag.pointee = Tag(algorithm: algorithm, keyLength: key.count, words: words)
        return keyed
    }

    /// Equal, in time independent of where they differ.
    private static func same(
        _ a: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64),
        _ b: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)
    ) -> Bool {
        let difference = (a.0 ^ b.0) | (a.1 ^ b.1) | (a.2 ^ b.2) | (a.3 ^ b.3) | (a.4 ^ b.4) | (a.5 ^ b.5) | (a.6 ^ b.6) | (a.7 ^ b.7)
        return difference == 0
    }
}

/// Our server cookie (RFC 8915 §6 leaves the format to the server):
///
///     key id (4, BE) | nonce (16) | AEAD_AES_SIV_CMAC_256(master key, nonce, AD = key id bytes, plaintext)
///     plaintext = algorithm (2, BE) | 0 (2, reserved) | C2S key | S2C key
///
/// The two reserved zero bytes keep the cookie a multiple of 4 bytes (104 for AES-SIV-CMAC-256 keys), so
/// the padding of the NTS Cookie extension field never changes it: a client echoes the field body, padding
/// included, and the cookie it got over NTS-KE has the same length as the one it sends back.
///
/// The cookie is opaque to clients and carries no time; the server forgets nothing because it stores
/// nothing: whichever node holds the site's key set opens it.
public enum NTSCookie {
    /// Key id and nonce in front of the sealed part.
    public static let nonceLength = 16
    static let headerLength = 4 + nonceLength

    /// Seals `keys` under `key`. Empty only if `ciphers` has no AEAD_AES_SIV_CMAC_256 (a configuration
    /// error: NTS requires it) or `key` is not a 32-byte key.
    public static func seal(
        _ keys: NTSKeys, under key: CookieKey, ciphers: any AEADCipherFactory,
        using random: inout some RandomNumberGenerator
    ) -> [UInt8] {
        guard let cipher = ciphers.cipher(algorithm: CookieKey.algorithm, key: key.key) else { return [] }
        return seal(keys, keyID: key.id, cipher: cipher, using: &random)
    }

    /// `seal` with the master key's cipher already made (the server seals several cookies per response).
    static func seal(
        _ keys: NTSKeys, keyID: UInt32, cipher: any AEADCipher, using random: inout some RandomNumberGenerator
    ) -> [UInt8] {
        let count = length(keys: keys)
        var written = false
        let cookie = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            written = seal(keys, keyID: keyID, cipher: cipher, into: UnsafeMutableRawBufferPointer(buffer), using: &random)
            initialized = written ? count : 0
        }
        return written ? cookie : []
    }

    /// The length of a cookie sealing `keys` (104 bytes for AEAD_AES_SIV_CMAC_256 keys).
    static func length(keys: NTSKeys) -> Int {
        length(keyBytes: keys.clientToServer.count + keys.serverToClient.count)
    }

    /// The length of a cookie sealing keys of `keyBytes` bytes together.
    static func length(keyBytes: Int) -> Int {
        headerLength + NTSServer.tagLength + 4 + keyBytes
    }

    /// Seals a cookie straight into `output` (exactly `length(keys:)` bytes): key id, random nonce, then the
    /// sealed keys, with the plaintext assembled where the ciphertext goes and sealed in place, so the
    /// packet path allocates nothing. False (nothing usable written) when `output` has another length or
    /// the cipher refuses.
    static func seal(
        _ keys: NTSKeys, keyID: UInt32, cipher: any AEADCipher, into output: UnsafeMutableRawBufferPointer,
        using random: inout some RandomNumberGenerator
    ) -> Bool {
        keys.clientToServer.withUnsafeBytes { c2s in
            keys.serverToClient.withUnsafeBytes { s2c in
                seal(algorithm: keys.algorithm, clientToServer: c2s, serverToClient: s2c, keyID: keyID, cipher: cipher, into: output, using: &random)
            }
        }
    }

    /// `seal` of keys where they lie (an `NTSRequest`'s).
    static func seal(
        algorithm: UInt16, clientToServer: UnsafeRawBufferPointer, serverToClient: UnsafeRawBufferPointer, keyID: UInt32,
        cipher: any AEADCipher, into output: UnsafeMutableRawBufferPointer, using random: inout some RandomNumberGenerator
    ) -> Bool {
        seal(
            algorithm: algorithm, clientToServer: clientToServer, serverToClient: serverToClient, keyID: keyID, cipher: cipher,
            into: output, random: { NTSWire.writeRandom(into: $0, using: &random) })
    }

    /// `seal` with `random` filling the nonce (the packet path's, not generic).
    static func seal(
        algorithm: UInt16, clientToServer: UnsafeRawBufferPointer, serverToClient: UnsafeRawBufferPointer, keyID: UInt32,
        cipher: any AEADCipher, into output: UnsafeMutableRawBufferPointer, random: (UnsafeMutableRawBufferPointer) -> Void
    ) -> Bool {
        guard output.count == length(keyBytes: clientToServer.count + serverToClient.count) else { return false }
        output.storeBytes(of: keyID.bigEndian, toByteOffset: 0, as: UInt32.self)
        random(UnsafeMutableRawBufferPointer(rebasing: output[4..<headerLength]))
        let sealedPart = UnsafeMutableRawBufferPointer(rebasing: output[headerLength...])
        let plaintext = UnsafeMutableRawBufferPointer(rebasing: sealedPart[NTSServer.tagLength...])
        plaintext.storeBytes(of: algorithm.bigEndian, toByteOffset: 0, as: UInt16.self)
        plaintext[2] = 0
        plaintext[3] = 0
        UnsafeMutableRawBufferPointer(rebasing: plaintext[4...]).copyMemory(from: clientToServer)
        UnsafeMutableRawBufferPointer(rebasing: plaintext[(4 + clientToServer.count)...]).copyMemory(from: serverToClient)
        let sealed = cipher.seal(
            nonce: UnsafeRawBufferPointer(rebasing: output[4..<headerLength]),
            associatedData: UnsafeRawBufferPointer(rebasing: output[0..<4]),
            plaintext: UnsafeRawBufferPointer(plaintext), into: sealedPart)
        return sealed == sealedPart.count
    }

    /// The key id a cookie claims, or nil if it is too short to carry one.
    public static func keyID(of cookie: [UInt8]) -> UInt32? {
        cookie.withUnsafeBytes { keyID(of: $0) }
    }

    static func keyID(of cookie: UnsafeRawBufferPointer) -> UInt32? {
        guard cookie.count >= 4 else { return nil }
        return cookie.loadUnaligned(fromByteOffset: 0, as: UInt32.self).bigEndian
    }

    /// Opens a cookie. Nil when its key id is not in `keySet`, it is too short, authentication fails, the
    /// algorithm inside is not supported by `ciphers`, the reserved bytes are not zero, or the keys do not
    /// have that algorithm's key length. Never traps.
    public static func open(_ cookie: [UInt8], keySet: CookieKeySet, ciphers: any AEADCipherFactory) -> NTSKeys? {
        open(cookie, ciphers: ciphers) { id in
            keySet.key(id: id).flatMap { ciphers.cipher(algorithm: CookieKey.algorithm, key: $0.key) }
        }
    }

    /// `open` with the master key's cipher looked up by key id (the server caches them).
    static func open(_ cookie: [UInt8], ciphers: any AEADCipherFactory, masterCipher: (UInt32) -> (any AEADCipher)?) -> NTSKeys? {
        cookie.withUnsafeBytes { open($0, ciphers: ciphers, masterCipher: masterCipher) }
    }

    /// The largest plaintext a cookie of ours holds: algorithm, reserved, and two 64-byte keys.
    static let maximumPlaintextLength = 4 + 2 * 64

    /// Opens a cookie as it lies in a received packet; only the two keys are copied out.
    static func open(
        _ cookie: UnsafeRawBufferPointer, ciphers: any AEADCipherFactory, masterCipher: (UInt32) -> (any AEADCipher)?
    ) -> NTSKeys? {
        open(cookie, ciphers: ciphers, masterCipher: masterCipher) { algorithm, c2s, s2c in
            NTSKeys(algorithm: algorithm, clientToServer: Array(c2s), serverToClient: Array(s2c))
        }
    }

    /// Opens a cookie as it lies and hands its algorithm and keys, where they lie in a temporary buffer
    /// (wiped afterwards), to `body`: nil when it does not open (as `open`).
    static func open<R>(
        _ cookie: UnsafeRawBufferPointer, ciphers: any AEADCipherFactory, masterCipher: (UInt32) -> (any AEADCipher)?,
        _ body: (_ algorithm: UInt16, _ clientToServer: UnsafeRawBufferPointer, _ serverToClient: UnsafeRawBufferPointer) -> R
    ) -> R? {
        guard cookie.count > headerLength + NTSServer.tagLength,
            cookie.count - headerLength - NTSServer.tagLength <= maximumPlaintextLength,
            let id = keyID(of: cookie), let cipher = masterCipher(id)
        else { return nil }
        return withUnsafeTemporaryAllocation(byteCount: maximumPlaintextLength, alignment: 8) { buffer -> R? in
            defer { buffer.initializeMemory(as: UInt8.self, repeating: 0) }  // key material off the stack
            guard
                let length = cipher.open(
                    nonce: UnsafeRawBufferPointer(rebasing: cookie[4..<headerLength]),
                    associatedData: UnsafeRawBufferPointer(rebasing: cookie[0..<4]),
                    sealed: UnsafeRawBufferPointer(rebasing: cookie[headerLength...]), into: buffer),
                length >= 4, buffer[2] == 0, buffer[3] == 0
            else { return nil }
            let algorithm = UInt16(buffer[0]) << 8 | UInt16(buffer[1])
            guard let keyLength = ciphers.keyLength(of: algorithm), keyLength > 0, length == 4 + 2 * keyLength else { return nil }
            let plaintext = UnsafeRawBufferPointer(buffer)
            return body(
                algorithm, UnsafeRawBufferPointer(rebasing: plaintext[4..<(4 + keyLength)]),
                UnsafeRawBufferPointer(rebasing: plaintext[(4 + keyLength)..<length]))
        }
    }
}

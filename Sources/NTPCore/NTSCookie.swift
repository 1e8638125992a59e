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
        var idBytes: [UInt8] = []
        BigEndianBytes.append(keyID, to: &idBytes)
        let nonce = NTSWire.randomBytes(nonceLength, using: &random)
        var plaintext: [UInt8] = []
        plaintext.reserveCapacity(4 + keys.clientToServer.count + keys.serverToClient.count)
        BigEndianBytes.append(keys.algorithm, to: &plaintext)
        plaintext.append(0)
        plaintext.append(0)
        plaintext.append(contentsOf: keys.clientToServer)
        plaintext.append(contentsOf: keys.serverToClient)
        let sealed = cipher.seal(nonce: nonce, associatedData: idBytes, plaintext: plaintext)
        return idBytes + nonce + sealed
    }

    /// The key id a cookie claims, or nil if it is too short to carry one.
    public static func keyID(of cookie: [UInt8]) -> UInt32? {
        guard cookie.count >= 4 else { return nil }
        return UInt32(cookie[0]) << 24 | UInt32(cookie[1]) << 16 | UInt32(cookie[2]) << 8 | UInt32(cookie[3])
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
        guard cookie.count > headerLength, let id = keyID(of: cookie), let cipher = masterCipher(id) else { return nil }
        let nonce = Array(cookie[4..<headerLength])
        guard
            let plaintext = cipher.open(
                nonce: nonce, associatedData: Array(cookie[0..<4]), sealed: Array(cookie[headerLength...])),
            plaintext.count >= 4, plaintext[2] == 0, plaintext[3] == 0
        else { return nil }
        let algorithm = UInt16(plaintext[0]) << 8 | UInt16(plaintext[1])
        guard let keyLength = ciphers.keyLength(of: algorithm), keyLength > 0,
            plaintext.count == 4 + 2 * keyLength
        else { return nil }
        return NTSKeys(
            algorithm: algorithm,
            clientToServer: Array(plaintext[4..<(4 + keyLength)]),
            serverToClient: Array(plaintext[(4 + keyLength)...]))
    }
}

/// What the server makes of the NTS extension fields of a client request (RFC 8915 §5.7).
public enum NTSServerCheck: Sendable, Hashable {
    /// No NTS extension field at all: plain NTP.
    case notNTS
    /// The cookie could not be opened (unknown key id: rotated out or another site's; corrupted; forged).
    /// Answer with an NTS NAK: a kiss-o'-death with code NTSN whose only extension field echoes the unique
    /// identifier (`NTSServer.nakFields`); nothing in it is authenticated (RFC 8915 §5.7).
    case nak(uniqueIdentifier: [UInt8])
    /// NTS fields are present but the request is unusable (no or short unique identifier, no cookie, two
    /// cookies, no authenticator, an NTS field after the authenticator, ...): drop it.
    case invalid(String)
    /// The cookie opened but the authenticator is malformed or does not verify. RFC 8915 §5.7 says the
    /// server SHOULD answer with an NTS NAK (chrony 4.3 does); dropping silently is also defensible (the
    /// NAK is unauthenticated either way). The unique identifier is here for the NAK.
    case authenticationFailed(uniqueIdentifier: [UInt8])
    /// Authenticated: answer with `NTSServer.responseFields`.
    case valid(NTSRequest)
}

/// An authenticated NTS request: what the server needs to answer it.
public struct NTSRequest: Sendable, Hashable {
    /// From the cookie: C2S verified the request, S2C seals the response.
    public var keys: NTSKeys
    /// Echoed in the response (RFC 8915 §5.3).
    public var uniqueIdentifier: [UInt8]
    /// The body length of the cookie received (padding included, as on the wire).
    public var cookieLength: Int
    /// 1 for the cookie spent plus one per placeholder, clear or encrypted (RFC 8915 §5.5, §5.7).
    public var cookiesRequested: Int

    public init(keys: NTSKeys, uniqueIdentifier: [UInt8], cookieLength: Int, cookiesRequested: Int) {
        self.keys = keys
        self.uniqueIdentifier = uniqueIdentifier
        self.cookieLength = cookieLength
        self.cookiesRequested = cookiesRequested
    }
}

/// What the NTS part of the server needs: the site's cookie master keys and the AEAD implementation.
/// The master keys' ciphers are made once here, not per packet (keying AES-SIV is most of its cost).
public struct NTSServerConfiguration: Sendable {
    public var keySet: CookieKeySet {
        didSet { masterCiphers = Self.ciphers(for: keySet, from: ciphers) }
    }
    public let ciphers: any AEADCipherFactory
    /// The cipher of each master key, by key id.
    private(set) var masterCiphers: [UInt32: any AEADCipher]

    public init(keySet: CookieKeySet, ciphers: any AEADCipherFactory) {
        self.keySet = keySet
        self.ciphers = ciphers
        self.masterCiphers = Self.ciphers(for: keySet, from: ciphers)
    }

    private static func ciphers(for keySet: CookieKeySet, from factory: any AEADCipherFactory) -> [UInt32: any AEADCipher] {
        var result: [UInt32: any AEADCipher] = [:]
        for key in keySet.keys { result[key.id] = factory.cipher(algorithm: CookieKey.algorithm, key: key.key) }
        return result
    }

    /// Seals one cookie for `keys` under the current master key (NTS-KE hands out eight per session).
    public func sealCookie(_ keys: NTSKeys, using random: inout some RandomNumberGenerator) -> [UInt8] {
        guard let cipher = masterCiphers[keySet.current.id] else { return [] }
        return NTSCookie.seal(keys, keyID: keySet.current.id, cipher: cipher, using: &random)
    }

    /// Opens a cookie with the cached master-key ciphers.
    public func openCookie(_ cookie: [UInt8]) -> NTSKeys? {
        NTSCookie.open(cookie, ciphers: ciphers) { masterCiphers[$0] }
    }
}

/// The server side of NTS-protected NTP (RFC 8915 §5.7), free of I/O: checking requests, minting cookies
/// and sealing responses.
public enum NTSServer {
    /// Unique identifiers shorter than this are refused (RFC 8915 §5.3).
    public static let minimumUniqueIdentifierLength = 32
    /// At most this many cookies per response (chrony's NTS_MAX_COOKIES; a client holds no more).
    public static let maximumCookies = 8

    /// Checks the NTS fields of a parsed client request. `bytes` is the datagram as received and `packet`
    /// its parse: the authenticator's associated data is every byte before the authenticator field.
    ///
    /// Rules (RFC 8915 §5.3-§5.7), checked in chrony 4.3's order (structure, then cookie, then
    /// authenticator) and stricter than chrony about the unique identifier, which it does not measure:
    /// exactly one Unique Identifier of at least 32 bytes, exactly one NTS Cookie, any number of
    /// placeholders (their bodies are ignored; their room is counted by `freshCookies`), exactly one
    /// authenticator, after all of them (NTS fields after it would be unauthenticated; unknown fields after
    /// it are ignored), and no legacy MAC. Encrypted fields may carry more placeholders; other encrypted
    /// fields are ignored. Never traps.
    public static func check(
        request bytes: UnsafeRawBufferPointer, packet: NTPPacket, configuration: NTSServerConfiguration
    ) -> NTSServerCheck {
        var uniqueIdentifier: [UInt8] = []
        var uniqueIdentifiers = 0
        var cookie: [UInt8] = []
        var cookies = 0
        var placeholders = 0
        var authenticator: [UInt8] = []
        var authenticators = 0
        var authenticatorOffset = 0
        var ntsFieldAfterAuthenticator = false

        var offset = NTPHeader.length
        for field in packet.extensionFields {
            switch field.type {
            case NTSExtensionType.uniqueIdentifier:
                uniqueIdentifiers += 1
                uniqueIdentifier = field.body
                if authenticators > 0 { ntsFieldAfterAuthenticator = true }
            case NTSExtensionType.cookie:
                cookies += 1
                cookie = field.body
                if authenticators > 0 { ntsFieldAfterAuthenticator = true }
            case NTSExtensionType.cookiePlaceholder:
                placeholders += 1
                if authenticators > 0 { ntsFieldAfterAuthenticator = true }
            case NTSExtensionType.authenticator:
                authenticators += 1
                if authenticators == 1 {
                    authenticator = field.body
                    authenticatorOffset = offset
                }
            default:
                break
            }
            offset += field.encodedLength
        }

        guard uniqueIdentifiers + cookies + placeholders + authenticators > 0 else { return .notNTS }
        guard packet.header.mode == .client else { return .invalid("NTS fields in a mode \(packet.header.mode.rawValue) packet") }
        guard packet.encodedLength == bytes.count else { return .invalid("the parsed packet does not match the datagram") }
        guard uniqueIdentifiers == 1 else {
            return .invalid(uniqueIdentifiers == 0 ? "no unique identifier" : "\(uniqueIdentifiers) unique identifiers")
        }
        guard uniqueIdentifier.count >= minimumUniqueIdentifierLength else {
            return .invalid("unique identifier of \(uniqueIdentifier.count) bytes (at least \(minimumUniqueIdentifierLength) required)")
        }
        guard cookies == 1 else { return .invalid(cookies == 0 ? "no cookie" : "\(cookies) cookies") }
        guard authenticators == 1 else {
            return .invalid(authenticators == 0 ? "no authenticator" : "\(authenticators) authenticators")
        }
        guard !ntsFieldAfterAuthenticator else { return .invalid("an NTS field follows the authenticator") }
        guard packet.mac == nil else { return .invalid("a MAC follows the authenticator") }

        guard let keys = configuration.openCookie(cookie),
            let cipher = configuration.ciphers.cipher(algorithm: keys.algorithm, key: keys.clientToServer)
        else { return .nak(uniqueIdentifier: uniqueIdentifier) }

        guard let parsed = try? NTSAuthenticator(parsing: authenticator) else {
            return .authenticationFailed(uniqueIdentifier: uniqueIdentifier)
        }
        let associatedData = NTSWire.copy(bytes, 0..<authenticatorOffset)
        guard let plaintext = cipher.open(nonce: parsed.nonce, associatedData: associatedData, sealed: parsed.ciphertext) else {
            return .authenticationFailed(uniqueIdentifier: uniqueIdentifier)
        }
        guard let encrypted = NTSWire.parseEncryptedFields(plaintext) else {
            return .invalid("malformed encrypted extension fields")
        }
        for field in encrypted where field.type == NTSExtensionType.cookiePlaceholder {
            placeholders += 1
        }
        return .valid(
            NTSRequest(
                keys: keys, uniqueIdentifier: uniqueIdentifier, cookieLength: cookie.count,
                cookiesRequested: 1 + placeholders))
    }

    /// Fresh cookies for the response, each sealed under the current master key: as many as requested (at
    /// most `maximumCookies`) but no more than fit for the response (48-byte header + `responseFields`) to
    /// be no larger than the request (`requestLength` bytes), so the server never amplifies. A request that
    /// carried one of our cookies always has room for at least one (the cookie it spent takes the same space
    /// as the fresh one); fewer are returned only when placeholders are shorter than our cookies. Empty if
    /// the current master key cannot seal (no AES-SIV in the factory).
    public static func freshCookies(
        for request: NTSRequest, requestLength: Int, configuration: NTSServerConfiguration,
        using random: inout some RandomNumberGenerator
    ) -> [[UInt8]] {
        let wanted = min(max(request.cookiesRequested, 1), maximumCookies)
        let master = configuration.keySet.current
        guard let cipher = configuration.masterCiphers[master.id] else { return [] }
        let first = NTSCookie.seal(request.keys, keyID: master.id, cipher: cipher, using: &random)
        var count = wanted
        while count > 0,
            NTPHeader.length
                + responseFieldsLength(
                    uniqueIdentifierLength: request.uniqueIdentifier.count, cookieLengths: repeatElement(first.count, count: count))
                > requestLength
        {
            count -= 1
        }
        guard count > 0 else { return [] }
        var cookies = [first]
        cookies.reserveCapacity(count)
        while cookies.count < count {
            cookies.append(NTSCookie.seal(request.keys, keyID: master.id, cipher: cipher, using: &random))
        }
        return cookies
    }

    /// The extension fields that follow the 48-byte response header: the Unique Identifier field, then the
    /// authenticator, whose ciphertext holds `cookies` as NTS Cookie fields, sealed with the S2C key over the
    /// associated data header || Unique Identifier field, with a 16-byte random nonce (RFC 8915 §5.7).
    /// `header` is the final header (its first 48 bytes are used; transmit timestamp already written).
    /// The result is a multiple of 4 bytes and `responseFieldsLength` long. Empty if `header` is shorter
    /// than 48 bytes or the factory has no cipher for the request's keys (impossible for a request `check`
    /// accepted with the same factory).
    public static func responseFields(
        header: UnsafeRawBufferPointer, request: NTSRequest, cookies: [[UInt8]],
        configuration: NTSServerConfiguration, using random: inout some RandomNumberGenerator
    ) -> [UInt8] {
        guard header.count >= NTPHeader.length,
            let cipher = configuration.ciphers.cipher(algorithm: request.keys.algorithm, key: request.keys.serverToClient)
        else { return [] }
        var fields: [UInt8] = []
        fields.reserveCapacity(responseFieldsLength(request: request, cookies: cookies))
        NTSWire.appendField(type: NTSExtensionType.uniqueIdentifier, body: request.uniqueIdentifier, to: &fields)
        let associatedData = NTSWire.copy(header, 0..<NTPHeader.length) + fields

        var plaintext: [UInt8] = []
        for cookie in cookies {
            NTSWire.appendEncryptedField(type: NTSExtensionType.cookie, body: cookie, to: &plaintext)
        }
        let nonce = NTSWire.randomBytes(NTSAuthenticator.nonceLength, using: &random)
        let sealed = cipher.seal(nonce: nonce, associatedData: associatedData, plaintext: plaintext)
        let authenticator = NTSAuthenticator(nonce: nonce, ciphertext: sealed)
        NTSWire.appendField(type: NTSExtensionType.authenticator, body: authenticator.body(), to: &fields)
        return fields
    }

    /// The length `responseFields` produces for these cookies (assuming the 16-byte tag of the AES-SIV
    /// algorithms NTS uses), so the caller can check buffer sizes before sealing.
    public static func responseFieldsLength(request: NTSRequest, cookies: [[UInt8]]) -> Int {
        responseFieldsLength(uniqueIdentifierLength: request.uniqueIdentifier.count, cookieLengths: cookies.lazy.map(\.count))
    }

    /// AES-SIV's synthetic IV, the only expansion of the AEADs NTS uses.
    static let tagLength = 16

    static func responseFieldsLength(uniqueIdentifierLength: Int, cookieLengths: some Sequence<Int>) -> Int {
        let uniqueIdentifierField = NTSWire.fieldLength(bodyLength: uniqueIdentifierLength)
        var plaintextLength = 0
        for length in cookieLengths { plaintextLength += NTSWire.encryptedFieldLength(bodyLength: length) }
        let body = NTSAuthenticator.bodyLength(
            nonceLength: NTSAuthenticator.nonceLength, ciphertextLength: tagLength + plaintextLength)
        return uniqueIdentifierField + NTSWire.fieldLength(bodyLength: body)
    }

    /// NTS NAK fields (RFC 8915 §5.7): only the Unique Identifier field, echoed; no cookie, no authenticator.
    /// The header carries stratum 0 and reference id NTSN (`ReferenceID.ntsNak`).
    public static func nakFields(uniqueIdentifier: [UInt8]) -> [UInt8] {
        var fields: [UInt8] = []
        NTSWire.appendField(type: NTSExtensionType.uniqueIdentifier, body: uniqueIdentifier, to: &fields)
        return fields
    }
}

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

/// What the NTS part of the server needs: the site's cookie master keys and the AEAD implementation.
/// The master keys' ciphers are made once here, not per packet (keying AES-SIV is most of its cost).
///
/// Everything lives in one immutable object, so that a copy (the receive loop's rules hold it as an
/// optional, copied several times per NTS response) is one reference count, not a copy of an existential,
/// two arrays and a key set through value witnesses (callgrind: about 1,500 instructions per NTS response).
public struct NTSServerConfiguration: Sendable {
    /// A master key's id and its cipher.
    final class Master: Sendable {
        let id: UInt32
        let cipher: any AEADCipher
        init(id: UInt32, cipher: any AEADCipher) {
            self.id = id
            self.cipher = cipher
        }
    }

    private final class Storage: Sendable {
        let keySet: CookieKeySet
        let ciphers: any AEADCipherFactory
        /// The cipher of each master key, newest (current) last: a handful of keys, so a linear scan beats
        /// hashing on the packet path.
        let masters: [Master]
        /// The current key's, nil when the factory could not make it.
        let current: Master?

        init(keySet: CookieKeySet, ciphers factory: any AEADCipherFactory) {
            self.keySet = keySet
            self.ciphers = factory
            masters = keySet.keys.compactMap { key in
                factory.cipher(algorithm: CookieKey.algorithm, key: key.key).map { Master(id: key.id, cipher: $0) }
            }
            if let last = masters.last, last.id == keySet.current.id { current = last } else { current = nil }
        }
    }

    private var storage: Storage

    public var keySet: CookieKeySet {
        get { storage.keySet }
        set { storage = Storage(keySet: newValue, ciphers: storage.ciphers) }
    }

    public var ciphers: any AEADCipherFactory { storage.ciphers }

    public init(keySet: CookieKeySet, ciphers: any AEADCipherFactory) {
        storage = Storage(keySet: keySet, ciphers: ciphers)
    }

    /// The cipher of master key `id`, if this node holds it.
    func masterCipher(id: UInt32) -> (any AEADCipher)? {
        let masters = storage.masters
        var index = masters.count - 1
        while index >= 0 {
            if masters[index].id == id { return masters[index].cipher }
            index -= 1
        }
        return nil
    }

    /// Seals one cookie for `keys` under the current master key (NTS-KE hands out eight per session).
    public func sealCookie(_ keys: NTSKeys, using random: inout some RandomNumberGenerator) -> [UInt8] {
        guard let master = currentMaster else { return [] }
        return NTSCookie.seal(keys, keyID: master.id, cipher: master.cipher, using: &random)
    }

    /// Opens a cookie where it lies in a request, with the cached master-key ciphers.
    func openCookie(_ cookie: UnsafeRawBufferPointer) -> NTSKeys? {
        NTSCookie.open(cookie, ciphers: storage.ciphers) { masterCipher(id: $0) }
    }

    /// Opens a cookie where it lies and hands its keys, where they lie, to `body`; nil when it does not open.
    func openCookie<R>(
        _ cookie: UnsafeRawBufferPointer,
        _ body: (_ algorithm: UInt16, _ clientToServer: UnsafeRawBufferPointer, _ serverToClient: UnsafeRawBufferPointer) -> R
    ) -> R? {
        NTSCookie.open(cookie, ciphers: storage.ciphers, masterCipher: { masterCipher(id: $0) }, body)
    }

    /// The current master key's id and cipher, nil when the factory could not make it.
    var currentMaster: Master? { storage.current }
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
        var fields = RequestFields()
        var offset = NTPHeader.length
        for field in packet.extensionFields {
            fields.add(ExtensionFieldScan.Field(type: field.type, offset: offset, length: field.encodedLength))
            offset += field.encodedLength
        }
        var slot = NTSRequest()
        return check(
            request: bytes, fields: fields, mode: packet.header.mode, parsedLength: packet.encodedLength,
            hasMAC: packet.mac != nil, configuration: configuration, into: &slot, ciphers: nil
        ).check(request: bytes, keeping: slot)
    }

    /// `check` for a datagram read in place (the receive loop's NTS path): its fields are found by
    /// `ExtensionFieldScan`, no `NTPPacket` is built. Decides exactly as `check(request:packet:configuration:)`
    /// with the packet `NTPPacket(parsing: bytes)` (`.invalid` for a datagram that does not parse).
    static func check(request bytes: UnsafeRawBufferPointer, header: NTPHeader, configuration: NTSServerConfiguration) -> NTSServerCheck {
        var slot = NTSRequest()
        return check(request: bytes, header: header, configuration: configuration, into: &slot, ciphers: nil)
            .check(request: bytes, keeping: slot)
    }

    /// `check` for a datagram read in place, with an authenticated request's keys and identifier written
    /// into `slot` (a receive loop's, reused) instead of travelling in the result: what the check found is
    /// then a few words, not a request copied from enum to enum (issue 18, callgrind). The request is opened
    /// with its C2S key's cipher from `ciphers` (kept there for the client's next request).
    static func check(
        request bytes: UnsafeRawBufferPointer, header: NTPHeader, configuration: NTSServerConfiguration, into slot: inout NTSRequest,
        ciphers: NTSKeyCipherCache?
    ) -> InPlaceCheck {
        var fields = RequestFields()
        guard let hasMAC = ExtensionFieldScan.scan(bytes, { fields.add($0) }) else { return .invalid("malformed packet") }
        return check(
            request: bytes, fields: fields, mode: header.mode, parsedLength: bytes.count, hasMAC: hasMAC, configuration: configuration,
            into: &slot, ciphers: ciphers)
    }

    /// What a check found, with what it refers to left where it lies: the unique identifier in the datagram
    /// (its body's range), an authenticated request in the caller's slot.
    enum InPlaceCheck {
        case notNTS
        case invalid(String)
        case nak(uniqueIdentifier: Range<Int>)
        case authenticationFailed(uniqueIdentifier: Range<Int>)
        /// Authenticated: the request is in the slot.
        case valid

        /// The same as an `NTSServerCheck`, its payloads copied out of `bytes` and `slot`.
        func check(request bytes: UnsafeRawBufferPointer, keeping slot: NTSRequest) -> NTSServerCheck {
            switch self {
            case .notNTS: return .notNTS
            case .invalid(let reason): return .invalid(reason)
            case .nak(let identifier): return .nak(uniqueIdentifier: NTSWire.copy(bytes, identifier))
            case .authenticationFailed(let identifier): return .authenticationFailed(uniqueIdentifier: NTSWire.copy(bytes, identifier))
            case .valid: return .valid(slot)
            }
        }
    }

    /// What `check` gathers from the fields before deciding: body ranges in the datagram (the fields are
    /// read where they lie; only the unique identifier and the two keys are copied out) and counts.
    struct RequestFields {
        var uniqueIdentifier = 0..<0
        var uniqueIdentifiers = 0
        var cookie = 0..<0
        var cookies = 0
        var placeholders = 0
        var authenticator = 0..<0
        var authenticators = 0
        var authenticatorOffset = 0
        var ntsFieldAfterAuthenticator = false
        var anyNTS: Bool { uniqueIdentifiers + cookies + placeholders + authenticators > 0 }

        mutating func add(_ field: ExtensionFieldScan.Field) {
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
                    authenticatorOffset = field.offset
                }
            default:
                break
            }
        }
    }

    private static func check(
        request bytes: UnsafeRawBufferPointer, fields: RequestFields, mode: NTPMode, parsedLength: Int, hasMAC: Bool,
        configuration: NTSServerConfiguration, into slot: inout NTSRequest, ciphers: NTSKeyCipherCache?
    ) -> InPlaceCheck {
        guard fields.anyNTS else { return .notNTS }
        guard mode == .client else { return .invalid("NTS fields in a mode \(mode.rawValue) packet") }
        guard parsedLength == bytes.count else { return .invalid("the parsed packet does not match the datagram") }
        guard fields.uniqueIdentifiers == 1 else {
            return .invalid(fields.uniqueIdentifiers == 0 ? "no unique identifier" : "\(fields.uniqueIdentifiers) unique identifiers")
        }
        guard fields.uniqueIdentifier.count >= minimumUniqueIdentifierLength else {
            return .invalid("unique identifier of \(fields.uniqueIdentifier.count) bytes (at least \(minimumUniqueIdentifierLength) required)")
        }
        guard fields.cookies == 1 else { return .invalid(fields.cookies == 0 ? "no cookie" : "\(fields.cookies) cookies") }
        guard fields.authenticators == 1 else {
            return .invalid(fields.authenticators == 0 ? "no authenticator" : "\(fields.authenticators) authenticators")
        }
        guard !fields.ntsFieldAfterAuthenticator else { return .invalid("an NTS field follows the authenticator") }
        guard !hasMAC else { return .invalid("a MAC follows the authenticator") }

        let opened = configuration.openCookie(UnsafeRawBufferPointer(rebasing: bytes[fields.cookie])) {
            algorithm, clientToServer, serverToClient -> InPlaceCheck in
            let body = UnsafeRawBufferPointer(rebasing: bytes[fields.authenticator])
            guard let layout = try? NTSAuthenticator.layout(of: body), layout.ciphertext.count >= tagLength else {
                return .authenticationFailed(uniqueIdentifier: fields.uniqueIdentifier)
            }
            // The plaintext (encrypted fields: at most placeholders in a client request) is only counted, in a
            // temporary buffer (on the stack for any usual request).
            let counted = withUnsafeTemporaryAllocation(byteCount: max(1, layout.ciphertext.count - tagLength), alignment: 8) {
                plaintext -> Int?? in
                let length = NTSKeyCipherCache.open(
                    algorithm: algorithm, key: clientToServer, nonce: UnsafeRawBufferPointer(rebasing: body[layout.nonce]),
                    associatedData: UnsafeRawBufferPointer(rebasing: bytes[0..<fields.authenticatorOffset]),
                    sealed: UnsafeRawBufferPointer(rebasing: body[layout.ciphertext]), into: plaintext, cache: ciphers,
                    factory: configuration.ciphers)
                guard let length else { return .none }
                return .some(NTSWire.countEncryptedFields(
                    of: NTSExtensionType.cookiePlaceholder, in: UnsafeRawBufferPointer(rebasing: plaintext[0..<length])))
            }
            guard let counted else { return .authenticationFailed(uniqueIdentifier: fields.uniqueIdentifier) }
            guard let encryptedPlaceholders = counted else { return .invalid("malformed encrypted extension fields") }
            slot = NTSRequest(
                algorithm: algorithm, clientToServer: clientToServer, serverToClient: serverToClient,
                uniqueIdentifier: UnsafeRawBufferPointer(rebasing: bytes[fields.uniqueIdentifier]),
                cookieLength: fields.cookie.count, cookiesRequested: 1 + fields.placeholders + encryptedPlaceholders)
            return .valid
        }
        return opened ?? .nak(uniqueIdentifier: fields.uniqueIdentifier)
    }

    /// How many fresh cookies the response carries: as many as requested (at most `maximumCookies`) but no
    /// more than fit for the response (48-byte header + response fields) to be no larger than the request
    /// (`requestLength` bytes), so the server never amplifies. A request that carried one of our cookies
    /// always has room for at least one (the cookie it spent takes the same space as the fresh one); fewer
    /// are returned only when placeholders are shorter than our cookies. 0 if the current master key cannot
    /// seal (no AES-SIV in the factory).
    public static func freshCookieCount(
        for request: NTSRequest, requestLength: Int, configuration: NTSServerConfiguration
    ) -> Int {
        guard configuration.currentMaster != nil else { return 0 }
        var count = min(max(request.cookiesRequested, 1), maximumCookies)
        while count > 0, responseLength(for: request, freshCookies: count) > requestLength { count -= 1 }
        return count
    }

    /// The whole response (48-byte header and fields) to `request` carrying `count` fresh cookies of ours.
    static func responseLength(for request: NTSRequest, freshCookies count: Int) -> Int {
        NTPHeader.length
            + responseFieldsLength(
                uniqueIdentifierLength: request.uniqueIdentifierByteCount,
                cookieLengths: repeatElement(NTSCookie.length(keyBytes: 2 * request.keyByteCount), count: count))
    }

    /// The fresh cookies of `freshCookieCount`, each sealed under the current master key, as arrays (the
    /// packet path seals them in place instead, in `writeResponseFields`).
    public static func freshCookies(
        for request: NTSRequest, requestLength: Int, configuration: NTSServerConfiguration,
        using random: inout some RandomNumberGenerator
    ) -> [[UInt8]] {
        let count = freshCookieCount(for: request, requestLength: requestLength, configuration: configuration)
        guard count > 0, let master = configuration.currentMaster else { return [] }
        return (0..<count).map { _ in NTSCookie.seal(request.keys, keyID: master.id, cipher: master.cipher, using: &random) }
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
        guard header.count >= NTPHeader.length else { return [] }
        let length = NTPHeader.length + responseFieldsLength(request: request, cookies: cookies)
        var packet = [UInt8](repeating: 0, count: length)
        let written = packet.withUnsafeMutableBytes { buffer in
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: header[0..<NTPHeader.length]))
            return writeResponseFields(
                into: buffer, request: request, cookieCount: cookies.count, cookieLength: { cookies[$0].count },
                configuration: configuration, random: { NTSWire.writeRandom(into: $0, using: &random) }, ciphers: nil
            ) { index, slot in
                cookies[index].withUnsafeBytes { slot.copyMemory(from: $0) }
                return true
            }
        }
        guard written == length else { return [] }
        return Array(packet[NTPHeader.length...])
    }

    /// Writes the response's extension fields after the 48-byte header already in `buffer`, sealing
    /// `cookieCount` fresh cookies straight into their places (the packet path: nothing is allocated).
    /// Returns the whole response length (header included), or 0 when `buffer` is too small or sealing fails.
    public static func writeResponseFields(
        into buffer: UnsafeMutableRawBufferPointer, request: NTSRequest, cookieCount: Int,
        configuration: NTSServerConfiguration, using random: inout some RandomNumberGenerator
    ) -> Int {
        writeResponseFields(
            into: buffer, request: request, cookieCount: cookieCount, configuration: configuration,
            random: { NTSWire.writeRandom(into: $0, using: &random) }, ciphers: nil)
    }

    /// `writeResponseFields` with `random` filling the nonces (response and cookies): not generic, so that a
    /// caller in another module does not run it unspecialised. The response is sealed with the S2C key's
    /// cipher from `ciphers`.
    public static func writeResponseFields(
        into buffer: UnsafeMutableRawBufferPointer, request: NTSRequest, cookieCount: Int,
        configuration: NTSServerConfiguration, random: (UnsafeMutableRawBufferPointer) -> Void, ciphers: NTSKeyCipherCache?
    ) -> Int {
        let master = configuration.currentMaster
        guard cookieCount == 0 || master != nil else { return 0 }
        let cookieLength = NTSCookie.length(keyBytes: 2 * request.keyByteCount)
        return writeResponseFields(
            into: buffer, request: request, cookieCount: cookieCount, cookieLength: { _ in cookieLength },
            configuration: configuration, random: random, ciphers: ciphers
        ) { _, slot in
            guard let master else { return false }
            return request.withBytes { c2s, s2c, _ in
                NTSCookie.seal(
                    algorithm: request.algorithm, clientToServer: c2s, serverToClient: s2c, keyID: master.id, cipher: master.cipher,
                    into: slot, random: random)
            }
        }
    }

    /// The layout of `responseFields`, written in place after the header in `buffer`: the unique identifier
    /// field, then the authenticator field, whose plaintext (`cookieCount` NTS Cookie fields of
    /// `cookieLength(i)` bytes, each body filled by `cookie`) is assembled where its ciphertext goes and
    /// sealed in place with the S2C key; `random` fills the nonce. Returns the response length, or 0.
    /// Not generic (closures instead): the node calls it from another module, where a generic function would
    /// run unspecialised and instantiate type metadata on every packet.
    static func writeResponseFields(
        into buffer: UnsafeMutableRawBufferPointer, request: NTSRequest, cookieCount: Int, cookieLength: (Int) -> Int,
        configuration: NTSServerConfiguration, random: (UnsafeMutableRawBufferPointer) -> Void, ciphers: NTSKeyCipherCache?,
        cookie: (Int, UnsafeMutableRawBufferPointer) -> Bool
    ) -> Int {
        let uniqueIdentifierField = NTSWire.fieldLength(bodyLength: request.uniqueIdentifierByteCount)
        var plaintextLength = 0
        for index in 0..<cookieCount { plaintextLength += NTSWire.encryptedFieldLength(bodyLength: cookieLength(index)) }
        let nonceLength = NTSAuthenticator.nonceLength
        let ciphertextLength = tagLength + plaintextLength
        let authenticatorBody = NTSAuthenticator.bodyLength(nonceLength: nonceLength, ciphertextLength: ciphertextLength)
        let authenticatorField = NTSWire.fieldLength(bodyLength: authenticatorBody)
        let total = NTPHeader.length + uniqueIdentifierField + authenticatorField
        guard buffer.count >= total else { return 0 }

        // Unique Identifier field, zero-padded.
        var offset = NTPHeader.length
        NTSWire.writeFieldHeader(type: NTSExtensionType.uniqueIdentifier, length: uniqueIdentifierField, into: buffer, at: offset)
        UnsafeMutableRawBufferPointer(rebasing: buffer[(offset + 4)..<(offset + uniqueIdentifierField)]).initializeMemory(as: UInt8.self, repeating: 0)
        request.withBytes { _, _, identifier in
            UnsafeMutableRawBufferPointer(rebasing: buffer[(offset + 4)...]).copyMemory(from: identifier)
        }
        offset += uniqueIdentifierField
        let associatedDataEnd = offset

        // Authenticator field: lengths, nonce, then the sealed cookies; zeros up to the field's end.
        let fieldEnd = offset + authenticatorField
        UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<fieldEnd]).initializeMemory(as: UInt8.self, repeating: 0)
        NTSWire.writeFieldHeader(type: NTSExtensionType.authenticator, length: authenticatorField, into: buffer, at: offset)
        buffer.storeBytes(of: UInt16(nonceLength).bigEndian, toByteOffset: offset + 4, as: UInt16.self)
        buffer.storeBytes(of: UInt16(truncatingIfNeeded: ciphertextLength).bigEndian, toByteOffset: offset + 6, as: UInt16.self)
        let nonce = (offset + 8)..<(offset + 8 + nonceLength)
        random(UnsafeMutableRawBufferPointer(rebasing: buffer[nonce]))
        let sealedStart = offset + 8 + NTSWire.padded(nonceLength)
        var cursor = sealedStart + tagLength
        for index in 0..<cookieCount {
            let length = cookieLength(index)
            let fieldLength = NTSWire.encryptedFieldLength(bodyLength: length)
            NTSWire.writeFieldHeader(type: NTSExtensionType.cookie, length: fieldLength, into: buffer, at: cursor)
            guard cookie(index, UnsafeMutableRawBufferPointer(rebasing: buffer[(cursor + 4)..<(cursor + 4 + length)])) else {
                return 0
            }
            cursor += fieldLength
        }
        let sealed = UnsafeMutableRawBufferPointer(rebasing: buffer[sealedStart..<(sealedStart + ciphertextLength)])
        let written = request.withBytes { _, key, _ in
            NTSKeyCipherCache.seal(
                algorithm: request.algorithm, key: key, nonce: UnsafeRawBufferPointer(rebasing: buffer[nonce]),
                associatedData: UnsafeRawBufferPointer(rebasing: buffer[0..<associatedDataEnd]),
                plaintext: UnsafeRawBufferPointer(rebasing: sealed[tagLength...]), into: sealed, cache: ciphers,
                factory: configuration.ciphers)
        }
        return written == ciphertextLength ? total : 0
    }

    /// The length `responseFields` produces for these cookies (assuming the 16-byte tag of the AES-SIV
    /// algorithms NTS uses), so the caller can check buffer sizes before sealing.
    public static func responseFieldsLength(request: NTSRequest, cookies: [[UInt8]]) -> Int {
        responseFieldsLength(uniqueIdentifierLength: request.uniqueIdentifierByteCount, cookieLengths: cookies.lazy.map(\.count))
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

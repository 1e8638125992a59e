/// Builds NTS-protected client requests (RFC 8915 §5.7), as chrony 4.3 does: used by our NTS client,
/// upstream NTS sources and fleet probes.
public struct NTSClientRequest: Sendable {
    /// Length of the random unique identifier (RFC 8915 §5.3 minimum; chrony's length).
    public static let uniqueIdentifierLength = 32
    /// The authenticator is the last field of a packet without MAC, so RFC 7822 §3 wants it at least 28
    /// bytes (chrony pads to the same minimum); with a 16-byte nonce and tag it is 40 anyway.
    static let minimumAuthenticatorFieldLength = 28

    /// A complete request packet: `header`, the Unique Identifier field (`uniqueIdentifier`, or 32 random
    /// bytes), the NTS Cookie field, `placeholders` NTS Cookie Placeholder fields with zero bodies as long
    /// as the cookie (chrony's way; the server may then return one cookie per placeholder without its
    /// response outgrowing the request), then the authenticator: a 16-byte random nonce, AEAD with the C2S
    /// key over every preceding byte, empty plaintext.
    ///
    /// `packet` is empty when `ciphers` has no cipher for `keys` (impossible for keys negotiated over NTS-KE
    /// with the same factory).
    public static func build(
        header: NTPHeader, cookie: [UInt8], placeholders: Int, keys: NTSKeys, ciphers: any AEADCipherFactory,
        uniqueIdentifier: [UInt8]? = nil, using random: inout some RandomNumberGenerator
    ) -> (packet: [UInt8], uniqueIdentifier: [UInt8]) {
        let identifier = uniqueIdentifier ?? NTSWire.randomBytes(uniqueIdentifierLength, using: &random)
        guard let cipher = ciphers.cipher(algorithm: keys.algorithm, key: keys.clientToServer) else {
            return ([], identifier)
        }
        var packet = header.serialized()
        NTSWire.appendField(type: NTSExtensionType.uniqueIdentifier, body: identifier, to: &packet)
        NTSWire.appendField(type: NTSExtensionType.cookie, body: cookie, to: &packet)
        let placeholder = [UInt8](repeating: 0, count: cookie.count)
        for _ in 0..<max(0, placeholders) {
            NTSWire.appendField(type: NTSExtensionType.cookiePlaceholder, body: placeholder, to: &packet)
        }
        let nonce = NTSWire.randomBytes(NTSAuthenticator.nonceLength, using: &random)
        let sealed = cipher.seal(nonce: nonce, associatedData: packet, plaintext: [])
        let body = NTSAuthenticator(nonce: nonce, ciphertext: sealed)
            .body(minimumLength: minimumAuthenticatorFieldLength - ExtensionField.headerLength)
        NTSWire.appendField(type: NTSExtensionType.authenticator, body: body, to: &packet)
        return (packet, identifier)
    }
}

/// What a client makes of a response to an NTS request.
public enum NTSClientVerdict: Hashable, Sendable {
    /// Verified with the S2C key; the fresh cookies found inside the encrypted fields (possibly none:
    /// chrony then treats the response as failed, as a server must always send at least one).
    case authenticated(cookies: [[UInt8]])
    /// An NTS NAK: stratum 0, reference id NTSN, matching unique identifier, no authenticator. It is
    /// unauthenticated by design (RFC 8915 §5.7): the client must run NTS-KE again for new cookies (chrony
    /// does so only if no authenticated response arrives either).
    case nak
    /// Ignore the packet: no or mismatched unique identifier, no authenticator, authentication failure,
    /// malformed fields, ...
    case rejected(String)
}

/// The client side of NTS-protected NTP (RFC 8915 §5.7).
public enum NTSClient {
    /// Checks a response to a request built with `uniqueIdentifier` and `keys`, as chrony 4.3 does: a server
    /// mode packet; exactly one Unique Identifier field, equal to ours (before the authenticator, so it is
    /// authenticated); the authenticator as the last field (no MAC after it), verifying with the S2C key
    /// over every byte before it; well-formed encrypted fields, of which the NTS Cookie fields (at least 16
    /// bytes as fields, i.e. 12-byte bodies) are the fresh cookies and the rest is ignored. Clear NTS Cookie
    /// fields are ignored (cookies must come encrypted). Never traps.
    public static func verify(
        response bytes: [UInt8], uniqueIdentifier: [UInt8], keys: NTSKeys, ciphers: any AEADCipherFactory
    ) -> NTSClientVerdict {
        let packet: NTPPacket
        do {
            packet = try NTPPacket(parsing: bytes)
        } catch {
            return .rejected("malformed packet: \(error)")
        }
        guard packet.header.mode == .server else { return .rejected("not a server response") }

        var uniqueIdentifierMatched = false
        var authenticator: (body: [UInt8], offset: Int)?
        var offset = NTPHeader.length
        for field in packet.extensionFields {
            switch field.type {
            case NTSExtensionType.uniqueIdentifier:
                guard !uniqueIdentifierMatched else { return .rejected("two unique identifiers") }
                guard field.body == uniqueIdentifier else { return .rejected("unique identifier mismatch") }
                uniqueIdentifierMatched = true
            case NTSExtensionType.authenticator:
                guard offset + field.encodedLength == bytes.count else {
                    return .rejected("authenticator is not the last field")
                }
                authenticator = (field.body, offset)
            default:
                break
            }
            offset += field.encodedLength
        }
        guard uniqueIdentifierMatched else { return .rejected("no unique identifier") }
        guard let authenticator else {
            if packet.header.stratum == 0, packet.header.referenceID == .ntsNak { return .nak }
            return .rejected("no authenticator")
        }
        guard let parsed = try? NTSAuthenticator(parsing: authenticator.body) else {
            return .rejected("malformed authenticator")
        }
        guard let cipher = ciphers.cipher(algorithm: keys.algorithm, key: keys.serverToClient) else {
            return .rejected("no cipher for algorithm \(keys.algorithm)")
        }
        guard
            let plaintext = cipher.open(
                nonce: parsed.nonce, associatedData: Array(bytes[0..<authenticator.offset]), sealed: parsed.ciphertext)
        else { return .rejected("authentication failed") }
        guard let encrypted = NTSWire.parseEncryptedFields(plaintext) else {
            return .rejected("malformed encrypted extension fields")
        }
        var cookies: [[UInt8]] = []
        for field in encrypted where field.type == NTSExtensionType.cookie {
            guard ExtensionField.headerLength + field.body.count >= ExtensionField.minimumLength else { continue }
            cookies.append(field.body)
        }
        return .authenticated(cookies: cookies)
    }
}

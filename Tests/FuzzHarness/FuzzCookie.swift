import FleetCrypto
import NTPCore

/// The site's master keys, fixed: id 7 (older) and id 8 (current), with the real AEADs (Nettle).
private let ciphers = NettleCipherFactory()
private let siteKeys = try! CookieKeySet(keys: [
    CookieKey(id: 7, key: [UInt8](repeating: 0x17, count: CookieKey.keyLength), createdAt: 0),
    CookieKey(id: 8, key: [UInt8](repeating: 0x42, count: CookieKey.keyLength), createdAt: 1),
])
private let server = NTSServerConfiguration(keySet: siteKeys, ciphers: ciphers)

/// One libFuzzer input, the first byte choosing what the rest is:
/// - 0: a cookie as an attacker presents it (any bytes);
/// - 1: an authentic cookie (sealed under a site key, or under a key the site lacks) around any
///   plaintext: key id choice, 16-byte nonce, plaintext, so the checks after decryption are reached
///   (algorithm, reserved bytes, key lengths);
/// - 2: a genuine cookie for keys from the input, with one byte changed or not;
/// - 3: the cookie key file (`CookieKeySet(parsing:)`, what every node of a site loads).
///
/// Cookies (0-2) are opened with `NTSCookie.open` and, inside a complete NTS request built as a client
/// builds it, through the server's `NTSServer.check` (RFC 8915 §5.7). Checks: nothing traps; a cookie opens
/// only when it is authentic and well formed, to exactly the keys sealed in it (AEAD id supported, both
/// keys of its length); a changed cookie never opens; the server's check agrees with `open` (a cookie that
/// does not open is answered with a NAK or dropped, one that opens authenticates a request made with its
/// keys); a key file that parses serialises back to the same keys.
public func fuzzCookie(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: count))
    guard let mode = bytes.first else { return 0 }
    let rest = Array(bytes.dropFirst())
    switch mode % 4 {
    case 0:
        presented(rest)
    case 1:
        guard rest.count >= 1 + NTSCookie.nonceLength else { return 0 }
        let id: UInt32 = switch rest[0] % 3 { case 0: 7; case 1: 8; default: 9 }
        let nonce = Array(rest[1...NTSCookie.nonceLength])
        let plaintext = Array(rest[(1 + NTSCookie.nonceLength)...])
        var cookie = withUnsafeBytes(of: id.bigEndian) { Array($0) } + nonce
        // Key 9 is not the site's: sealed under key 8, claimed as 9.
        let key = siteKeys.key(id: id) ?? siteKeys.current
        cookie += ciphers.cipher(algorithm: CookieKey.algorithm, key: key.key)!.seal(nonce: nonce, associatedData: Array(cookie[0..<4]), plaintext: plaintext)
        let opened = presented(cookie)
        var expected: NTSKeys?
        if id != 9, plaintext.count >= 4, plaintext[2] == 0, plaintext[3] == 0 {
            let algorithm = UInt16(plaintext[0]) << 8 | UInt16(plaintext[1])
            if let length = ciphers.keyLength(of: algorithm), length > 0, plaintext.count == 4 + 2 * length {
                expected = NTSKeys(algorithm: algorithm, clientToServer: Array(plaintext[4..<(4 + length)]), serverToClient: Array(plaintext[(4 + length)...]))
            }
        }
        precondition(opened == expected, "an authentic cookie opened to \(String(describing: opened)), expected \(String(describing: expected))")
    case 2:
        guard rest.count >= 4 else { return 0 }
        let algorithms = ciphers.supportedAlgorithms
        let algorithm = algorithms[Int(rest[0]) % algorithms.count]
        let length = ciphers.keyLength(of: algorithm)!
        let material = (0..<(2 * length)).map { rest[3 + $0 % max(1, rest.count - 3)] &+ UInt8(truncatingIfNeeded: $0) }
        let keys = NTSKeys(algorithm: algorithm, clientToServer: Array(material[..<length]), serverToClient: Array(material[length...]))
        var random = SeededRandom(seed: UInt64(count))
        var cookie = server.sealCookie(keys, using: &random)
        precondition(!cookie.isEmpty, "the current key did not seal")
        let position = Int(rest[1]) % cookie.count
        let change = rest[2]
        cookie[position] ^= change
        let opened = presented(cookie)
        precondition(opened == (change == 0 ? keys : nil), change == 0 ? "a genuine cookie did not open to its keys" : "a changed cookie opened")
    default:
        let text = String(decoding: rest, as: UTF8.self)
        if let set = try? CookieKeySet(parsing: text) {
            let again = try? CookieKeySet(parsing: set.serialized())
            precondition(again == set, "a cookie key file did not serialise back to the same keys")
            precondition(set.keys.allSatisfy { $0.key.count == CookieKey.keyLength }, "a master key of the wrong length")
        }
    }
    return 0
}

/// Opens `cookie` as the site does and checks it in a request a client would send with it; returns what
/// it opened to.
@discardableResult
private func presented(_ cookie: [UInt8]) -> NTSKeys? {
    let opened = NTSCookie.open(cookie, keySet: siteKeys, ciphers: ciphers)
    if let opened {
        precondition(ciphers.keyLength(of: opened.algorithm) == opened.clientToServer.count, "C2S key of the wrong length")
        precondition(opened.clientToServer.count == opened.serverToClient.count, "keys of different lengths")
    }
    // A request as a client sends it (keys: the cookie's, or some that cannot match), one placeholder.
    var random = SeededRandom(seed: UInt64(cookie.count))
    let keys = opened ?? NTSKeys(clientToServer: [UInt8](repeating: 1, count: 32), serverToClient: [UInt8](repeating: 2, count: 32))
    let header = NTPHeader(mode: .client, poll: 6, transmitTimestamp: NTPTimestamp(rawValue: 0xE000_0000_1234_5678))
    let (request, identifier) = NTSClientRequest.build(
        header: header, cookie: cookie, placeholders: cookie.count % 3, keys: keys, ciphers: ciphers, using: &random)
    guard !request.isEmpty else { return opened }
    request.withUnsafeBytes { wire in
        guard let packet = try? NTPPacket(parsing: wire) else { return }
        // The server sees the field body, padding included.
        let body = packet.extensionFields.first { $0.type == NTSExtensionType.cookie }!.body
        let opensPadded = NTSCookie.open(body, keySet: siteKeys, ciphers: ciphers)
        switch NTSServer.check(request: wire, packet: packet, configuration: server) {
        case .valid(let valid):
            precondition(opensPadded != nil && valid.keys == opensPadded, "the server accepted a cookie that does not open to those keys")
            precondition(valid.uniqueIdentifier == identifier, "unique identifier not echoed")
            precondition(NTSServer.freshCookieCount(for: valid, requestLength: wire.count, configuration: server) >= 1, "no room for a fresh cookie")
        case .nak(let echoed):
            precondition(opensPadded == nil, "a NAK for a cookie that opens")
            precondition(echoed == identifier, "NAK without the unique identifier")
        case .authenticationFailed:
            preconditionFailure("authentication failed for a request made with the cookie's keys")
        case .invalid, .notNTS:
            precondition(opensPadded == nil, "a request with a cookie that opens refused as malformed")
        }
    }
    return opened
}

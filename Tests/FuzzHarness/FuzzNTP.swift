import FleetCrypto
import NTPCore

/// One libFuzzer input: an arbitrary datagram (NTS fields included). Checks what every packet rule promises:
/// - parsing never traps, and whatever parses serialises back to the same bytes;
/// - the server rules never trap, answer only client requests, echo the transmit timestamp as origin, and
///   never answer with more bytes than were received;
/// - the client side (an `xleave` source, RFC 9769) takes the datagram as the answer to its second request
///   (origin set to one of the request's values) without trapping, and measures only finite numbers.
public func fuzzNTP(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: count)

    if let packet = try? NTPPacket(parsing: bytes) {
        precondition(packet.serialized() == Array(bytes), "parse/serialise round trip changed the bytes")
    }

    // NTS with a fixed site key, so inputs carrying NTS extension fields reach the NTS checks and sealing.
    let siteKey = CookieKey(id: 1, key: [UInt8](repeating: 0x42, count: 32), createdAt: 0)
    let nts = try? NTSServerConfiguration(keySet: CookieKeySet(keys: [siteKey]), ciphers: NettleCipherFactory())
    // Symmetric keys with ids 1 and 2, so inputs carrying MACs reach verification (and, rarely, a signed reply).
    let keys = [try? SymmetricKey(id: 1, type: .aes128, secret: [UInt8](repeating: 1, count: 16)),
                try? SymmetricKey(id: 2, type: .sha256, secret: [2, 2, 2])].compactMap { $0 }
    let computer = OpenSSLMACComputer()
    var core = NTPServerCore(
        policy: ServerPolicy(rateLimit: try? RateLimitPolicy(interval: 0, burst: 2, leak: 1, kod: 1)), rateLimitCapacity: 16,
        nts: nts, symmetric: SymmetricServerConfiguration(keys: keys, computer: computer, restrictions: [.v4(0x7F00_000B): [2]]))
    var random = SeededRandom(seed: UInt64(count))
    let state = ServerState.local(stratum: 1, precision: -20, referenceTime: NTPTimestamp(rawValue: 0xE000_0000_0000_0000))
    // 127.0.0.1 may use any key; 127.0.0.11 is a sibling that may use key 2 only.
    for attempt in 0..<4 {
        let source: IPAddress = attempt == 3 ? .v4(0x7F00_000B) : .v4(0x7F00_0001)
        let decision = core.handle(
            request: bytes, from: source, receivedAt: NTPTimestamp(rawValue: 0xE000_0001_0000_0000),
            monotonicNow: UInt64(attempt), state: state, random: &random)
        guard case .reply(let reply) = decision else { continue }
        let wire = reply.serialized(transmit: NTPTimestamp(rawValue: 0xE000_0001_0000_1000), nts: nts, mac: computer, using: &random)
        precondition(!wire.isEmpty && wire.count <= count, "a response larger than its request")
        precondition(bytes[0] & 7 == 3, "answered a datagram that is not a client request")
        precondition(Array(wire[24..<32]) == Array(bytes[40..<48]), "origin is not the request's transmit timestamp")
        precondition(wire[0] & 7 == 4, "response not in server mode")
        if attempt == 3, case .symmetric(let key) = reply.trailer { precondition(key.id == 2, "a sibling answered under a key it may not use") }
    }

    // The receive loop's in-place paths (issue 18: no `NTPPacket` per plain or NTS request) decide exactly as
    // the packet path: `admitHeader` as `admit`, `respond(toHeader:)` and `respond(toNTS:)` as `respond(to:)`,
    // under every rate-limit verdict. Unsafe pointer code: under ASan, any read past the datagram aborts.
    let rules = NTPServerRules(policy: ServerPolicy(), nts: nts, symmetric: core.rules.symmetric)
    let source = IPAddress.v4(0x7F00_0001)
    let full = rules.admit(request: bytes, from: source)
    let inPlace = rules.admitHeader(request: bytes, from: source)
    let received = NTPTimestamp(rawValue: 0xE000_0001_0000_0000)
    switch (full, inPlace) {
    case (.drop(let a), .drop(let b)):
        precondition(a == b, "admitHeader dropped for another reason than admit")
    case (.admitted(let packet), .header(let header)):
        precondition(count == NTPHeader.length && packet == NTPPacket(header: header), "admitHeader's header is not admit's packet")
        for verdict in [nil, RateLimitVerdict.respond, .drop, .kissOfDeath] {
            var unused = SeededRandom(seed: 1)
            let decision = rules.respond(to: packet, request: bytes, rateLimit: verdict, receivedAt: received, state: state, client: source, random: &unused)
            let reply = rules.respond(toHeader: header, rateLimit: verdict, receivedAt: received, state: state)
            switch (decision, reply) {
            case (.reply(let a), let b?): precondition(a == b.reply(), "respond(toHeader:) answers otherwise")
            case (.drop, nil): break
            default: preconditionFailure("respond(toHeader:) decides otherwise")
            }
        }
    case (.admitted(let a), .packet(let b)):
        precondition(a == b, "admitHeader's packet is not admit's")
    case (.admitted(let packet), .nts(let header)):
        precondition(packet.header == header && packet.mac == nil, "admitHeader's NTS header is not admit's packet")
        for verdict in [nil, RateLimitVerdict.respond, .drop, .kissOfDeath] {
            var unused = SeededRandom(seed: 1)
            let a = rules.respond(to: packet, request: bytes, rateLimit: verdict, receivedAt: received, state: state, client: source, random: &unused)
            let b = rules.respond(toNTS: header, request: bytes, rateLimit: verdict, receivedAt: received, state: state)
            precondition(a == b, "respond(toNTS:) decides otherwise")
            // The receive loop's way: a reused request slot and a key cache (the second time through, the
            // request's keys come from the cache), deciding and writing as the packet path.
            let cache = NTSKeyCipherCache(capacity: 2)
            var slot = NTSRequest()
            for _ in 0..<2 {
                switch rules.respond(
                    toNTS: header, request: bytes, rateLimit: verdict, receivedAt: received, state: state, keeping: &slot, ciphers: cache)
                {
                case .drop(let reason): precondition(b == .drop(reason), "the slot path drops otherwise")
                case .decided(let decision): precondition(b == decision, "the slot path decides otherwise")
                case .sealed(let reply, let cookies):
                    let whole = ServerReply(
                        header: reply.header, trailer: .nts(slot, cookies: cookies), kind: reply.kind, requestLength: count,
                        interleaving: reply.interleaving)
                    precondition(b == .reply(whole), "the slot path answers otherwise")
                    guard let nts else { preconditionFailure("sealed without NTS") }
                    var first = SeededRandom(seed: 2)
                    var second = SeededRandom(seed: 2)
                    let written = [UInt8](unsafeUninitializedCapacity: 2048) { buffer, initialized in
                        initialized = ServerReply.writeNTS(
                            reply, request: slot, cookies: cookies, requestLength: count, transmit: received,
                            to: UnsafeMutableRawBufferPointer(buffer), nts: nts,
                            random: { nonce in
                                // As the generic path draws: a word per eight bytes, the first bytes of one for the rest.
                                var offset = 0
                                while offset < nonce.count {
                                    var word = first.next()
                                    let part = min(8, nonce.count - offset)
                                    withUnsafeBytes(of: &word) { nonce.baseAddress!.advanced(by: offset).copyMemory(from: $0.baseAddress!, byteCount: part) }
                                    offset += part
                                }
                            }, ciphers: cache)
                    }
                    precondition(written == whole.serialized(transmit: received, nts: nts, using: &second), "writeNTS writes otherwise")
                }
            }
        }
    default:
        preconditionFailure("admitHeader admits otherwise than admit")
    }

    var client = InterleavedClient(enabled: true)
    let first = client.request(using: &random)
    let t = NTPTimestamp(rawValue: 0xE000_0001_0000_0000)
    let basic = NTPPacket(header: NTPHeader(
        leap: .noWarning, version: 4, mode: .server, stratum: 1, poll: 0, precision: -20, rootDelay: NTPShort(seconds: 0),
        rootDispersion: NTPShort(seconds: 0), referenceID: ReferenceID(rawValue: 0), referenceTimestamp: t,
        originTimestamp: first.transmit, receiveTimestamp: NTPTimestamp(rawValue: t.rawValue | 1), transmitTimestamp: t)).serialized()
    precondition((try? client.complete(first, response: basic, localTransmit: t, localReceive: t, localPrecision: 1e-6)) != nil, "basic answer refused")
    let second = client.request(using: &random)
    var datagram = Array(bytes)
    if datagram.count >= 48, let receive = second.receive {
        datagram[0] = datagram[0] & ~7 | 4  // server mode, so the seeds (requests) reach the measurement
        let origin = (datagram[1] & 1 == 1 ? receive : second.transmit).rawValue
        for index in 0..<8 { datagram[24 + index] = UInt8(truncatingIfNeeded: origin >> (56 - 8 * index)) }
    }
    if let measurement = try? client.complete(second, response: datagram, localTransmit: t, localReceive: t, localPrecision: 1e-6) {
        precondition(measurement.offset.isFinite && measurement.delay.isFinite && measurement.delay > 0, "a measurement out of nothing")
    }
    return 0
}

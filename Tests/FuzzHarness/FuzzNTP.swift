import FleetCrypto
import NTPCore

/// One libFuzzer input: an arbitrary datagram (NTS fields included). Checks what every packet rule promises:
/// - parsing never traps, and whatever parses serialises back to the same bytes;
/// - the server rules never trap, answer only client requests, echo the transmit timestamp as origin, and
///   never answer with more bytes than were received.
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
    return 0
}

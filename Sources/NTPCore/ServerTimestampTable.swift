// The server's memory of its own responses for interleaved mode (RFC 9769 §2), modelled on chrony's
// (ntp_core.c NCR_ProcessRxUnknown / NCR_ProcessTxUnknown, clientlog.c's NTP timestamp map): for a response
// we sent, the receive timestamp it carried and the best transmit timestamp we have for it (first the
// daemon's reading just before the send, then the kernel's from the socket error queue). Sans-I/O: time and
// randomness are passed in.

/// Where a transmit timestamp came from (chrony's NTP_TS_DAEMON, NTP_TS_KERNEL, NTP_TS_HARDWARE).
public enum TransmitTimestampSource: UInt8, Sendable, Hashable, CaseIterable {
    /// The daemon's clock reading just before the datagram was handed to the kernel.
    case daemon = 0
    /// The kernel's software timestamp (SOF_TIMESTAMPING_TX_SOFTWARE), taken when the packet left the stack.
    case kernel = 1
    /// The network card's timestamp (SOF_TIMESTAMPING_TX_HARDWARE).
    case hardware = 2
}

/// Bounded table of (client, our receive timestamp) → transmit timestamp of the response that carried it.
///
/// **What is kept.** Only responses to requests in the interleaved form (see
/// ``NTPServerRules/interleavedOrigin(of:)``), as chrony does: a client in basic mode never fills the table.
/// A client starting with a zero origin gets its third response interleaved at the earliest (the second
/// request names a response that was not saved; the third names one that was).
///
/// **Keyed per client.** The key is the client's address (IPv4-mapped IPv6 unmapped, as the rate limiter's)
/// together with the receive timestamp, so one client can neither read nor use up another's entries, and
/// several clients behind one NAT address still find their own responses (chrony 3 kept only the last
/// response per address; chrony 4 keys by the receive timestamp alone).
///
/// **Used once.** An entry that served an interleaved response is disabled (chrony's
/// CLG_DisableNtpTimestamps): a client repeating an old origin, after a lost response, gets a basic answer
/// rather than a transmit timestamp it has already seen paired with another exchange.
///
/// **Bounded.** A 4-way set-associative table of ``capacity`` entries allocated once, slots chosen by a keyed
/// SipHash (the rate limiter's) so an attacker cannot aim entries at one slot; a new entry replaces the
/// oldest of its slot. Memory: 40 bytes an entry.
public struct ServerTimestampTable: Sendable {
    public static let associativity = 4
    public static let minimumCapacity = 16
    public static let maximumCapacity = 1 << 22
    /// A kernel transmit timestamp more than this after the daemon's does not belong to the response and is
    /// ignored (chrony's MAX_TX_DELAY is 1 s; a response is never queued that long here).
    public static let maximumTransmitDelay = NTPDuration(seconds: 0.1)
    /// ... nor one more than this before it: the daemon's timestamp is a prediction of when the reply leaves
    /// (``TransmitTimePredictor``), which the kernel may beat by a little, never by a millisecond.
    public static let maximumTransmitAdvance = NTPDuration(seconds: 0.001)

    struct Entry: Sendable {
        var high: UInt64 = 0
        var low: UInt64 = 0
        /// Our receive timestamp as sent (its lowest bit is 1); 0 marks an empty entry.
        var receive: UInt64 = 0
        var transmit: UInt64 = 0
        var sequence: UInt64 = 0
        var source: TransmitTimestampSource = .daemon
        var used = false
    }

    private var entries: [Entry]
    private let slotMask: Int
    private var hashKey: (UInt64, UInt64)?
    private var sequence: UInt64 = 0

    /// Entries replaced before they were used (a client population larger than the table, or a spray).
    public private(set) var evictions: UInt64 = 0

    /// `capacity` is rounded up to a power of two within ``minimumCapacity``...``maximumCapacity``; the hash
    /// key comes from `hashSeed`, or from the generator of the first ``save(client:receive:transmit:using:)``.
    public init(capacity: Int = 65_536, hashSeed: UInt64? = nil) {
        let wanted = min(max(capacity, Self.minimumCapacity), Self.maximumCapacity)
        var size = Self.minimumCapacity
        while size < wanted { size <<= 1 }
        entries = [Entry](repeating: Entry(), count: size)
        slotMask = size / Self.associativity - 1
        if let hashSeed {
            hashKey = (RateLimiter.mix(hashSeed), RateLimiter.mix(hashSeed &+ 0x9E37_79B9_7F4A_7C15))
        }
    }

    public var capacity: Int { entries.count }

    /// The transmit timestamp of our response to `client` that carried `receive`, if it is kept and unused.
    public func transmit(for client: IPAddress, receive: NTPTimestamp) -> (timestamp: NTPTimestamp, source: TransmitTimestampSource)? {
        guard let index = find(client, receive.rawValue), !entries[index].used else { return nil }
        return (NTPTimestamp(rawValue: entries[index].transmit), entries[index].source)
    }

    /// Remembers a response just handed to the kernel: the receive timestamp it carried and the daemon's
    /// transmit timestamp for it (to be replaced by the kernel's, see ``update(client:receive:transmit:source:)``).
    ///
    /// Returns the entry's index, a hint for the `update` and `disable` that follow (nil: not saved).
    @discardableResult
    public mutating func save(
        client: IPAddress, receive: NTPTimestamp, transmit: NTPTimestamp, using random: inout some RandomNumberGenerator
    ) -> Int? {
        guard receive != .zero else { return nil }
        if hashKey == nil { hashKey = (random.next(), random.next()) }
        let (high, low) = Self.key(client)
        sequence &+= 1
        let fresh = Entry(high: high, low: low, receive: receive.rawValue, transmit: transmit.rawValue, sequence: sequence)
        let first = slot(high, low, receive.rawValue)
        var oldest = first
        var index = first
        while index < first &+ Self.associativity {
            let entry = entries[index]
            if entry.receive == 0 || (entry.receive == receive.rawValue && entry.high == high && entry.low == low) {
                entries[index] = fresh
                return index
            }
            if entry.sequence < entries[oldest].sequence { oldest = index }
            index &+= 1
        }
        if !entries[oldest].used { evictions &+= 1 }
        entries[oldest] = fresh
        return oldest
    }

    /// Replaces the daemon's transmit timestamp of a saved response with the kernel's (or the card's).
    /// Returns false when the response is not kept, or the new timestamp is not within
    /// -``maximumTransmitAdvance``...``maximumTransmitDelay`` of the daemon's (then it belongs to another
    /// packet and is ignored).
    /// `hint`: the index `save` returned, checked against the key (another response may have taken the entry
    /// since) before the keyed hash is computed again.
    @discardableResult
    public mutating func update(
        client: IPAddress, receive: NTPTimestamp, transmit: NTPTimestamp, source: TransmitTimestampSource, hint: Int? = nil
    ) -> Bool {
        guard let index = find(client, receive.rawValue, hint: hint), entries[index].source == .daemon else { return false }
        let delay = transmit - NTPTimestamp(rawValue: entries[index].transmit)
        guard delay >= -Self.maximumTransmitAdvance, delay <= Self.maximumTransmitDelay else { return false }
        entries[index].transmit = transmit.rawValue
        entries[index].source = source
        return true
    }

    /// Marks a response's timestamps as used by an interleaved answer: they serve no second one.
    /// `hint` as for ``update(client:receive:transmit:source:hint:)``: the index ``earlierIndexed(for:from:)`` found.
    public mutating func disable(client: IPAddress, receive: NTPTimestamp, hint: Int? = nil) {
        if let index = find(client, receive.rawValue, hint: hint) { entries[index].used = true }
    }

    /// The entry for the key, trying `hint` first: a keyed hash costs about a hundred instructions, and the
    /// send path looks each entry up two or three times (lookup, save or disable, kernel stamp).
    private func find(_ client: IPAddress, _ receive: UInt64, hint: Int?) -> Int? {
        if let hint, hint >= 0, hint < entries.count, receive != 0 {
            let (high, low) = Self.key(client)
            let entry = entries[hint]
            if entry.receive == receive, entry.high == high, entry.low == low { return hint }
        }
        return find(client, receive)
    }

    private func find(_ client: IPAddress, _ receive: UInt64) -> Int? {
        guard receive != 0, hashKey != nil else { return nil }
        let (high, low) = Self.key(client)
        let first = slot(high, low, receive)
        var index = first
        while index < first &+ Self.associativity {
            let entry = entries[index]
            if entry.receive == receive, entry.high == high, entry.low == low { return index }
            index &+= 1
        }
        return nil
    }

    private func slot(_ high: UInt64, _ low: UInt64, _ receive: UInt64) -> Int {
        let hash = RateLimiter.SipHash.hash(high ^ receive, low, key: hashKey ?? (0, 0))
        return (Int(truncatingIfNeeded: hash) & slotMask) &* Self.associativity
    }

    private static func key(_ address: IPAddress) -> (UInt64, UInt64) {
        switch address.unmapped {
        case .v4(let value): return (0, 0xFFFF_0000_0000 | UInt64(value))
        case .v6(let high, let low): return (high, low)
        }
    }
}

extension ServerTimestampTable {
    /// Records a response just handed to the kernel with `transmit` as the daemon's transmit timestamp: an
    /// interleaved response uses up the earlier response's entry, and a response to a request in the
    /// interleaved form is saved for the client's next request. Returns whether it was saved.
    @discardableResult
    public mutating func sent(
        _ reply: ServerReply, to client: IPAddress, transmit: NTPTimestamp, using random: inout some RandomNumberGenerator
    ) -> Bool {
        guard let interleaving = reply.interleaving else { return false }
        sent(interleaving, receive: reply.header.receiveTimestamp, to: client, transmit: transmit, using: &random)
        return true
    }

    /// `sent(_:to:transmit:using:)` from the two facts it needs of the reply (its interleaving and its receive
    /// timestamp), for a caller that keeps them apart from the reply.
    ///
    /// `earlierHint`: where the lookup found the earlier response (``earlierIndexed(for:from:)``). Returns where this
    /// response was saved, a hint for the kernel stamp's ``update(client:receive:transmit:source:hint:)``.
    @discardableResult
    public mutating func sent(
        _ interleaving: ServerReply.Interleaving, receive: NTPTimestamp, to client: IPAddress, transmit: NTPTimestamp,
        using random: inout some RandomNumberGenerator, earlierHint: Int? = nil
    ) -> Int? {
        if interleaving.earlierTransmit != nil { disable(client: client, receive: interleaving.earlierReceive, hint: earlierHint) }
        return save(client: client, receive: receive, transmit: transmit, using: &random)
    }

    /// The lookup phase for one admitted request: the earlier response's transmit timestamp when the request
    /// is in the interleaved form and the response is kept and unused.
    public func earlier(for request: NTPHeader, from client: IPAddress) -> (timestamp: NTPTimestamp, source: TransmitTimestampSource)? {
        earlierIndexed(for: request, from: client).map { ($0.timestamp, $0.source) }
    }

    /// ``earlier(for:from:)`` with where it was found, a hint for the ``sent(_:receive:to:transmit:using:earlierHint:)``
    /// that disables it.
    public func earlierIndexed(for request: NTPHeader, from client: IPAddress) -> (timestamp: NTPTimestamp, source: TransmitTimestampSource, index: Int)? {
        guard let origin = NTPServerRules.interleavedOrigin(of: request),
              let index = find(client, origin.rawValue), !entries[index].used
        else { return nil }
        return (NTPTimestamp(rawValue: entries[index].transmit), entries[index].source, index)
    }
}

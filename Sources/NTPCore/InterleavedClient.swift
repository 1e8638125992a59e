// The client side of interleaved client/server mode (RFC 9769 §2) for one source, as chrony's ntp_core.c
// does it (transmit_packet, process_response): free of I/O and clock reads, one value per polled source.

/// Per-source state of a client that may poll in interleaved mode (chrony's `xleave`).
///
/// **Requests.** With `enabled` and an earlier answer to name, a request is in the interleaved form: its
/// origin is the server's receive timestamp (T2) from that answer, which names it in the server's table,
/// and its receive field a fresh random value, which the server echoes as the origin of an interleaved
/// answer; the transmit field is always a fresh random value, echoed by a basic answer (chrony's client
/// sends random values where RFC 5905 has local times, and so do we: they leak nothing and cannot be
/// guessed). Like chrony (MAX_CLIENT_INTERLEAVED_TX) the interleaved form is not used after
/// ``maximumUnanswered`` requests in a row went unanswered, so a server never answers with a very old
/// transmit timestamp; the first request, and those after such a gap, are basic.
///
/// **Answers.** Told apart by their origin: our transmit value is a basic answer, measured as RFC 5905 §8
/// with this exchange's timestamps (T1 the kernel's transmit timestamp of our request where the socket
/// gives one); our receive value is an interleaved answer whose transmit timestamp is the server's
/// (kernel) T3 of the exchange named, which is measured with that exchange's T1, T2 and T4; anything else is
/// dropped and counted (``Statistics/bogus``). A server that cannot or will not interleave (no xleave, its
/// entry lost or used up, a kiss) answers basic, and that answer is used as such: the fallback is per packet.
///
/// **No sample twice.** An exchange that already gave a basic sample (the server fell back) gives none
/// again when the next answer names it interleaved: the time keeper takes one sample per local time.
public struct InterleavedClient: Sendable {
    /// chrony's MAX_CLIENT_INTERLEAVED_TX: after this many unanswered requests in a row, basic again.
    public static let maximumUnanswered = 4
    /// The longest server-side interval (T3 − T2) an interleaved answer may report for the exchange it names:
    /// a server holds a request for microseconds, never a second (chrony's MAX_SERVER_INTERVAL is 4 s).
    public static let maximumServerInterval = 1.0

    /// A completed exchange that the next request can name.
    struct Exchange: Sendable, Hashable {
        var localTransmit: NTPTimestamp
        var serverReceive: NTPTimestamp
        var localReceive: NTPTimestamp
        /// A basic answer already gave this exchange's sample.
        var sampled: Bool
    }

    /// A request to send, with what its answers are matched against.
    public struct Request: Sendable {
        public var header: NTPHeader
        /// The random transmit value (a basic answer's origin).
        public var transmit: NTPTimestamp
        /// The random receive value of an interleaved-form request (an interleaved answer's origin); nil for a
        /// basic request.
        public var receive: NTPTimestamp?
        var named: Exchange?

        /// The request asks for an interleaved answer.
        public var isInterleaved: Bool { receive != nil }

        /// How an answer with `origin` relates to this request.
        public func classify(origin: NTPTimestamp) -> AnswerKind {
            if origin == transmit { return .basic }
            if let receive, origin == receive { return .interleaved }
            return .foreign
        }
    }

    public enum AnswerKind: Sendable, Hashable {
        case basic, interleaved
        /// Neither of our values: a stale, duplicate or spoofed datagram.
        case foreign
    }

    /// Counters for status: how the source's answers came.
    public struct Statistics: Sendable, Hashable {
        public var basicSamples: UInt64 = 0
        public var interleavedSamples: UInt64 = 0
        /// Interleaved answers naming an exchange that already gave a basic sample.
        public var repeated: UInt64 = 0
        /// Answers dropped: origin neither of our values, or an interleaved T3 that does not fit.
        public var bogus: UInt64 = 0
        /// Whether the newest sample came from an interleaved answer; nil before the first.
        public var lastInterleaved: Bool?
        public init() {}
    }

    public var enabled: Bool
    public private(set) var statistics = Statistics()
    private var previous: Exchange?
    private var unanswered = 0

    public init(enabled: Bool) {
        self.enabled = enabled
    }

    /// The next request: basic, or in the interleaved form when enabled and an earlier answer can be named.
    /// Counts as unanswered until ``complete(_:response:localTransmit:localReceive:localPrecision:)`` takes
    /// an answer to it.
    public mutating func request(poll: Int8 = 6, version: UInt8 = 4, using random: inout some RandomNumberGenerator) -> Request {
        var header = ClientExchange.request(transmit: .zero, poll: poll, version: version)
        let transmit = Self.nonZero(&random)
        header.transmitTimestamp = transmit
        var request = Request(header: header, transmit: transmit, receive: nil, named: nil)
        if enabled, let previous, unanswered < Self.maximumUnanswered {
            var receive = Self.nonZero(&random)
            while receive == transmit { receive = Self.nonZero(&random) }
            request.header.originTimestamp = previous.serverReceive
            request.header.receiveTimestamp = receive
            request.receive = receive
            request.named = previous
        }
        unanswered += 1
        return request
    }

    /// Counts a datagram dropped for its origin (``AnswerKind/foreign``).
    public mutating func droppedForeign() {
        statistics.bogus &+= 1
    }

    /// Takes the answer to `request` that arrived at `localReceive` (our request left at `localTransmit`):
    /// the measurement, or nil when the answer is good but gives no new sample (an interleaved answer naming
    /// an exchange already sampled). Throws for an answer to drop; ``ExchangeError/bogusOrigin`` and
    /// ``ExchangeError/bogusInterleaved`` are counted in ``Statistics/bogus``.
    public mutating func complete(
        _ request: Request, response: [UInt8], localTransmit: NTPTimestamp, localReceive: NTPTimestamp, localPrecision: Double
    ) throws(ExchangeError) -> NTPMeasurement? {
        let header: NTPHeader
        do {
            header = try NTPPacket(parsing: response).header
        } catch {
            throw .malformed(error)
        }
        guard header.mode == .server || header.mode == .symmetricPassive else { throw .unexpectedMode(header.mode) }
        switch request.classify(origin: header.originTimestamp) {
        case .foreign:
            statistics.bogus &+= 1
            throw .bogusOrigin
        case .basic:
            try ClientExchange.check(header)
            let measurement = ClientExchange.measurement(
                header: header, t1: localTransmit, t2: header.receiveTimestamp, t3: header.transmitTimestamp, t4: localReceive,
                localPrecision: localPrecision)
            remember(localTransmit: localTransmit, header: header, localReceive: localReceive, sampled: true)
            statistics.basicSamples &+= 1
            statistics.lastInterleaved = false
            return measurement
        case .interleaved:
            // Only a request in the interleaved form has a receive value, so `named` is there.
            guard let named = request.named else { throw .bogusOrigin }
            try ClientExchange.check(header)
            let serverInterval = (header.transmitTimestamp - named.serverReceive).seconds
            guard serverInterval >= 0, serverInterval <= Self.maximumServerInterval else {
                statistics.bogus &+= 1
                throw .bogusInterleaved
            }
            remember(localTransmit: localTransmit, header: header, localReceive: localReceive, sampled: false)
            guard !named.sampled else {
                statistics.repeated &+= 1
                return nil
            }
            var measurement = ClientExchange.measurement(
                header: header, t1: named.localTransmit, t2: named.serverReceive, t3: header.transmitTimestamp,
                t4: named.localReceive, localPrecision: localPrecision)
            measurement.interleaved = true
            measurement.localReceive = named.localReceive
            statistics.interleavedSamples &+= 1
            statistics.lastInterleaved = true
            return measurement
        }
    }

    /// Forgets the exchange to name (after a long silence, a server restart, new NTS keys): the next request
    /// is basic.
    public mutating func reset() {
        previous = nil
        unanswered = 0
    }

    private mutating func remember(localTransmit: NTPTimestamp, header: NTPHeader, localReceive: NTPTimestamp, sampled: Bool) {
        previous = Exchange(
            localTransmit: localTransmit, serverReceive: header.receiveTimestamp, localReceive: localReceive, sampled: sampled)
        unanswered = 0
    }

    private static func nonZero(_ random: inout some RandomNumberGenerator) -> NTPTimestamp {
        var value: UInt64 = 0
        while value == 0 { value = random.next() }
        return NTPTimestamp(rawValue: value)
    }
}

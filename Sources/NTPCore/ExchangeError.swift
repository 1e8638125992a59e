/// Why a client discarded a server's response (RFC 5905 §8 packet tests, plus the kiss codes of §7.4).
public enum ExchangeError: Error, Hashable, Sendable, CustomStringConvertible {
    case malformed(PacketError)
    case unexpectedMode(NTPMode)
    /// The origin timestamp is not the transmit timestamp we sent: a stale, duplicate or forged response.
    case bogusOrigin
    /// The server kissed us off (RATE, DENY, RSTR, NTSN, ...).
    case kissOfDeath(ReferenceID)
    /// The server says it is not synchronised (leap 3 or stratum 16).
    case unsynchronized
    /// A zero receive or transmit timestamp.
    case zeroTimestamp
    /// An interleaved answer whose transmit timestamp cannot belong to the exchange it names (before that
    /// exchange's receive timestamp, or too long after it).
    case bogusInterleaved

    public var description: String {
        switch self {
        case .malformed(let error): return "malformed response: \(error)"
        case .unexpectedMode(let mode): return "unexpected mode \(mode.rawValue) in response"
        case .bogusOrigin: return "origin timestamp does not match the request (bogus or replayed response)"
        case .kissOfDeath(let code): return "Kiss-o'-Death \(code)"
        case .unsynchronized: return "server is not synchronised (leap 3)"
        case .zeroTimestamp: return "server sent a zero receive or transmit timestamp"
        case .bogusInterleaved: return "interleaved transmit timestamp does not fit the exchange it names"
        }
    }
}

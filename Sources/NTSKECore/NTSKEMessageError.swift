/// Why the bytes of an NTS-KE message could not be framed into records.
public enum NTSKEMessageError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The message would be longer than the reader's limit; the payload is the smallest length it
    /// is known to need (which exceeds the limit). RFC 8915 §4 lets both sides enforce limits, but a
    /// server MUST accept requests of at least 1024 octets and a client SHOULD accept responses of
    /// at least 65536.
    case tooLong(Int)
    /// Bytes arrived after the End of Message record. Each side sends exactly one message (§4), and
    /// End of Message is its final record (§4.1.1), so anything after it is an error.
    case trailingData
    /// The stream ended before End of Message; the payload is how many octets had arrived.
    case incomplete(Int)

    public var description: String {
        switch self {
        case .tooLong(let length):
            "NTS-KE message too long: at least \(length) octets"
        case .trailingData:
            "data after the End of Message record"
        case .incomplete(let received):
            "NTS-KE message ended after \(received) octets, before its End of Message record"
        }
    }
}

/// The record types RFC 8915 defines (§4.1; IANA "Network Time Security Key Establishment Record Types").
///
/// Types 8–16383 are unassigned and 16384–32767 are reserved for private or experimental use (§7.4).
/// A record therefore keeps its type as a raw `UInt16` (``NTSKERecord/type``) so that such types survive
/// parsing; this enum names only the ones this memo defines.
public enum NTSKERecordType: UInt16, Sendable, CaseIterable, CustomStringConvertible {
    /// §4.1.1: zero-length body, exactly once, last record of every message; critical bit MUST be set.
    case endOfMessage = 0
    /// §4.1.2: list of u16 protocol IDs; exactly once in every request and non-error response; critical bit MUST be set.
    case nextProtocol = 1
    /// §4.1.3: one u16 error code; only servers send it; critical bit MUST be set.
    case error = 2
    /// §4.1.4: one u16 warning code; only servers send it; critical bit MUST be set.
    case warning = 3
    /// §4.1.5: list of u16 AEAD identifiers; critical bit MAY be set.
    case aeadAlgorithm = 4
    /// §4.1.6: an opaque cookie; only servers send it; critical bit SHOULD NOT be set.
    case newCookie = 5
    /// §4.1.7: ASCII host name or IP literal of the NTPv4 server; servers MAY set the critical bit, clients SHOULD NOT.
    case server = 6
    /// §4.1.8: u16 UDP port of the NTPv4 server; servers MAY set the critical bit, clients SHOULD NOT.
    case port = 7

    /// Whether RFC 8915 says the critical bit MUST be set on this type (§4.1.1–§4.1.4).
    public var criticalBitRequired: Bool {
        switch self {
        case .endOfMessage, .nextProtocol, .error, .warning: true
        case .aeadAlgorithm, .newCookie, .server, .port: false
        }
    }

    public var description: String {
        switch self {
        case .endOfMessage: "End of Message"
        case .nextProtocol: "NTS Next Protocol Negotiation"
        case .error: "Error"
        case .warning: "Warning"
        case .aeadAlgorithm: "AEAD Algorithm Negotiation"
        case .newCookie: "New Cookie for NTPv4"
        case .server: "NTPv4 Server Negotiation"
        case .port: "NTPv4 Port Negotiation"
        }
    }
}

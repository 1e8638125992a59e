// Numbers that NTS Key Establishment (RFC 8915) messages are made of: record types, error codes,
// next-protocol identifiers, AEAD identifiers, and a few fixed constants.
// Pure values: no I/O, no Foundation.

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

/// Error codes carried by an Error record (§4.1.3; IANA "Network Time Security Error Codes").
public enum NTSKEErrorCode: UInt16, Sendable, CaseIterable, CustomStringConvertible {
    /// The request held a record the server did not understand and whose critical bit was set.
    /// The client SHOULD NOT retry without modification.
    case unrecognizedCriticalRecord = 0
    /// The request was incomplete or not syntactically well-formed (or never arrived before a timeout).
    /// The client SHOULD NOT retry without modification.
    case badRequest = 1
    /// The server could not respond properly because of an internal condition. The client MAY retry.
    case internalServerError = 2

    public var description: String {
        switch self {
        case .unrecognizedCriticalRecord: "Unrecognized Critical Record"
        case .badRequest: "Bad Request"
        case .internalServerError: "Internal Server Error"
        }
    }
}

/// Protocol IDs of the IANA "Network Time Security Next Protocols" registry (§7.5).
public enum NTSKENextProtocol {
    /// NTPv4, the only protocol RFC 8915 defines.
    public static let ntpv4: UInt16 = 0
}

/// AEAD identifiers from the IANA "AEAD Algorithms" registry that NTS deployments use (§4.1.5, §5.1).
public enum NTSKEAEADAlgorithm: UInt16, Sendable, CaseIterable, CustomStringConvertible {
    /// AEAD_AES_SIV_CMAC_256 (RFC 5297). Servers MUST support it (§4.1.5).
    case aesSIVCMAC256 = 15
    /// AEAD_AES_SIV_CMAC_384 (RFC 5297).
    case aesSIVCMAC384 = 16
    /// AEAD_AES_SIV_CMAC_512 (RFC 5297).
    case aesSIVCMAC512 = 17
    /// AEAD_AES_128_GCM_SIV (RFC 8452).
    case aes128GCMSIV = 30
    /// AEAD_AES_256_GCM_SIV (RFC 8452).
    case aes256GCMSIV = 31

    /// Key length in octets, i.e. how many octets to ask the TLS exporter for per direction (§5.1).
    public var keyLength: Int {
        switch self {
        case .aesSIVCMAC256: 32
        case .aesSIVCMAC384: 48
        case .aesSIVCMAC512: 64
        case .aes128GCMSIV: 16
        case .aes256GCMSIV: 32
        }
    }

    public var description: String {
        switch self {
        case .aesSIVCMAC256: "AEAD_AES_SIV_CMAC_256"
        case .aesSIVCMAC384: "AEAD_AES_SIV_CMAC_384"
        case .aesSIVCMAC512: "AEAD_AES_SIV_CMAC_512"
        case .aes128GCMSIV: "AEAD_AES_128_GCM_SIV"
        case .aes256GCMSIV: "AEAD_AES_256_GCM_SIV"
        }
    }
}

/// Fixed numbers of NTS-KE.
public enum NTSKEConstants {
    /// The ALPN protocol the client offers and the server accepts (§4).
    public static let alpnProtocol = "ntske/1"
    /// The TCP port of NTS-KE (§4).
    public static let tcpPort: UInt16 = 4460
    /// The NTP port a client assumes when the response has no Port Negotiation record (§4.1.8).
    public static let defaultNTPPort: UInt16 = 123
    /// How many New Cookie records a server SHOULD send (§4.1.6).
    public static let recommendedCookieCount = 8
    /// Servers MUST accept requests of at least this many octets (§4).
    public static let minimumRequestLimit = 1024
    /// Clients SHOULD accept responses of at least this many octets (§4).
    public static let recommendedResponseLimit = 65_536
    /// Record type chrony (4.4 and later) uses, outside RFC 8915, to negotiate the RFC-compliant exporter
    /// context for AEAD_AES_128_GCM_SIV (chrony's own exporter context for that AEAD carries id 15 instead of 30).
    /// Sent with the critical bit clear and an empty body. See ``NTSKERecord/compliantAES128GCMSIVExporterContext()``.
    public static let compliantAES128GCMSIVExporterRecordType: UInt16 = 1024
}

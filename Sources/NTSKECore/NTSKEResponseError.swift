/// Why a client cannot use a server's NTS-KE response. In every case the client MUST NOT proceed
/// with the key material of this session (§4.1.3).
public enum NTSKEResponseError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The server sent an Error record with this code (§4.1.3). See ``NTSKEErrorCode``.
    case serverError(UInt16)
    /// The server accepts none of the offered protocols (an empty Next Protocol record, or one without NTPv4).
    case noCommonProtocol
    /// The server supports none of the offered AEAD algorithms (an empty AEAD record, §4.1.5).
    case noCommonAEAD
    /// The server agreed but sent no New Cookie record (it MUST send at least one, §4.1.6).
    case noCookies
    /// The response breaks RFC 8915; the text says how.
    case malformed(String)
    /// The response held a record of this unknown type with the critical bit set (§4).
    case unrecognizedCriticalRecord(UInt16)
    /// The response held a Warning with a code the client does not recognise, which MUST be treated
    /// as an error (§4.1.4). RFC 8915 defines no warning codes.
    case unrecognizedWarning(UInt16)
    /// The server chose an AEAD algorithm the client did not offer (§4.1.5).
    case aeadNotOffered(UInt16)

    /// Whether trying again later with the same request makes sense: only after Internal Server
    /// Error (§4.1.3: the client MAY retry; for codes 0 and 1 it SHOULD NOT retry without
    /// modification). Retries still back off (§4.2).
    public var mayRetryUnchanged: Bool {
        self == .serverError(NTSKEErrorCode.internalServerError.rawValue)
    }

    public var description: String {
        switch self {
        case .serverError(let code):
            let name = NTSKEErrorCode(rawValue: code).map { " (\($0))" } ?? ""
            return "NTS-KE server error \(code)\(name)"
        case .noCommonProtocol: return "NTS-KE server accepts none of the offered protocols"
        case .noCommonAEAD: return "NTS-KE server supports none of the offered AEAD algorithms"
        case .noCookies: return "NTS-KE response has no cookies"
        case .malformed(let why): return "malformed NTS-KE response: \(why)"
        case .unrecognizedCriticalRecord(let type): return "NTS-KE response has unrecognized critical record type \(type)"
        case .unrecognizedWarning(let code): return "NTS-KE response has unrecognized warning code \(code)"
        case .aeadNotOffered(let aead): return "NTS-KE server chose AEAD algorithm \(aead), which was not offered"
        }
    }
}

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

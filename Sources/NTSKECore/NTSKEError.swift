/// Why a server refuses a request: the code to send back in an Error record (§4.1.3) and a
/// human-readable reason for logs. The reason never goes on the wire.
public struct NTSKEError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The code the Error record carries.
    public var code: NTSKEErrorCode
    /// What was wrong, for logs.
    public var reason: String

    public init(code: NTSKEErrorCode, reason: String) {
        self.code = code
        self.reason = reason
    }

    /// Error code 1: the request is not complete and syntactically well-formed (§4.1.3).
    public static func badRequest(_ reason: String) -> NTSKEError {
        NTSKEError(code: .badRequest, reason: reason)
    }

    /// Error code 0: the request held a record of a type the server does not understand with its
    /// critical bit set (§4, §4.1.3).
    public static func unrecognizedCriticalRecord(type: UInt16) -> NTSKEError {
        NTSKEError(code: .unrecognizedCriticalRecord, reason: "unrecognized record type \(type) with the critical bit set")
    }

    /// Error code 2: the server cannot respond properly because of an internal condition (§4.1.3).
    public static func internalServerError(_ reason: String) -> NTSKEError {
        NTSKEError(code: .internalServerError, reason: reason)
    }

    /// What a server answers when a request cannot even be framed: every ``NTSKEMessageError``
    /// (too long, bytes after End of Message, connection closed before End of Message) means the
    /// request was not complete and well-formed, so Bad Request (§4.1.3).
    public init(_ messageError: NTSKEMessageError) {
        self.init(code: .badRequest, reason: messageError.description)
    }

    /// The records that carry this error to the client: Error, then End of Message.
    public var records: [NTSKERecord] { NTSKENegotiation.errorRecords(self) }

    public var description: String {
        "NTS-KE error \(code.rawValue) (\(code)): \(reason)"
    }
}

/// The server side of NTS-KE negotiation: decide, then build the response records.
///
/// A server's flow: frame the request with ``NTSKEMessageReader`` (on error, answer
/// ``errorRecords(_:)`` of ``NTSKEError/init(_:)``), validate it with ``NTSKERequest/init(parsing:)``
/// (on error, answer ``errorRecords(_:)``), ``decide(_:policy:)``; for ``NTSKEAgreement/ntpv4(aead:)``
/// export the keys with ``NTSKEExporter`` and make `policy.cookieCount` cookies; then send
/// ``responseRecords(agreement:policy:cookies:additionalRecords:)``.
public enum NTSKENegotiation {
    /// Chooses the protocol and AEAD algorithm for a validated request.
    ///
    /// - No NTPv4 (Protocol ID 0) among the client's protocols: ``NTSKEAgreement/noCommonProtocol``.
    ///   This server speaks only NTPv4, and the protocols a response lists MUST be a subset of the
    ///   request's (§4.1.2).
    /// - Otherwise the first algorithm in the client's list that `policy.supportedAEAD` contains.
    ///   The chosen one is always one the client offered, since a response denotes which of the
    ///   offered algorithms the server chooses (§4.1.5). Following the client's order is OPTIONAL
    ///   (§4.1.5); this code follows it, as chrony does, so a client that lists a shorter-keyed
    ///   algorithm first gets the shorter cookies it asked for.
    /// - None supported: ``NTSKEAgreement/noCommonAEAD``. (A server supporting 15 can only get here
    ///   if the client did not offer 15, §4.1.5.)
    public static func decide(_ request: NTSKERequest, policy: NTSKEServerPolicy) -> NTSKEAgreement {
        guard request.offersNTPv4 else { return .noCommonProtocol }
        for aead in request.aeadAlgorithms where policy.supportedAEAD.contains(aead) {
            return .ntpv4(aead: aead)
        }
        return .noCommonAEAD
    }

    /// The response to a request that was valid, in this order:
    ///
    /// - ``NTSKEAgreement/ntpv4(aead:)``: Next Protocol [0]; AEAD Algorithm [aead] (responses carry
    ///   at most one, §4.1.5); Server and Port when the policy sets them (at most one each, §4.1.7);
    ///   `additionalRecords`; one New Cookie record per cookie (at least one MUST be sent, §4.1.6);
    ///   End of Message.
    /// - ``NTSKEAgreement/noCommonAEAD``: Next Protocol [0]; an empty AEAD Algorithm record ("It is
    ///   empty if the server supports none of the algorithms offered", §4.1.5); no cookies, since
    ///   cookies are sent only when the AEAD record is not empty (§4.1.6); End of Message.
    /// - ``NTSKEAgreement/noCommonProtocol``: an empty Next Protocol record (the response MAY be
    ///   empty, §4.1.2); End of Message. No AEAD record: it is required only alongside NTPv4 (§4.1.5).
    ///
    /// A success response that would break the RFC, because `cookies` is empty, a cookie is empty
    /// or too long for a record, or the policy's server name is invalid, becomes an Internal Server
    /// Error response instead (§4.1.3), so a bug elsewhere never puts a malformed message on the wire.
    public static func responseRecords(
        agreement: NTSKEAgreement,
        policy: NTSKEServerPolicy,
        cookies: [[UInt8]],
        additionalRecords: [NTSKERecord] = []
    ) -> [NTSKERecord] {
        switch agreement {
        case .noCommonProtocol:
            return [.nextProtocol([]), .endOfMessage()]
        case .noCommonAEAD:
            return [.nextProtocol([NTSKENextProtocol.ntpv4]), .aeadAlgorithms([]), .endOfMessage()]
        case .ntpv4(let aead):
            guard !cookies.isEmpty else {
                return errorRecords(.internalServerError("no cookies to send (§4.1.6 requires at least one)"))
            }
            guard cookies.allSatisfy({ !$0.isEmpty && $0.count <= NTSKERecord.maximumBodyLength }) else {
                return errorRecords(.internalServerError("a cookie is empty or longer than 65535 octets"))
            }
            if let server = policy.ntpServer, !NTSKERecord.isValidServerName(server) {
                return errorRecords(.internalServerError("configured NTP server name is invalid (§4.1.7)"))
            }
            guard additionalRecords.allSatisfy({ $0.body.count <= NTSKERecord.maximumBodyLength
                && $0.type != NTSKERecordType.endOfMessage.rawValue }) else {
                return errorRecords(.internalServerError("an additional record cannot be sent"))
            }
            var records: [NTSKERecord] = [.nextProtocol([NTSKENextProtocol.ntpv4]), .aeadAlgorithms([aead])]
            if let server = policy.ntpServer {
                records.append(.server(server, critical: policy.criticalServerAndPort))
            }
            if let port = policy.ntpPort {
                records.append(.port(port, critical: policy.criticalServerAndPort))
            }
            records.append(contentsOf: additionalRecords)
            for cookie in cookies { records.append(.newCookie(cookie)) }
            records.append(.endOfMessage())
            return records
        }
    }

    /// An error response: the Error record, then End of Message (§4.1.3, §4.1.1). An error response
    /// carries no Next Protocol record (§4 requires one only in non-error responses).
    public static func errorRecords(_ error: NTSKEError) -> [NTSKERecord] {
        [.error(error.code), .endOfMessage()]
    }
}

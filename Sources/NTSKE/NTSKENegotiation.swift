/// What an NTS-KE server offers and says in its responses.
public struct NTSKEServerPolicy: Sendable, Hashable {
    /// The AEAD algorithms this server can key cookies and NTP traffic with. Only membership counts:
    /// the client's order decides (see ``NTSKENegotiation/decide(_:policy:)``). It MUST include
    /// AEAD_AES_SIV_CMAC_256 (15) (§4.1.5).
    public var supportedAEAD: [UInt16]
    /// How many New Cookie records a successful response carries: at least one, eight recommended (§4.1.6).
    /// The negotiation code does not make cookies; the caller makes this many and passes them in.
    public var cookieCount: Int
    /// The name or address for a Server Negotiation record (§4.1.7), or nil for none (the client then
    /// uses the NTS-KE server's address).
    public var ntpServer: String?
    /// The port for a Port Negotiation record (§4.1.8), or nil for none (the client then uses 123).
    public var ntpPort: UInt16?
    /// Whether Server and Port records go out with the critical bit set, which servers MAY do
    /// (§4.1.7, §4.1.8). Default true, as chrony does: a client that cannot read them should stop
    /// rather than take the cookies to the wrong server.
    public var criticalServerAndPort: Bool

    public init(
        supportedAEAD: [UInt16] = [NTSKEAEADAlgorithm.aesSIVCMAC256.rawValue],
        cookieCount: Int = NTSKEConstants.recommendedCookieCount,
        ntpServer: String? = nil,
        ntpPort: UInt16? = nil,
        criticalServerAndPort: Bool = true
    ) {
        self.supportedAEAD = supportedAEAD
        self.cookieCount = cookieCount
        self.ntpServer = ntpServer
        self.ntpPort = ntpPort
        self.criticalServerAndPort = criticalServerAndPort
    }

    /// What is wrong with this policy, for checking configuration at start-up; empty when it is usable.
    public var problems: [String] {
        var problems: [String] = []
        if !supportedAEAD.contains(NTSKEAEADAlgorithm.aesSIVCMAC256.rawValue) {
            problems.append("supported AEAD algorithms must include AEAD_AES_SIV_CMAC_256 (15) (RFC 8915 §4.1.5)")
        }
        if cookieCount < 1 {
            problems.append("cookie count must be at least 1 (RFC 8915 §4.1.6), 8 recommended")
        }
        if let ntpServer, !NTSKERecord.isValidServerName(ntpServer) {
            problems.append("NTP server name \"\(ntpServer)\" is not an ASCII host name or address without zone identifier (RFC 8915 §4.1.7)")
        }
        return problems
    }
}

/// The server's decision on a valid request.
public enum NTSKEAgreement: Hashable, Sendable {
    /// NTPv4 with this AEAD algorithm: keys are exported for it and cookies made.
    case ntpv4(aead: UInt16)
    /// The client offers NTPv4 but none of its AEAD algorithms is supported here.
    case noCommonAEAD
    /// The client does not offer NTPv4.
    case noCommonProtocol

    /// The chosen AEAD algorithm, if any.
    public var aead: UInt16? {
        if case .ntpv4(let aead) = self { return aead }
        return nil
    }
}

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

/// An NTS-KE request: what the client asks for (RFC 8915 §4, §4.1).
///
/// Servers build it with ``init(parsing:)`` from the records the ``NTSKEMessageReader`` framed,
/// which validates the request and names the error code to answer with; clients build it with
/// ``init(nextProtocols:aeadAlgorithms:server:port:requestsCompliantAES128GCMSIVExporterContext:)``
/// and send ``records()``.
public struct NTSKERequest: Hashable, Sendable {
    /// The protocols the client wishes to speak, as listed (§4.1.2). Never empty in a parsed request.
    public var nextProtocols: [UInt16]
    /// The AEAD algorithms the client accepts, most preferred first (§4.1.5). Empty only when the
    /// request had no AEAD record, which a valid request can do only if it does not offer NTPv4.
    public var aeadAlgorithms: [UInt16]
    /// The NTP server the client would like cookies for (§4.1.7); honouring it is OPTIONAL.
    public var server: String?
    /// The NTP port the client would like (§4.1.8); honouring it is OPTIONAL.
    public var port: UInt16?
    /// Whether the request carried chrony's record asking for the RFC-compliant exporter context
    /// with AEAD_AES_128_GCM_SIV (see ``NTSKEConstants/compliantAES128GCMSIVExporterRecordType``).
    public var requestsCompliantAES128GCMSIVExporterContext: Bool

    public init(
        nextProtocols: [UInt16] = [NTSKENextProtocol.ntpv4],
        aeadAlgorithms: [UInt16],
        server: String? = nil,
        port: UInt16? = nil,
        requestsCompliantAES128GCMSIVExporterContext: Bool = false
    ) {
        self.nextProtocols = nextProtocols
        self.aeadAlgorithms = aeadAlgorithms
        self.server = server
        self.port = port
        self.requestsCompliantAES128GCMSIVExporterContext = requestsCompliantAES128GCMSIVExporterContext
    }

    /// Whether the client offers NTPv4 (Protocol ID 0).
    public var offersNTPv4: Bool { nextProtocols.contains(NTSKENextProtocol.ntpv4) }

    /// Validates a request (server side) and takes out what the client asked for.
    ///
    /// Checks, in this order; the first failure decides the error:
    ///
    /// 1. Framing. The last record is End of Message, critical with an empty body, and no End of
    ///    Message comes earlier (§4: the sequence is terminated by End of Message; §4.1.1: exactly
    ///    once, final, critical bit MUST be set, zero-length body). Else Bad Request.
    /// 2. Unknown types. A record of a type this server does not recognise with the critical bit set
    ///    makes the answer error 0, Unrecognized Critical Record (§4, §4.1.3). This is checked before
    ///    the Bad Request rules below, so a request from a newer client is told what we could not
    ///    understand rather than that it is malformed. Unknown types without the critical bit are
    ///    ignored (§4).
    /// 3. Each known record, else Bad Request (§4.1.3: "not complete and syntactically well-formed"):
    ///    - Next Protocol (§4.1.2): at most one (§4: exactly one), critical bit set, even body length,
    ///      at least one protocol ("The request MUST list at least one protocol").
    ///    - AEAD Algorithm (§4.1.5): at most one, even body length, at least one algorithm ("In
    ///      requests, the list MUST include at least one algorithm"). Either critical bit.
    ///    - Error and Warning: "Clients MUST NOT include" them (§4.1.3, §4.1.4).
    ///    - New Cookie: "Clients MUST NOT send records of this type" (§4.1.6).
    ///    - Server (§4.1.7): at most one ("The client MUST NOT send more than one"), an ASCII name
    ///      passing ``NTSKERecord/isValidServerName(_:)``. Either critical bit (clients SHOULD NOT set it).
    ///    - Port (§4.1.8): at most one, body exactly two octets. Either critical bit.
    /// 4. The whole. A Next Protocol record is present (§4, §4.1.2); if it offers NTPv4, an AEAD
    ///    record is present ("this record MUST be included exactly once", §4.1.5).
    ///
    /// A request whose Next Protocol list lacks NTPv4 is valid; ``NTSKENegotiation/decide(_:policy:)``
    /// answers it with ``NTSKEAgreement/noCommonProtocol``.
    public init(parsing records: [NTSKERecord]) throws(NTSKEError) {
        guard let last = records.last, last.type == NTSKERecordType.endOfMessage.rawValue else {
            throw .badRequest("request is not terminated by an End of Message record (§4.1.1)")
        }
        guard last.critical else {
            throw .badRequest("End of Message record without the critical bit (§4.1.1)")
        }
        guard last.body.isEmpty else {
            throw .badRequest("End of Message record with a \(last.body.count)-octet body (§4.1.1)")
        }
        let content = records.dropLast()
        if content.contains(where: { $0.type == NTSKERecordType.endOfMessage.rawValue }) {
            throw .badRequest("End of Message record before the end of the request (§4.1.1)")
        }
        if let unknown = content.first(where: { $0.critical && !NTSKERequest.recognizes($0.type) }) {
            throw .unrecognizedCriticalRecord(type: unknown.type)
        }

        var nextProtocols: [UInt16]?
        var aeadAlgorithms: [UInt16]?
        var server: String?
        var port: UInt16?
        var compliantExporter = false

        for record in content {
            guard let known = record.recordType else {
                if record.type == NTSKEConstants.compliantAES128GCMSIVExporterRecordType {
                    compliantExporter = true
                }
                continue  // unknown and not critical (critical ones were refused above): ignore (§4)
            }
            switch known {
            case .endOfMessage:
                continue  // only the last record, checked above
            case .nextProtocol:
                guard nextProtocols == nil else {
                    throw .badRequest("more than one Next Protocol record (§4, §4.1.2)")
                }
                guard record.critical else {
                    throw .badRequest("Next Protocol record without the critical bit (§4.1.2)")
                }
                guard let ids = record.uint16Values else {
                    throw .badRequest("Next Protocol record body of odd length \(record.body.count) (§4.1.2)")
                }
                guard !ids.isEmpty else {
                    throw .badRequest("empty Next Protocol record (§4.1.2: the request MUST list at least one protocol)")
                }
                nextProtocols = ids
            case .aeadAlgorithm:
                guard aeadAlgorithms == nil else {
                    throw .badRequest("more than one AEAD Algorithm record (§4.1.5)")
                }
                guard let ids = record.uint16Values else {
                    throw .badRequest("AEAD Algorithm record body of odd length \(record.body.count) (§4.1.5)")
                }
                guard !ids.isEmpty else {
                    throw .badRequest("empty AEAD Algorithm record (§4.1.5: the request MUST list at least one algorithm)")
                }
                aeadAlgorithms = ids
            case .error:
                throw .badRequest("Error record in a request (§4.1.3: clients MUST NOT include it)")
            case .warning:
                throw .badRequest("Warning record in a request (§4.1.4: clients MUST NOT include it)")
            case .newCookie:
                throw .badRequest("New Cookie record in a request (§4.1.6: clients MUST NOT send it)")
            case .server:
                guard server == nil else {
                    throw .badRequest("more than one Server Negotiation record (§4.1.7)")
                }
                guard let name = record.serverName else {
                    throw .badRequest("Server Negotiation record is not an ASCII host name or address (§4.1.7)")
                }
                server = name
            case .port:
                guard port == nil else {
                    throw .badRequest("more than one Port Negotiation record (§4.1.8)")
                }
                guard let value = record.uint16Value else {
                    throw .badRequest("Port Negotiation record body of \(record.body.count) octets, not 2 (§4.1.8)")
                }
                port = value
            }
        }

        guard let nextProtocols else {
            throw .badRequest("no Next Protocol record (§4, §4.1.2)")
        }
        if nextProtocols.contains(NTSKENextProtocol.ntpv4) && aeadAlgorithms == nil {
            throw .badRequest("NTPv4 offered without an AEAD Algorithm record (§4.1.5)")
        }
        self.init(
            nextProtocols: nextProtocols,
            aeadAlgorithms: aeadAlgorithms ?? [],
            server: server,
            port: port,
            requestsCompliantAES128GCMSIVExporterContext: compliantExporter
        )
    }

    /// The request's records (client side): Next Protocol (critical), AEAD Algorithm (critical, left
    /// out when ``aeadAlgorithms`` is empty, since a request's list MUST NOT be empty), Server and Port
    /// when set (critical bit clear, as clients SHOULD NOT set it), chrony's compliant-context record
    /// when asked for, then End of Message.
    public func records() -> [NTSKERecord] {
        var records = [NTSKERecord.nextProtocol(nextProtocols)]
        if !aeadAlgorithms.isEmpty { records.append(.aeadAlgorithms(aeadAlgorithms)) }
        if let server { records.append(.server(server)) }
        if let port { records.append(.port(port)) }
        if requestsCompliantAES128GCMSIVExporterContext {
            records.append(.compliantAES128GCMSIVExporterContext())
        }
        records.append(.endOfMessage())
        return records
    }

    /// The types a server understands in a request: RFC 8915's eight, plus chrony's compliant-context
    /// record.
    static func recognizes(_ type: UInt16) -> Bool {
        NTSKERecordType(rawValue: type) != nil || type == NTSKEConstants.compliantAES128GCMSIVExporterRecordType
    }
}

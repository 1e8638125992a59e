/// A server's successful answer as a client sees it (RFC 8915 §4, §4.1).
public struct NTSKEResponse: Hashable, Sendable {
    /// The protocol to proceed with: NTPv4 (0).
    public var nextProtocol: UInt16
    /// The AEAD algorithm the server chose, one the client offered.
    public var aeadAlgorithm: UInt16
    /// The cookies, opaque (§4.1.6: clients MUST NOT interpret them), in the order received.
    public var cookies: [[UInt8]]
    /// The NTP server to use (§4.1.7), as sent. Nil: the NTS-KE server's address. A name MUST be
    /// resolved as a fully qualified one, e.g. by making sure it ends with a dot.
    public var server: String?
    /// The NTP port to use (§4.1.8); nil: 123 (see ``ntpPort``).
    public var port: UInt16?
    /// The codes of the Warning records received, all of them ones the caller said it recognises.
    public var warnings: [UInt16]
    /// Whether the server sent chrony's compliant-context record (see
    /// ``NTSKEConstants/compliantAES128GCMSIVExporterRecordType``).
    public var compliantAES128GCMSIVExporterContext: Bool

    public init(
        nextProtocol: UInt16 = NTSKENextProtocol.ntpv4,
        aeadAlgorithm: UInt16,
        cookies: [[UInt8]],
        server: String? = nil,
        port: UInt16? = nil,
        warnings: [UInt16] = [],
        compliantAES128GCMSIVExporterContext: Bool = false
    ) {
        self.nextProtocol = nextProtocol
        self.aeadAlgorithm = aeadAlgorithm
        self.cookies = cookies
        self.server = server
        self.port = port
        self.warnings = warnings
        self.compliantAES128GCMSIVExporterContext = compliantAES128GCMSIVExporterContext
    }

    /// The UDP port for NTP: the negotiated one, else 123 (§4.1.8).
    public var ntpPort: UInt16 { port ?? NTSKEConstants.defaultNTPPort }

    /// Validates a response (client side). Checks, in this order; the first failure decides:
    ///
    /// 1. Framing: End of Message last, critical, empty, and only there (§4.1.1). Else ``NTSKEResponseError/malformed(_:)``.
    /// 2. An Error record anywhere: ``NTSKEResponseError/serverError(_:)`` with its code (§4.1.3), or
    ///    malformed if its body is not two octets.
    /// 3. A record of an unknown type with the critical bit set:
    ///    ``NTSKEResponseError/unrecognizedCriticalRecord(_:)`` (§4). Unknown non-critical records are ignored.
    /// 4. Each known record, else malformed:
    ///    - Next Protocol: at most one (§4: exactly one), critical bit set, even body length (§4.1.2).
    ///    - AEAD Algorithm: at most one, even body length (§4.1.5).
    ///    - Warning: two-octet body; a code outside `recognizedWarnings` is
    ///      ``NTSKEResponseError/unrecognizedWarning(_:)`` (§4.1.4: "MUST be treated as errors").
    ///    - New Cookie: a non-empty body (an empty cookie cannot be used); either critical bit.
    ///    - Server: at most one (§4.1.7: "Servers MUST NOT send more than one"), an ASCII name
    ///      passing ``NTSKERecord/isValidServerName(_:)``.
    ///    - Port: at most one, body exactly two octets (§4.1.8).
    /// 5. The whole:
    ///    - a Next Protocol record is present; every protocol in it was offered (§4.1.2: "MUST
    ///      comprise a subset"), else malformed; it contains NTPv4, else ``NTSKEResponseError/noCommonProtocol``;
    ///    - an AEAD record is present (§4.1.5: required with NTPv4), else malformed; empty:
    ///      ``NTSKEResponseError/noCommonAEAD``; more than one algorithm: malformed ("In responses, it
    ///      MUST include at most one"); not one of `aead`: ``NTSKEResponseError/aeadNotOffered(_:)``;
    ///    - at least one cookie (§4.1.6), else ``NTSKEResponseError/noCookies``.
    ///
    /// - Parameters:
    ///   - aead: the AEAD algorithms the request offered.
    ///   - offeredProtocols: the protocols the request offered (default NTPv4 only).
    ///   - recognizedWarnings: warning codes to collect in ``warnings`` instead of failing. RFC 8915
    ///     defines none, so by default every Warning fails the response.
    public init(
        parsing records: [NTSKERecord],
        offered aead: [UInt16],
        offeredProtocols: [UInt16] = [NTSKENextProtocol.ntpv4],
        recognizedWarnings: Set<UInt16> = []
    ) throws(NTSKEResponseError) {
        let endOfMessage = NTSKERecordType.endOfMessage.rawValue
        guard let last = records.last, last.type == endOfMessage else {
            throw .malformed("not terminated by an End of Message record (§4.1.1)")
        }
        guard last.critical, last.body.isEmpty else {
            throw .malformed("End of Message record without the critical bit or with a body (§4.1.1)")
        }
        let content = records.dropLast()
        if content.contains(where: { $0.type == endOfMessage }) {
            throw .malformed("End of Message record before the end of the response (§4.1.1)")
        }
        if let error = content.first(where: { $0.type == NTSKERecordType.error.rawValue }) {
            guard let code = error.uint16Value else {
                throw .malformed("Error record body of \(error.body.count) octets, not 2 (§4.1.3)")
            }
            throw .serverError(code)
        }
        if let unknown = content.first(where: { $0.critical && !NTSKERequest.recognizes($0.type) }) {
            throw .unrecognizedCriticalRecord(unknown.type)
        }

        var protocols: [UInt16]?
        var algorithms: [UInt16]?
        var cookies: [[UInt8]] = []
        var server: String?
        var port: UInt16?
        var warnings: [UInt16] = []
        var compliantExporter = false

        for record in content {
            guard let known = record.recordType else {
                if record.type == NTSKEConstants.compliantAES128GCMSIVExporterRecordType {
                    compliantExporter = true
                }
                continue
            }
            switch known {
            case .endOfMessage, .error:
                continue  // handled above
            case .nextProtocol:
                guard protocols == nil else { throw .malformed("more than one Next Protocol record (§4, §4.1.2)") }
                guard record.critical else { throw .malformed("Next Protocol record without the critical bit (§4.1.2)") }
                guard let ids = record.uint16Values else {
                    throw .malformed("Next Protocol record body of odd length \(record.body.count) (§4.1.2)")
                }
                protocols = ids
            case .aeadAlgorithm:
                guard algorithms == nil else { throw .malformed("more than one AEAD Algorithm record (§4.1.5)") }
                guard let ids = record.uint16Values else {
                    throw .malformed("AEAD Algorithm record body of odd length \(record.body.count) (§4.1.5)")
                }
                algorithms = ids
            case .warning:
                guard let code = record.uint16Value else {
                    throw .malformed("Warning record body of \(record.body.count) octets, not 2 (§4.1.4)")
                }
                guard recognizedWarnings.contains(code) else { throw .unrecognizedWarning(code) }
                warnings.append(code)
            case .newCookie:
                guard !record.body.isEmpty else { throw .malformed("empty New Cookie record (§4.1.6)") }
                cookies.append(record.body)
            case .server:
                guard server == nil else { throw .malformed("more than one Server Negotiation record (§4.1.7)") }
                guard let name = record.serverName else {
                    throw .malformed("Server Negotiation record is not an ASCII host name or address (§4.1.7)")
                }
                server = name
            case .port:
                guard port == nil else { throw .malformed("more than one Port Negotiation record (§4.1.8)") }
                guard let value = record.uint16Value else {
                    throw .malformed("Port Negotiation record body of \(record.body.count) octets, not 2 (§4.1.8)")
                }
                port = value
            }
        }

        guard let protocols else { throw .malformed("no Next Protocol record (§4, §4.1.2)") }
        if let stray = protocols.first(where: { !offeredProtocols.contains($0) }) {
            throw .malformed("Next Protocol record lists protocol \(stray), which was not offered (§4.1.2)")
        }
        guard protocols.contains(NTSKENextProtocol.ntpv4) else { throw .noCommonProtocol }

        guard let algorithms else { throw .malformed("NTPv4 accepted without an AEAD Algorithm record (§4.1.5)") }
        guard let chosen = algorithms.first else { throw .noCommonAEAD }
        guard algorithms.count == 1 else {
            throw .malformed("AEAD Algorithm record lists \(algorithms.count) algorithms; a response has at most one (§4.1.5)")
        }
        guard aead.contains(chosen) else { throw .aeadNotOffered(chosen) }

        guard !cookies.isEmpty else { throw .noCookies }

        self.init(
            nextProtocol: NTSKENextProtocol.ntpv4,
            aeadAlgorithm: chosen,
            cookies: cookies,
            server: server,
            port: port,
            warnings: warnings,
            compliantAES128GCMSIVExporterContext: compliantExporter
        )
    }
}

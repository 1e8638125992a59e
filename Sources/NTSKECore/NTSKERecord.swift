// One NTS-KE record (RFC 8915 §4, Figure 2):
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-----------------------------+-------------------------------+
//   |C|         Record Type         |          Body Length          |
//   +-+-----------------------------+-------------------------------+
//   |                          Record Body ...                      |
//
// C is the most significant bit of the first octet; the type is the remaining 15 bits, the body
// length (of the body only, unlike NTP extension fields) is a 16-bit big-endian count.

/// One NTS-KE record: critical bit, 15-bit type, and body (RFC 8915 §4).
///
/// The type is kept raw so that records of types this code does not know survive a parse; use
/// ``recordType`` to name it. Only the low 15 bits of ``type`` are ever encoded.
public struct NTSKERecord: Hashable, Sendable {
    /// The critical bit (§4): a receiver that does not recognise ``type`` MUST ignore the record when
    /// this is false and MUST treat the message as an error when it is true.
    public var critical: Bool
    /// The record type number, 0...0x7FFF. Higher bits are dropped when encoding.
    public var type: UInt16
    /// The record body; at most ``maximumBodyLength`` octets can be encoded.
    public var body: [UInt8]

    /// Octets in the record header (critical bit and type, then body length).
    public static let headerLength = 4
    /// The largest body the 16-bit length field can describe.
    public static let maximumBodyLength = 0xFFFF
    /// The largest type number the 15-bit field can hold.
    public static let maximumType: UInt16 = 0x7FFF

    public init(critical: Bool, type: UInt16, body: [UInt8]) {
        self.critical = critical
        self.type = type
        self.body = body
    }

    public init(critical: Bool, type: NTSKERecordType, body: [UInt8] = []) {
        self.init(critical: critical, type: type.rawValue, body: body)
    }

    /// The type as one RFC 8915 defines, or nil for any other number.
    public var recordType: NTSKERecordType? { NTSKERecordType(rawValue: type) }

    // MARK: - Building records

    /// End of Message (§4.1.1): critical, empty body.
    public static func endOfMessage() -> NTSKERecord {
        NTSKERecord(critical: true, type: .endOfMessage)
    }

    /// NTS Next Protocol Negotiation (§4.1.2): critical, the protocol IDs as big-endian u16s.
    /// A request MUST list at least one protocol; a response MAY be empty (no protocol accepted).
    public static func nextProtocol(_ ids: [UInt16]) -> NTSKERecord {
        NTSKERecord(critical: true, type: .nextProtocol, body: encodeList(ids))
    }

    /// AEAD Algorithm Negotiation (§4.1.5): the AEAD identifiers as big-endian u16s. The RFC lets
    /// the critical bit be either; it is set by default, as chrony does in both directions.
    public static func aeadAlgorithms(_ ids: [UInt16], critical: Bool = true) -> NTSKERecord {
        NTSKERecord(critical: critical, type: .aeadAlgorithm, body: encodeList(ids))
    }

    /// Error (§4.1.3): critical, one big-endian u16 code.
    public static func error(_ code: NTSKEErrorCode) -> NTSKERecord {
        error(rawCode: code.rawValue)
    }

    /// Error (§4.1.3) with any code, including unassigned and private-use ones.
    public static func error(rawCode: UInt16) -> NTSKERecord {
        NTSKERecord(critical: true, type: .error, body: encodeList([rawCode]))
    }

    /// Warning (§4.1.4): critical, one big-endian u16 code. RFC 8915 defines no warning codes.
    public static func warning(_ code: UInt16) -> NTSKERecord {
        NTSKERecord(critical: true, type: .warning, body: encodeList([code]))
    }

    /// New Cookie for NTPv4 (§4.1.6): the opaque cookie; critical bit clear (it SHOULD NOT be set).
    public static func newCookie(_ cookie: [UInt8]) -> NTSKERecord {
        NTSKERecord(critical: false, type: .newCookie, body: cookie)
    }

    /// NTPv4 Server Negotiation (§4.1.7): the name's octets, unchanged.
    ///
    /// The RFC wants ASCII: an IPv4 dotted quad, an RFC 4291 IPv6 text address without a zone
    /// identifier, or an FQDN whose internationalised labels are A-labels. The stdlib has no IDNA,
    /// so converting a U-label is the caller's job; ``isValidServerName(_:)`` checks the result.
    /// Servers MAY set the critical bit and clients SHOULD NOT, hence the default of clear; the
    /// server side chooses through ``NTSKEServerPolicy/criticalServerAndPort``.
    public static func server(_ name: String, critical: Bool = false) -> NTSKERecord {
        NTSKERecord(critical: critical, type: .server, body: Array(name.utf8))
    }

    /// NTPv4 Port Negotiation (§4.1.8): one big-endian u16 UDP port. Servers MAY set the critical
    /// bit and clients SHOULD NOT, hence the default of clear.
    public static func port(_ port: UInt16, critical: Bool = false) -> NTSKERecord {
        NTSKERecord(critical: critical, type: .port, body: encodeList([port]))
    }

    /// chrony's (not RFC 8915's) request to use the RFC-compliant exporter context with
    /// AEAD_AES_128_GCM_SIV: type 1024, critical bit clear, empty body.
    public static func compliantAES128GCMSIVExporterContext() -> NTSKERecord {
        NTSKERecord(critical: false, type: NTSKEConstants.compliantAES128GCMSIVExporterRecordType, body: [])
    }

    // MARK: - Reading bodies

    /// The body as big-endian u16s (Next Protocol, AEAD Algorithm), or nil when its length is odd.
    public var uint16Values: [UInt16]? {
        guard body.count % 2 == 0 else { return nil }
        var values: [UInt16] = []
        values.reserveCapacity(body.count / 2)
        var index = 0
        while index < body.count {
            values.append(UInt16(body[index]) << 8 | UInt16(body[index + 1]))
            index += 2
        }
        return values
    }

    /// The body as one big-endian u16 (Error, Warning, Port), or nil unless it is exactly two octets.
    public var uint16Value: UInt16? {
        guard body.count == 2 else { return nil }
        return UInt16(body[0]) << 8 | UInt16(body[1])
    }

    /// The body as a server name (§4.1.7) when it passes ``isValidServerName(_:)``, else nil.
    public var serverName: String? {
        NTSKERecord.validServerName(body)
    }

    /// Whether `name` is acceptable in a Server Negotiation record (§4.1.7), as this code checks it:
    /// 1–255 octets, only ASCII letters, digits, `-`, `.`, `:` and `_` (which covers dotted-quad IPv4,
    /// RFC 4291 IPv6 text, and host names made of A-labels), and hence no `%` zone identifier, which
    /// the RFC forbids. Whether the text really is a well-formed address or resolvable name is left
    /// to the resolver.
    public static func isValidServerName(_ name: String) -> Bool {
        validServerName(Array(name.utf8)) != nil
    }

    static func validServerName(_ bytes: [UInt8]) -> String? {
        guard !bytes.isEmpty, bytes.count <= 255 else { return nil }
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: ":"), UInt8(ascii: "_"):
                continue
            default:
                return nil
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: - Encoding

    /// Octets this record takes on the wire: the 4-octet header plus the body.
    public var encodedLength: Int { NTSKERecord.headerLength + body.count }

    /// Appends the record: 2 octets of critical bit and 15-bit type, 2 octets of body length, the body.
    ///
    /// A body longer than ``maximumBodyLength`` cannot be described by the length field and is a
    /// programming error (it traps); everything this module builds stays far below it.
    public func write(into bytes: inout [UInt8]) {
        precondition(body.count <= NTSKERecord.maximumBodyLength, "NTS-KE record body of \(body.count) octets exceeds 65535")
        let head = (critical ? 0x8000 : 0) | (type & NTSKERecord.maximumType)
        bytes.append(UInt8(truncatingIfNeeded: head >> 8))
        bytes.append(UInt8(truncatingIfNeeded: head))
        bytes.append(UInt8(truncatingIfNeeded: body.count >> 8))
        bytes.append(UInt8(truncatingIfNeeded: body.count))
        bytes.append(contentsOf: body)
    }

    /// The record's wire form.
    public var encoded: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(encodedLength)
        write(into: &bytes)
        return bytes
    }

    /// The wire form of a whole message (the records back to back, as they go over TLS).
    public static func encode(_ records: some Sequence<NTSKERecord>) -> [UInt8] {
        var bytes: [UInt8] = []
        for record in records { record.write(into: &bytes) }
        return bytes
    }

    static func encodeList(_ values: [UInt16]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(values.count * 2)
        for value in values {
            bytes.append(UInt8(truncatingIfNeeded: value >> 8))
            bytes.append(UInt8(truncatingIfNeeded: value))
        }
        return bytes
    }
}

extension NTSKERecord: CustomStringConvertible {
    public var description: String {
        let name = recordType.map { $0.description } ?? "type \(type)"
        return "NTSKERecord(\(critical ? "C " : "")\(name), \(body.count) octets)"
    }
}

extension [NTSKERecord] {
    /// The records as one byte string, in order (a whole message, as it goes over TLS).
    public func encoded() -> [UInt8] {
        NTSKERecord.encode(self)
    }
}

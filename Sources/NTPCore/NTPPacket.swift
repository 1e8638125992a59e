/// A complete NTP packet (RFC 5905 §7.3, Figure 8): the 48-byte header, then
/// NTPv4 extension fields (RFC 7822), then an optional legacy MAC.
///
/// Any packet obtained by parsing serialises back to exactly the same bytes.
public struct NTPPacket: Hashable, Sendable {
    /// A generous bound on what we accept: header, 1 KiB of extension fields and the
    /// largest legacy MAC. Anything larger is rejected as `.tooLong`.
    public static let maximumLength = 1024 + 48 + 68

    public var header: NTPHeader
    /// Only meaningful in NTPv4; in older versions all trailing bytes are a MAC.
    public var extensionFields: [ExtensionField]
    public var mac: MAC?

    public init(header: NTPHeader, extensionFields: [ExtensionField] = [], mac: MAC? = nil) {
        self.header = header
        self.extensionFields = extensionFields
        self.mac = mac
    }

    /// Decodes a datagram, following chrony 4.3's `parse_packet`, which is what
    /// deployed clients interoperate with:
    ///
    /// 1. 48 <= length <= `maximumLength` and length % 4 == 0
    ///    (`.tooShort`, `.lengthNotMultipleOfFour`, `.tooLong`, checked in that order).
    /// 2. Version 1...4, checked before the trailer (`.unsupportedVersion`).
    /// 3. The trailer after the header:
    ///    - empty: nothing;
    ///    - exactly 4 zero bytes: a crypto-NAK;
    ///    - NTPv1-3: the whole trailer is a MAC with a 16-64 byte digest;
    ///    - NTPv4: while bytes remain, a remainder of 20-24 bytes is a MAC with a
    ///      16-20 byte digest and ends the packet; otherwise an extension field must
    ///      start here. (RFC 7822 §3 avoids the ambiguity by requiring the last
    ///      field of a packet without MAC to be at least 28 bytes; chrony accepts
    ///      shorter fields, so only a last field of exactly 20 or 24 bytes without
    ///      a MAC is misread, as a MAC.)
    ///    Leftovers too short for an extension field throw `.invalidMAC`, malformed
    ///    extension fields `.invalidExtensionField`.
    public init(parsing bytes: UnsafeRawBufferPointer) throws(PacketError) {
        let length = bytes.count
        guard length >= NTPHeader.length else { throw .tooShort(length: length) }
        guard length % 4 == 0 else { throw .lengthNotMultipleOfFour(length: length) }
        guard length <= Self.maximumLength else { throw .tooLong(length: length) }

        header = try NTPHeader(parsing: bytes)
        guard (1...4).contains(header.version) else { throw .unsupportedVersion(header.version) }

        extensionFields = []
        mac = nil
        var offset = NTPHeader.length
        if length - offset == MAC.keyIDLength {
            guard BigEndianBytes.load(UInt32.self, from: bytes, at: offset) == 0 else {
                throw .invalidMAC(length: MAC.keyIDLength)
            }
            mac = .cryptoNAK
        } else if header.version < 4 {
            let remainder = length - offset
            guard remainder > 0 else { return }
            guard MAC.legacyDigestLengths.contains(remainder - MAC.keyIDLength) else {
                throw .invalidMAC(length: remainder)
            }
            mac = MAC(parsing: bytes, at: offset)
        } else {
            while offset < length {
                let remainder = length - offset
                if MAC.v4DigestLengths.contains(remainder - MAC.keyIDLength) {
                    mac = MAC(parsing: bytes, at: offset)
                    break
                }
                guard remainder >= ExtensionField.minimumLength else {
                    throw .invalidMAC(length: remainder)
                }
                let field = try ExtensionField(parsing: bytes, at: offset)
                extensionFields.append(field)
                offset += field.encodedLength
            }
        }
    }

    public init(parsing bytes: [UInt8]) throws(PacketError) {
        self = try bytes.withUnsafeBytes { raw in
            Result { () throws(PacketError) in try NTPPacket(parsing: raw) }
        }.get()
    }

    /// Where the MAC starts (48 + the encoded lengths of all extension fields);
    /// a MAC authenticates bytes `0..<macOffset` (RFC 5905 §7.5).
    public var macOffset: Int {
        extensionFields.reduce(NTPHeader.length) { $0 + $1.encodedLength }
    }

    /// Total size of `serialized()`.
    public var encodedLength: Int {
        macOffset + (mac?.encodedLength ?? 0)
    }

    /// Header, each extension field (zero-padded to its `encodedLength`), then the
    /// MAC (key ID big-endian + digest).
    public func serialized() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(encodedLength)
        header.append(to: &bytes)
        for field in extensionFields {
            field.write(into: &bytes)
        }
        mac?.write(into: &bytes)
        return bytes
    }
}

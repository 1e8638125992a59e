/// An NTPv4 extension field (RFC 7822 §3; RFC 5905 §7.5): a 16-bit field type,
/// a 16-bit length covering the whole field including its 4-byte header, and a
/// body padded with zeros to a multiple of 4 bytes. A field is at least 16 bytes.
///
/// The type is not interpreted here, so unknown fields (and NTS fields, RFC 8915
/// §5) survive a parse/serialise round trip byte for byte.
public struct ExtensionField: Hashable, Sendable {
    /// Size of the type + length header.
    public static let headerLength = 4
    /// Smallest field accepted, header included (RFC 7822 §3; that RFC also asks
    /// for 28 bytes when the field is the last one and no MAC follows).
    public static let minimumLength = 16

    public var type: UInt16
    /// Everything after the 4-byte header, as on the wire (including any padding).
    public var body: [UInt8]

    public init(type: UInt16, body: [UInt8]) {
        self.type = type
        self.body = body
    }

    /// Bytes on the wire: header plus the body padded to a multiple of 4, and at
    /// least `minimumLength`. For a parsed field this equals its length field.
    public var encodedLength: Int {
        let padded = (body.count &+ 3) & ~3
        return max(Self.minimumLength, Self.headerLength &+ padded)
    }

    /// Appends the header, the body and zero padding up to `encodedLength`.
    ///
    /// The length field is 16 bits; a body over 65532 bytes (which could never
    /// fit in a UDP datagram anyway) gets a truncated length rather than a trap.
    public func write(into bytes: inout [UInt8]) {
        let length = encodedLength
        BigEndianBytes.append(type, to: &bytes)
        BigEndianBytes.append(UInt16(truncatingIfNeeded: length), to: &bytes)
        bytes.append(contentsOf: body)
        bytes.append(contentsOf: repeatElement(0, count: length - Self.headerLength - body.count))
    }

    /// Parses the field starting at `offset`. Throws `.invalidExtensionField` if
    /// fewer than 16 bytes remain or the length field is below 16, not a multiple
    /// of 4, or runs past the end of `bytes`.
    init(parsing bytes: UnsafeRawBufferPointer, at offset: Int) throws(PacketError) {
        guard offset >= 0, bytes.count - offset >= Self.minimumLength else {
            throw .invalidExtensionField(offset: offset)
        }
        let length = Int(BigEndianBytes.load(UInt16.self, from: bytes, at: offset + 2))
        guard length >= Self.minimumLength, length % 4 == 0, length <= bytes.count - offset else {
            throw .invalidExtensionField(offset: offset)
        }
        type = BigEndianBytes.load(UInt16.self, from: bytes, at: offset)
        body = Array(UnsafeRawBufferPointer(rebasing: bytes[(offset + Self.headerLength)..<(offset + length)]))
    }
}

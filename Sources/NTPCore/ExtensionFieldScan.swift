/// The extension fields of an NTPv4 datagram where they lie, found by the rules of `NTPPacket(parsing:)`
/// (RFC 7822 §3 as chrony 4.3's `parse_packet` reads it) without building an `NTPPacket`: no array per
/// field and none for the list. The NTS packet path reads a request's fields in place (issue 18: parsing
/// an NTS request into an `NTPPacket` and destroying it cost about 4,000 instructions per response).
/// `ExtensionFieldScanTests` checks it against `NTPPacket(parsing:)`.
enum ExtensionFieldScan {
    /// One field: its type, where it starts in the datagram and its length (header included, padding too).
    struct Field {
        var type: UInt16
        var offset: Int
        var length: Int
        /// The body (everything after the 4-byte header) in the datagram.
        var body: Range<Int> { (offset + ExtensionField.headerLength)..<(offset + length) }
    }

    /// Calls `visit` for every extension field of `bytes`, in order, as `NTPPacket(parsing:)` would find them
    /// in an NTPv4 datagram, and returns whether a MAC (or a crypto-NAK) follows them; nil when that
    /// initializer would throw or the datagram is not NTPv4 (then `visit` may have seen some fields).
    static func scan(_ bytes: UnsafeRawBufferPointer, _ visit: (Field) -> Void) -> Bool? {
        let length = bytes.count
        guard length >= NTPHeader.length, length % 4 == 0, length <= NTPPacket.maximumLength,
              (bytes[0] >> 3) & 0x07 == 4
        else { return nil }
        var offset = NTPHeader.length
        if length - offset == MAC.keyIDLength {
            // A crypto-NAK: four zero bytes, anything else is an invalid MAC.
            return BigEndianBytes.load(UInt32.self, from: bytes, at: offset) == 0 ? true : nil
        }
        while offset < length {
            let remainder = length - offset
            if MAC.v4DigestLengths.contains(remainder - MAC.keyIDLength) { return true }
            guard remainder >= ExtensionField.minimumLength else { return nil }
            let fieldLength = Int(BigEndianBytes.load(UInt16.self, from: bytes, at: offset + 2))
            guard fieldLength >= ExtensionField.minimumLength, fieldLength % 4 == 0, fieldLength <= remainder else { return nil }
            visit(Field(type: BigEndianBytes.load(UInt16.self, from: bytes, at: offset), offset: offset, length: fieldLength))
            offset += fieldLength
        }
        return false
    }
}

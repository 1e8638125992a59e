/// Network-byte-order (big-endian, RFC 5905 §6 "all values in network byte order")
/// integer access shared by every wire-format type in NTPCore, so that the byte
/// shuffling lives in exactly one place.
///
/// The callers own bounds checking: every parser validates lengths before it
/// loads, so the preconditions below can only fire on a bug in NTPCore itself,
/// never because of the bytes of an incoming packet.
enum BigEndianBytes {
    /// Reads a big-endian `T` at `offset`. Requires `offset + T.size <= bytes.count`.
    @inline(__always)
    static func load<T: FixedWidthInteger>(_: T.Type, from bytes: UnsafeRawBufferPointer, at offset: Int) -> T {
        let size = T.bitWidth / 8
        precondition(offset >= 0 && offset <= bytes.count - size, "BigEndianBytes.load out of bounds")
        var value: T = 0
        for index in offset..<(offset + size) {
            value = (value << 8) | T(truncatingIfNeeded: bytes[index])
        }
        return value
    }

    /// Writes `value` big-endian at `offset`. Requires `offset + T.size <= bytes.count`.
    @inline(__always)
    static func store<T: FixedWidthInteger>(_ value: T, into bytes: UnsafeMutableRawBufferPointer, at offset: Int) {
        let size = T.bitWidth / 8
        precondition(offset >= 0 && offset <= bytes.count - size, "BigEndianBytes.store out of bounds")
        for index in 0..<size {
            bytes[offset + index] = UInt8(truncatingIfNeeded: value >> ((size - 1 - index) * 8))
        }
    }

    /// Appends `value` big-endian to `bytes`.
    @inline(__always)
    static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        let size = T.bitWidth / 8
        for index in 0..<size {
            bytes.append(UInt8(truncatingIfNeeded: value >> ((size - 1 - index) * 8)))
        }
    }
}

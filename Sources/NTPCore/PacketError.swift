/// Why a datagram could not be decoded as an NTP packet.
///
/// Parsing in NTPCore never traps: every malformed input ends up as one of these
/// cases. The acceptance rules mirror chrony 4.3 (`parse_packet`), which is what
/// real-world clients interoperate with; see `NTPPacket.init(parsing:)`.
public enum PacketError: Error, Hashable, Sendable {
    /// Fewer than the 48 bytes of the fixed header (RFC 5905 §7.3).
    case tooShort(length: Int)
    /// The total length is not a multiple of 4. Extension fields and MACs are
    /// all 32-bit aligned (RFC 7822 §3), so chrony rejects such packets too.
    case lengthNotMultipleOfFour(length: Int)
    /// Longer than `NTPPacket.maximumLength`.
    case tooLong(length: Int)
    /// Version 0 or greater than 4.
    case unsupportedVersion(UInt8)
    /// An extension field (RFC 7822) starting at byte `offset` has a length that is
    /// below 16, not a multiple of 4, or runs past the end of the packet.
    case invalidExtensionField(offset: Int)
    /// `length` trailing bytes that are neither valid extension fields nor a MAC of
    /// an allowed size (RFC 5905 §7.5, RFC 8573).
    case invalidMAC(length: Int)
}

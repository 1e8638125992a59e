/// Why a `LeapSecondTable` cannot be written as a leap-seconds.list.
public enum LeapSecondsListEncodingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The table has no expiry, and the format requires a `#@` line.
    case missingExpiry
    /// The table has no entries.
    case noEntries
    /// A time before 1900-01-01 (Unix −2 208 988 800): the format's NTP seconds are unsigned.
    case beforeNTPEpoch(unix: Int64)
    /// A negative TAI−UTC, which the format's unsigned numbers cannot hold.
    case negativeOffset(Int)
    /// The injected SHA-1 did not return 20 bytes.
    case badDigestLength(Int)

    public var description: String {
        switch self {
        case .missingExpiry: "the table has no expiry; leap-seconds.list needs one ('#@')"
        case .noEntries: "the table has no entries"
        case .beforeNTPEpoch(let unix): "Unix time \(unix) is before the NTP epoch (1900) and cannot be written"
        case .negativeOffset(let offset): "TAI-UTC \(offset) s is negative and cannot be written"
        case .badDigestLength(let count): "the SHA-1 function returned \(count) bytes instead of 20"
        }
    }
}

/// The 32-bit NTP short format (RFC 5905 §6, Figure 3): unsigned 16.16 fixed-point
/// seconds, used for the root delay and root dispersion header fields.
///
/// These fields are error bounds that clients add into their own synchronisation
/// distance (RFC 5905 §11.2), so every conversion *into* this format rounds up
/// and saturates: a server must never under-report its error.
public struct NTPShort: Hashable, Sendable, Comparable {
    /// `rawValue / 2^16` seconds.
    public var rawValue: UInt32

    /// The largest representable value, 65536 - 2^-16 seconds.
    public static let max = NTPShort(rawValue: .max)

    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    /// Rounds up to the next 2^-16 s and saturates to 0 ... 65536 - 2^-16 s.
    /// NaN and non-positive values give 0.
    public init(seconds: Double) {
        let scaled = (seconds * 65_536.0).rounded(.up)
        if !(scaled > 0) {  // also catches NaN
            rawValue = 0
        } else if scaled >= 4_294_967_295.0 {
            rawValue = .max
        } else {
            rawValue = UInt32(scaled)
        }
    }

    /// Converts a 32.32 duration, rounding up and saturating like `init(seconds:)`;
    /// negative durations give 0.
    public init(_ duration: NTPDuration) {
        let raw = duration.rawValue
        guard raw > 0 else {
            rawValue = 0
            return
        }
        let roundedUp = (raw >> 16) + (raw & 0xFFFF == 0 ? 0 : 1)
        rawValue = UInt32(clamping: roundedUp)
    }

    public var seconds: Double {
        Double(rawValue) / 65_536.0
    }

    /// The exact value as a 32.32 duration.
    public var duration: NTPDuration {
        NTPDuration(rawValue: Int64(rawValue) << 16)
    }

    public static func < (lhs: NTPShort, rhs: NTPShort) -> Bool {
        lhs.rawValue < rhs.rawValue
    }
}

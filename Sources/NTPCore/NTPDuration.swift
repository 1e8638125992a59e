/// A signed 32.32 fixed-point number of seconds: the difference of two 64-bit NTP
/// timestamps (RFC 5905 §6).
///
/// RFC 5905 §6 computes offsets and delays as 64-bit two's-complement differences
/// of timestamps; because the subtraction wraps, the result is correct across an
/// era boundary (2036) as long as the true difference is within ±2^31 s (±68
/// years). Range: -2^31 ... 2^31 - 2^-32 seconds, resolution 2^-32 s (~233 ps).
public struct NTPDuration: Hashable, Sendable, Comparable {
    /// Two's-complement 32.32 fixed point: `rawValue / 2^32` seconds.
    public var rawValue: Int64

    public static let zero = NTPDuration(rawValue: 0)

    public init(rawValue: Int64) {
        self.rawValue = rawValue
    }

    /// Rounds to the nearest 2^-32 s. Saturates at the ends of the range;
    /// NaN becomes zero. Never traps.
    public init(seconds: Double) {
        let scaled = seconds * 4_294_967_296.0
        if scaled.isNaN {
            rawValue = 0
        } else if scaled >= 9_223_372_036_854_775_808.0 {  // 2^63
            rawValue = .max
        } else if scaled <= -9_223_372_036_854_775_808.0 {
            rawValue = .min
        } else {
            rawValue = Int64(scaled.rounded())
        }
    }

    /// Rounds to the nearest 2^-32 s (ties away from zero), saturating outside
    /// ±2^31 s. Exact inverse of `nanoseconds` for every in-range value.
    public init(nanoseconds: Int64) {
        let limit: UInt64 = 2_147_483_648 * 1_000_000_000  // 2^31 s in ns
        let magnitude = nanoseconds.magnitude
        guard magnitude < limit else {
            rawValue = nanoseconds < 0 ? .min : .max
            return
        }
        // round(|ns| * 2^32 / 1e9) with a 128-bit intermediate; the high word is
        // below 2^29 < 1e9, so the division cannot overflow.
        let (low, carry) = (magnitude << 32).addingReportingOverflow(500_000_000)
        let high = (magnitude >> 32) + (carry ? 1 : 0)
        let scaled = UInt64(1_000_000_000).dividingFullWidth((high: high, low: low)).quotient
        let value = Int64(scaled)
        rawValue = nanoseconds < 0 ? -value : value
    }

    /// The value in seconds (rounded to the nearest `Double` for large values).
    public var seconds: Double {
        Double(rawValue) / 4_294_967_296.0
    }

    /// The value in nanoseconds, rounded to nearest (ties away from zero).
    /// Exact for the whole range; never traps.
    public var nanoseconds: Int64 {
        // |raw| <= 2^63, so |raw| * 1e9 < 2^93 and the rounded quotient by 2^32
        // is below 2^61: it always fits back into Int64.
        let product = rawValue.magnitude.multipliedFullWidth(by: 1_000_000_000)
        let (low, carry) = product.low.addingReportingOverflow(1 << 31)
        let high = product.high &+ (carry ? 1 : 0)
        let value = Int64(truncatingIfNeeded: (high << 32) | (low >> 32))
        return rawValue < 0 ? -value : value
    }

    /// Wrapping sum (RFC 5905 arithmetic is modulo 2^64).
    public static func + (lhs: NTPDuration, rhs: NTPDuration) -> NTPDuration {
        NTPDuration(rawValue: lhs.rawValue &+ rhs.rawValue)
    }

    /// Wrapping difference.
    public static func - (lhs: NTPDuration, rhs: NTPDuration) -> NTPDuration {
        NTPDuration(rawValue: lhs.rawValue &- rhs.rawValue)
    }

    /// Wrapping negation (`-Int64.min` stays `Int64.min`).
    public static prefix func - (operand: NTPDuration) -> NTPDuration {
        NTPDuration(rawValue: 0 &- operand.rawValue)
    }

    public static func < (lhs: NTPDuration, rhs: NTPDuration) -> Bool {
        lhs.rawValue < rhs.rawValue
    }
}

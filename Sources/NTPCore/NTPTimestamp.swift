/// The 64-bit NTP timestamp format (RFC 5905 §6, Figure 3): 32 bits of seconds
/// since 1900-01-01T00:00:00Z and a 32-bit binary fraction of a second.
///
/// The seconds field wraps every 2^32 s (~136 years); the first wrap ("era 1")
/// is at 2036-02-07T06:28:16Z. A timestamp alone therefore does not name an
/// instant: `unixTime(near:)` resolves the era against a nearby reference time,
/// and `NTPDate` carries the era explicitly. For the same reason this type is
/// deliberately not `Comparable`; subtract timestamps instead (`-` is
/// era-independent within ±68 years).
public struct NTPTimestamp: Hashable, Sendable, CustomStringConvertible {
    /// Seconds in the high 32 bits, fraction in the low 32 bits, as on the wire.
    public var rawValue: UInt64

    /// The all-zero timestamp, which RFC 5905 §7.3 uses to mean "unknown / not set".
    public static let zero = NTPTimestamp(rawValue: 0)

    /// Seconds from the NTP prime epoch (1900-01-01) to the Unix epoch (1970-01-01).
    public static let unixEpochOffset: Int64 = 2_208_988_800

    public init(rawValue: UInt64) {
        self.rawValue = rawValue
    }

    public init(seconds: UInt32, fraction: UInt32) {
        rawValue = UInt64(seconds) << 32 | UInt64(fraction)
    }

    /// Seconds since 1900 modulo 2^32 (the era is not recorded).
    public var seconds: UInt32 { UInt32(truncatingIfNeeded: rawValue >> 32) }

    /// Fraction of a second in units of 2^-32 s.
    public var fraction: UInt32 { UInt32(truncatingIfNeeded: rawValue) }

    /// Converts a Unix time, folding the era away.
    ///
    /// The fraction is `round(ns * 2^32 / 1e9)`. Because 2^-32 s is finer than
    /// 1 ns, `unixTime(near:)` recovers the nanoseconds exactly.
    public init(_ time: UnixTime) {
        self.init(
            seconds: UInt32(truncatingIfNeeded: time.seconds &+ Self.unixEpochOffset),
            fraction: Self.fraction(fromNanoseconds: time.nanoseconds))
    }

    /// Resolves the era (RFC 5905 §6): of all Unix times that fold to this
    /// timestamp (one per 2^32 s era), returns the one closest to `pivot`, i.e.
    /// within [-2^31, 2^31) seconds of it. A pivot such as the local clock or a
    /// build date therefore keeps conversions correct across the 2036 rollover.
    ///
    /// The fraction is rounded to the nearest nanosecond, carrying into the
    /// seconds when it rounds up to a full second.
    public func unixTime(near pivot: UnixTime) -> UnixTime {
        let pivotTimestamp = NTPTimestamp(pivot)
        // Wrapping 32.32 difference: the signed offset to the nearest alias of self.
        let offset = (self - pivotTimestamp).rawValue
        // Whole seconds of (pivot + offset), i.e. floor((pivot fraction + offset) / 2^32),
        // computed without overflowing Int64.
        let lowSum = UInt64(UInt32(truncatingIfNeeded: offset)) + UInt64(pivotTimestamp.fraction)
        let secondsDelta = (offset >> 32) &+ Int64(lowSum >> 32)
        return Self.unixTime(seconds: pivot.seconds &+ secondsDelta, fraction: fraction)
    }

    /// `lhs - rhs` as a signed 32.32 duration, wrapping modulo 2^64 (RFC 5905 §6),
    /// which is correct across an era boundary when the true difference is within
    /// ±68 years.
    public static func - (lhs: NTPTimestamp, rhs: NTPTimestamp) -> NTPDuration {
        NTPDuration(rawValue: Int64(bitPattern: lhs.rawValue &- rhs.rawValue))
    }

    /// `self + duration`, wrapping into the next or previous era as needed.
    public func adding(_ duration: NTPDuration) -> NTPTimestamp {
        NTPTimestamp(rawValue: rawValue &+ UInt64(bitPattern: duration.rawValue))
    }

    /// `ssssssss.ffffffff` in hex, the notation ntpq uses.
    public var description: String {
        Self.hex8(seconds) + "." + Self.hex8(fraction)
    }

    // MARK: - Shared conversions (also used by NTPDate)

    /// `round(ns * 2^32 / 1e9)`; never reaches 2^32 because `ns < 1e9`.
    static func fraction(fromNanoseconds nanoseconds: UInt32) -> UInt32 {
        let scaled = (UInt64(nanoseconds) << 32 + 500_000_000) / 1_000_000_000
        return UInt32(truncatingIfNeeded: scaled)
    }

    /// The Unix time `seconds + fraction / 2^32`, with the fraction rounded to the
    /// nearest nanosecond (a fraction within half a nanosecond of the next second
    /// carries into it).
    static func unixTime(seconds: Int64, fraction: UInt32) -> UnixTime {
        let nanoseconds = (UInt64(fraction) * 1_000_000_000 + (1 << 31)) >> 32  // <= 1e9
        return UnixTime(seconds: seconds, nanoseconds: UInt32(truncatingIfNeeded: nanoseconds))
    }

    private static func hex8(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }
}

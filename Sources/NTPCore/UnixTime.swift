/// A point in time as seconds and nanoseconds since 1970-01-01T00:00:00Z (POSIX
/// time, leap seconds not counted), the form in which system clocks report time.
///
/// Kept separate from the NTP formats so that conversions to and from the wire
/// (RFC 5905 §6) are explicit and exact. Always normalised:
/// `0 <= nanoseconds < 1_000_000_000`; `seconds` may be negative (before 1970), so
/// `-0.25 s` is stored as `seconds: -1, nanoseconds: 750_000_000`.
///
/// No operation traps: arithmetic on absurd values (near `Int64.min`/`max`) wraps.
public struct UnixTime: Hashable, Sendable, Comparable, CustomStringConvertible {
    public static let nanosecondsPerSecond: Int64 = 1_000_000_000

    public var seconds: Int64

    /// Always in `0..<1_000_000_000`: assigning a larger value carries the excess
    /// into `seconds`, so the invariant every conversion relies on cannot be broken.
    public var nanoseconds: UInt32 {
        get { normalisedNanoseconds }
        set { self = UnixTime(seconds: seconds, nanoseconds: newValue) }
    }

    private var normalisedNanoseconds: UInt32

    /// Creates a normalised time; `nanoseconds >= 1e9` is carried into `seconds`.
    public init(seconds: Int64, nanoseconds: UInt32) {
        let perSecond = UInt32(Self.nanosecondsPerSecond)
        self.seconds = seconds &+ Int64(nanoseconds / perSecond)
        normalisedNanoseconds = nanoseconds % perSecond
    }

    /// From nanoseconds since 1970 (any Int64 is valid).
    public init(nanosecondsSinceEpoch value: Int64) {
        let perSecond = Self.nanosecondsPerSecond
        var seconds = value / perSecond
        var remainder = value % perSecond
        if remainder < 0 {
            remainder += perSecond
            seconds -= 1
        }
        self.init(seconds: seconds, nanoseconds: UInt32(remainder))
    }

    /// Nanoseconds since 1970; wraps beyond about ±292 years instead of trapping.
    public var nanosecondsSinceEpoch: Int64 {
        seconds &* Self.nanosecondsPerSecond &+ Int64(nanoseconds)
    }

    /// `self` shifted by a signed number of nanoseconds, exactly.
    public func adding(nanoseconds delta: Int64) -> UnixTime {
        let perSecond = Self.nanosecondsPerSecond
        // Truncating division keeps |remainder| < 1e9, so the sum below stays in
        // (-1e9, 2e9) and needs at most one borrow or carry.
        var newSeconds = seconds &+ delta / perSecond
        var newNanoseconds = Int64(nanoseconds) + delta % perSecond
        if newNanoseconds < 0 {
            newNanoseconds += perSecond
            newSeconds = newSeconds &- 1
        } else if newNanoseconds >= perSecond {
            newNanoseconds -= perSecond
            newSeconds = newSeconds &+ 1
        }
        return UnixTime(seconds: newSeconds, nanoseconds: UInt32(truncatingIfNeeded: newNanoseconds))
    }

    /// `self - other` in nanoseconds. Exact while the difference fits in `Int64`
    /// (about ±292 years); wraps beyond that instead of trapping.
    public func nanoseconds(since other: UnixTime) -> Int64 {
        (seconds &- other.seconds) &* Self.nanosecondsPerSecond
            &+ (Int64(nanoseconds) - Int64(other.nanoseconds))
    }

    public static func < (lhs: UnixTime, rhs: UnixTime) -> Bool {
        (lhs.seconds, lhs.nanoseconds) < (rhs.seconds, rhs.nanoseconds)
    }

    /// The exact decimal value with nine fractional digits, e.g.
    /// `"1700000000.000000123"`; times before 1970 read as negative numbers
    /// (`seconds: -1, nanoseconds: 750_000_000` is `"-0.250000000"`).
    public var description: String {
        var wholeSeconds = seconds.magnitude
        var fraction = nanoseconds
        if seconds < 0 && fraction > 0 {
            // value = seconds + ns/1e9 = -((|seconds| - 1) + (1e9 - ns)/1e9)
            wholeSeconds -= 1
            fraction = UInt32(Self.nanosecondsPerSecond) - fraction
        }
        let digits = String(fraction)
        let padded = String(repeating: "0", count: 9 - digits.count) + digits
        return (seconds < 0 ? "-" : "") + String(wholeSeconds) + "." + padded
    }
}

/// The 128-bit NTP date format (RFC 5905 §6, Figure 3), reduced to the bits that
/// matter: a signed era number plus the 64-bit timestamp within that era.
///
/// Unlike `NTPTimestamp`, a date names one instant unambiguously, so conversion
/// to and from `UnixTime` needs no pivot. Era 0 starts 1900-01-01, era 1 starts
/// 2036-02-07T06:28:16Z, era -1 covers 1764-1899.
public struct NTPDate: Hashable, Sendable, Comparable {
    /// Number of 2^32-second eras since 1900-01-01 (negative before 1900).
    public var era: Int32
    /// Seconds within the era ("era offset") and fraction.
    public var timestamp: NTPTimestamp

    public init(era: Int32, timestamp: NTPTimestamp) {
        self.era = era
        self.timestamp = timestamp
    }

    /// `era = floor((unix seconds + 2208988800) / 2^32)`; the timestamp is
    /// `NTPTimestamp(time)`. (Eras beyond `Int32`, only reachable from absurd
    /// Unix seconds near `Int64.max`, wrap.)
    public init(_ time: UnixTime) {
        // Add the epoch offset to the low 32 bits only, so Int64 cannot overflow.
        let lowSum = UInt64(UInt32(truncatingIfNeeded: time.seconds)) + UInt64(NTPTimestamp.unixEpochOffset)
        let era = (time.seconds >> 32) &+ Int64(lowSum >> 32)
        self.init(era: Int32(truncatingIfNeeded: era), timestamp: NTPTimestamp(time))
    }

    /// The exact Unix time (fraction rounded to the nearest nanosecond).
    public var unixTime: UnixTime {
        let ntpSeconds = Int64(era) << 32 | Int64(timestamp.seconds)
        return NTPTimestamp.unixTime(
            seconds: ntpSeconds &- NTPTimestamp.unixEpochOffset, fraction: timestamp.fraction)
    }

    public static func < (lhs: NTPDate, rhs: NTPDate) -> Bool {
        (lhs.era, lhs.timestamp.rawValue) < (rhs.era, rhs.timestamp.rawValue)
    }
}

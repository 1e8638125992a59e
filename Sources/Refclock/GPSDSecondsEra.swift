/// Restores the full seconds of gpsd's TOFF and PPS reports, which libgps 3.22 truncates to 32 bits.
///
/// gpsd writes `real_sec` and `clock_sec` in full ("real_sec":2147483648), but libgps 3.22's JSON reader
/// for TOFF and PPS stores them through a C `int`: from 2038-01-19T03:14:08Z (2^31 Unix seconds) the GPS
/// second reads as 1901-12-13, 2^32 s early. Left alone, that steps the served timescale back by 2^32 s at
/// the crossing (seen with gpsd + gpsfake replaying 2038; `GPSTimescaleTests`). The TPV report's `time` is
/// ISO 8601 text and parses in full, and CLOCK_REALTIME is read as 64 bits, so each truncated field is
/// resolved to the value congruent to it modulo 2^32 nearest a full-width pivot (as RFC 5905 §6 resolves
/// NTP eras): the receiver's own time for `real`, the system clock for `clock`. A libgps that reads the
/// fields in full gives values already within ±2^31 s of their pivots, which this leaves unchanged.
public enum GPSDSecondsEra {
    /// The value congruent to `seconds` modulo 2^32 within [-2^31, 2^31) of `pivot`.
    public static func resolve(_ seconds: Int64, near pivot: Int64) -> Int64 {
        pivot &+ Int64(Int32(truncatingIfNeeded: seconds &- pivot))
    }
}

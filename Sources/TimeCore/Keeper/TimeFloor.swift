/// The earliest UTC the node can possibly be at: no source is believed below it, and the node's own clock
/// never starts below it.
///
/// A node knows some instants that are certainly past: the day it was built, the last update of its leap
/// second file, and the last time it stored in its state database (plus how long its monotonic clock has run
/// since it read that). systemd-timesyncd does the same with its build date and `/var/lib/systemd/timesync/clock`;
/// a Raspberry Pi without an RTC boots at 1970 or at fake-hwclock's last save, and a GPS receiver with the
/// week-number bug (IS-GPS-200 §20.3.3.3.1.1: 10-bit week numbers roll over every 1024 weeks) reports a date
/// 19.6 years in the past. Both are below the floor and refused with the reason, never served.
///
/// The floor is also the NTP era pivot (RFC 5905 §6): a 32-bit NTP timestamp names one instant only within
/// ±68 years of a pivot, so a clock that starts at or above the floor resolves every era correctly, across
/// 2036 and beyond.
public struct TimeFloor: Sendable, Equatable, Codable {
    /// Unix seconds of the floor when it was taken.
    public var seconds: Int64
    /// Local time (monotonic) at which `seconds` was taken: the floor advances with it.
    public var local: LocalTime
    /// What set it ("build date", "leap file", "state database"), for status and refusals.
    public var origin: String

    public init(seconds: Int64, local: LocalTime, origin: String) {
        self.seconds = seconds
        self.local = local
        self.origin = origin
    }

    /// The highest of `candidates` (name, Unix seconds), nil without any.
    public init?(candidates: [(origin: String, seconds: Int64)], local: LocalTime) {
        guard let best = candidates.max(by: { $0.seconds < $1.seconds }) else { return nil }
        self.init(seconds: best.seconds, local: local, origin: best.origin)
    }

    /// The floor at local time `now` in Unix nanoseconds: the stored floor plus the monotonic time elapsed
    /// since it was taken (never less than the stored floor).
    public func nanoseconds(at now: LocalTime) -> Int64 {
        let elapsed = max(0, now &- local)
        let (base, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        let (sum, overflow2) = base.addingReportingOverflow(elapsed)
        return overflow2 ? .max : sum
    }

    /// "2026-03-01T00:00:00Z (build date)".
    public var description: String { "\(UTCText.iso(seconds: seconds)) (\(origin))" }
}

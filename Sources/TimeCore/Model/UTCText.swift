/// ISO 8601 UTC text for refusals and status ("2038-01-19T03:14:08Z"), from any Int64 second, without
/// Foundation (TimeCore reads no clock and formats no locale).
public enum UTCText {
    /// `YYYY-MM-DDTHH:MM:SSZ` for Unix seconds (proleptic Gregorian; years beyond 9999 print in full).
    public static func iso(seconds: Int64) -> String {
        let days = UTCDate.floorDiv(seconds, UTCDate.secondsPerDay)
        let date = UTCDate(daysSinceEpoch: days)
        let second = Int(seconds &- days &* UTCDate.secondsPerDay)
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let year = date.year < 0 ? "-\(-date.year)" : (date.year < 1000 ? String(repeating: "0", count: 4 - "\(date.year)".count) + "\(date.year)" : "\(date.year)")
        return "\(year)-\(two(date.month))-\(two(date.day))T\(two(second / 3600)):\(two(second / 60 % 60)):\(two(second % 60))Z"
    }

    /// Unix nanoseconds, whole seconds rounded down.
    public static func iso(nanoseconds: Int64) -> String {
        iso(seconds: UTCDate.floorDiv(nanoseconds, 1_000_000_000))
    }

    /// A duration in words with its size: "+619315200.000 s (1024 weeks)", "-1.000 s".
    public static func duration(_ seconds: Double) -> String {
        let sign = seconds >= 0 ? "+" : "-"
        var text = "\(sign)\(abs(seconds).formatted3) s"
        let weeks = abs(seconds) / 604_800
        // Beyond a million weeks a size is absurd anyway: no words, and no Int conversion that could trap.
        if abs(seconds) >= 86_400 * 2, weeks < 1e6 {
            let days = abs(seconds) / 86_400
            text += weeks >= 4 && abs(weeks - weeks.rounded()) < 0.01 ? " (\(Int(weeks.rounded())) weeks)" : " (\((days * 10).rounded() / 10) days)"
        }
        return text
    }
}

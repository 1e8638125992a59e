/// Why a list of TAI−UTC entries is not a leap-second table. The parsers check the same rules with line or
/// record numbers of their own; this is what a table built in code gets.
public enum LeapSecondTableError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Entry `index` (0-based) does not come strictly after the one before it.
    case notIncreasing(index: Int)
    /// Entry `index` changes TAI−UTC by other than ±1 s: leap seconds are single seconds (ITU-R TF.460-6).
    case notOneSecond(index: Int, from: Int, to: Int)
    /// Entry `index` (a leap) does not take effect at 00:00:00 UTC; leap seconds end a UTC day.
    case notAtMidnight(index: Int, unix: Int64)
    /// The expiry is not after the last entry (zic: "last Leap time does not precede Expires time").
    case expiryNotAfterLastEntry(expires: Int64, lastEntry: Int64)

    public var description: String {
        switch self {
        case .notIncreasing(let index):
            "entry \(index) is not later than the entry before it"
        case .notOneSecond(let index, let from, let to):
            "entry \(index) changes TAI-UTC from \(from) s to \(to) s; a leap second changes it by exactly 1 s"
        case .notAtMidnight(let index, let unix):
            "entry \(index) takes effect at Unix time \(unix), which is not 00:00:00 UTC"
        case .expiryNotAfterLastEntry(let expires, let lastEntry):
            "the expiry (Unix \(expires)) is not after the last entry (Unix \(lastEntry))"
        }
    }
}

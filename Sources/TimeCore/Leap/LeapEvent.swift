import NTPCore

/// One leap second, named by the POSIX time of the midnight that ends the day it changes: 1 Jan 2017
/// 00:00:00 UTC for the second inserted as 31 Dec 2016 23:59:60. That midnight is the instant the new
/// TAI−UTC takes effect, the way leap-seconds.list dates its entries ("the time at which the new value
/// becomes valid"), so one number serves both the table and the clock.
public struct LeapEvent: Hashable, Sendable, CustomStringConvertible {
    /// POSIX time of the midnight after the leap second (a multiple of 86 400).
    public var unix: Int64
    /// `true` for a positive leap second (23:59:60 inserted, TAI−UTC grows by 1); `false` for a negative one
    /// (23:59:59 omitted, TAI−UTC shrinks by 1).
    public var insert: Bool

    public init(unix: Int64, insert: Bool) {
        self.unix = unix
        self.insert = insert
    }

    /// The RFC 5905 §7.3 leap indicator that announces this leap.
    public var indicator: LeapIndicator { insert ? .insertSecond : .deleteSecond }

    /// POSIX time at which the last day before the leap begins (00:00:00 UTC of that day).
    public var lastDayStart: Int64 { unix &- UTCDate.secondsPerDay }

    public var description: String {
        let day = UTCDate(unix: lastDayStart).listComment
        return (insert ? "insert 23:59:60 on " : "delete 23:59:59 on ") + day + " (midnight \(unix))"
    }
}

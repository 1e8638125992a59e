/// A proleptic Gregorian calendar date in UTC, as far as leap-second handling needs one: which day a Unix
/// time falls on, whether that day ends a month (the only days that can end with a leap second: ITU-R
/// TF.460-6 Annex 1 allows a leap second at the end of any month, preferring June and December), and the
/// "1 Jan 2017" comments of leap-seconds.list.
///
/// Days are counted with the civil-from-days algorithm of H. Hinnant ("chrono-Compatible Low-Level Date
/// Algorithms"), which is exact for every Int64 day count used here and needs no tables.
public struct UTCDate: Hashable, Sendable {
    public var year: Int64
    /// 1...12
    public var month: Int
    /// 1...31
    public var day: Int

    public static let secondsPerDay: Int64 = 86_400

    /// The date containing the POSIX time `unix` (a day is [00:00:00, 24:00:00), so midnight belongs to the
    /// day it starts).
    public init(unix: Int64) {
        self.init(daysSinceEpoch: Self.floorDiv(unix, Self.secondsPerDay))
    }

    public init(year: Int64, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// The date `days` days after 1970-01-01.
    public init(daysSinceEpoch days: Int64) {
        let z = days + 719_468
        let era = Self.floorDiv(z, 146_097)
        let dayOfEra = z - era * 146_097  // [0, 146096]
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365  // [0, 399]
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)  // [0, 365], from 1 March
        let shiftedMonth = (5 * dayOfYear + 2) / 153  // [0, 11], 0 = March
        day = Int(dayOfYear - (153 * shiftedMonth + 2) / 5 + 1)
        month = Int(shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9)
        year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    }

    /// Days from 1970-01-01 to this date.
    public var daysSinceEpoch: Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = Self.floorDiv(y, 400)
        let yearOfEra = y - era * 400
        let shiftedMonth = Int64(month > 2 ? month - 3 : month + 9)
        let dayOfYear = (153 * shiftedMonth + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// Whether this is the last day of its month, i.e. a day that may end in 23:59:60 (or lack 23:59:59).
    var isLastDayOfMonth: Bool {
        UTCDate(daysSinceEpoch: daysSinceEpoch + 1).day == 1
    }

    /// "1 Jan 2017", the style of the comments on leap-seconds.list data lines.
    var listComment: String {
        let names = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        return "\(day) \(names[month - 1]) \(year)"
    }

    /// Division rounding towards minus infinity (Swift's `/` truncates towards zero).
    public static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }
}

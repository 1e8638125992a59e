import CFleetShim
import TimeCore

/// Where the node's floor comes from (`TimeFloor`): the build date, the leap-second file's dates and the last
/// time stored in the state database. Each is a time that has certainly passed.
enum NodeFloor {
    /// The candidates that are known, as (origin, Unix seconds).
    static func candidates(leapFile: LeapSecondTable?, lastStored: Int64?) -> [(origin: String, seconds: Int64)] {
        var list: [(origin: String, seconds: Int64)] = []
        if let build = buildDate(String(cString: cfs_build_date())) {
            // __DATE__ is the local date: a day earlier is before it in every time zone.
            list.append(("build date", build - 86_400))
        }
        if let table = leapFile, let updated = table.updated ?? table.entries.last?.unix {
            list.append(("leap file", updated))
        }
        if let lastStored { list.append(("state database", lastStored)) }
        return list
    }

    /// `__DATE__` ("Jan  5 2027") as Unix seconds at midnight UTC of that date; nil when unreadable.
    static func buildDate(_ text: String) -> Int64? {
        let parts = text.split(separator: " ", omittingEmptySubsequences: true)
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard parts.count == 3, let monthIndex = months.firstIndex(of: String(parts[0])), let day = Int64(parts[1]),
              let year = Int64(parts[2]), (1...31).contains(day), (1970...9999).contains(year)
        else { return nil }
        return UTCDate(year: year, month: monthIndex + 1, day: Int(day)).daysSinceEpoch * UTCDate.secondsPerDay
    }
}

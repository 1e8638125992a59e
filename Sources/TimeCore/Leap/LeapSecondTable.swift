/// The history of TAI−UTC: when each leap second took effect and the offset from then on, plus how long the
/// table can be trusted. Built from the IETF/NIST leap-seconds.list (`LeapSecondsListParser`) or the tz
/// database's `right/UTC` (`TZifLeapParser`); both give the same entries.
///
/// Entry times are POSIX times of the midnight at which a new TAI−UTC becomes valid, i.e. the midnight just
/// after the leap second, which is how leap-seconds.list states them ("1 Jan 2017: 37" for the second
/// inserted as 31 Dec 2016 23:59:60). The first entry is the table's base (1 Jan 1972: 10 s, when UTC
/// began to differ from TAI by whole seconds); each later entry is one leap second, changing TAI−UTC by
/// exactly +1 (inserted) or −1 (deleted).
///
/// Before the first entry the offset is unknown (`taiOffset` returns nil). After the expiry the entries
/// stay true, but a leap second announced after the table was made may be missing: IERS Bulletin C
/// announces each leap about six months ahead and the list's expiry says up to when it has been accounted
/// for ("File expires on 28 June 2026").
public struct LeapSecondTable: Hashable, Sendable {
    /// One row: from POSIX time `unix` on, TAI − UTC is `taiMinusUTC` seconds.
    public struct Entry: Hashable, Sendable {
        public var unix: Int64
        public var taiMinusUTC: Int

        public init(unix: Int64, taiMinusUTC: Int) {
            self.unix = unix
            self.taiMinusUTC = taiMinusUTC
        }
    }

    /// Ascending by `unix`; see the type's description.
    public let entries: [Entry]
    /// POSIX time after which the table may be missing leap seconds (leap-seconds.list `#@`, TZif v4 expiry
    /// record); nil when the source does not say (TZif v1–v3).
    public let expires: Int64?
    /// POSIX time of the source's last update (leap-seconds.list `#$`); nil when not stated.
    public let updated: Int64?

    /// Checks the rules in the type's description: strictly ascending entries, steps of exactly ±1 s, leap
    /// entries (all but the first) at 00:00:00 UTC, and an expiry after the last entry.
    public init(entries: [Entry], expires: Int64? = nil, updated: Int64? = nil) throws(LeapSecondTableError) {
        for index in entries.indices.dropFirst() {
            let previous = entries[index - 1]
            let entry = entries[index]
            guard entry.unix > previous.unix else { throw .notIncreasing(index: index) }
            let (step, overflow) = entry.taiMinusUTC.subtractingReportingOverflow(previous.taiMinusUTC)
            guard !overflow, step == 1 || step == -1 else {
                throw .notOneSecond(index: index, from: previous.taiMinusUTC, to: entry.taiMinusUTC)
            }
            guard entry.unix % UTCDate.secondsPerDay == 0 else {
                throw .notAtMidnight(index: index, unix: entry.unix)
            }
        }
        if let expires, let last = entries.last, expires <= last.unix {
            throw .expiryNotAfterLastEntry(expires: expires, lastEntry: last.unix)
        }
        self.entries = entries
        self.expires = expires
        self.updated = updated
    }

    /// TAI − UTC in seconds at POSIX time `unix`, or nil before the first entry (or for an empty table).
    /// At an entry's own time the new value applies.
    public func taiOffset(atUnix unix: Int64) -> Int? {
        guard let index = lastEntryIndex(atOrBefore: unix) else { return nil }
        return entries[index].taiMinusUTC
    }

    /// The first leap second whose midnight is strictly after `unix`: at the midnight itself the leap has
    /// happened and the next one is reported. `insert` is true when TAI−UTC grows by one there.
    public func nextLeap(after unix: Int64) -> (unix: Int64, insert: Bool)? {
        guard let event = leaps(after: unix).first else { return nil }
        return (event.unix, event.insert)
    }

    /// All leap seconds in the table (every entry but the base), oldest first.
    public var leaps: [LeapEvent] {
        entries.indices.dropFirst().map { index in
            LeapEvent(unix: entries[index].unix, insert: entries[index].taiMinusUTC > entries[index - 1].taiMinusUTC)
        }
    }

    /// The leap seconds whose midnights are strictly after `unix`, oldest first.
    public func leaps(after unix: Int64) -> [LeapEvent] {
        let start = (lastEntryIndex(atOrBefore: unix) ?? 0) + 1
        guard start < entries.count else { return [] }
        return entries.indices[max(start, 1)...].map { index in
            LeapEvent(unix: entries[index].unix, insert: entries[index].taiMinusUTC > entries[index - 1].taiMinusUTC)
        }
    }

    /// Whether `unix` is at or after the expiry. A table with no stated expiry (TZif before version 4) is
    /// never reported expired: its age is then the caller's to judge (e.g. from the package's date).
    public func isExpired(atUnix unix: Int64) -> Bool {
        guard let expires else { return false }
        return unix >= expires
    }

    /// Index of the last entry with `unix <= time`, by binary search; nil if every entry is later.
    private func lastEntryIndex(atOrBefore time: Int64) -> Int? {
        var low = 0
        var high = entries.count  // invariant: entries[..<low] <= time < entries[high...]
        while low < high {
            let middle = low + (high - low) / 2
            if entries[middle].unix <= time { low = middle + 1 } else { high = middle }
        }
        return low == 0 ? nil : low - 1
    }
}

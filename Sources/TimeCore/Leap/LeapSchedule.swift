import NTPCore

/// Which leap second, if any, the node announces to its clients: the RFC 5905 §7.3 leap indicator for a given
/// served POSIX time.
///
/// A leap is announced during the last day before it only, the 86 400 s [midnight − 86 400, midnight) in UTC.
/// RFC 5905 §7.3 has LI warn of a leap "in the last minute of the current month" (its Figure 9 says "of the
/// day"); ntpd and chrony both set it only within the last day, and so does this node: a client that arms
/// its kernel on LI (Linux STA_INS/STA_DEL) leaps at the end of the current day, so an earlier announcement
/// could make it leap at the wrong midnight. At the midnight itself the leap is over and
/// `.noWarning` is served again. (In step mode the inserted second is served as a repeat of 23:59:59,
/// which `LeapAdjustment.leapIndicator(atNaive:)` keeps announcing; this type sees POSIX times only.)
///
/// Sources can announce a leap the table lacks (a GPS receiver's or an upstream server's LI): see
/// `pendingLeap(atUnix:sourceLeaps:)`.
public struct LeapSchedule: Hashable, Sendable {
    public var table: LeapSecondTable

    /// Length of the announcement, seconds: the last day.
    public static let announcementLength: Int64 = 86_400

    public init(table: LeapSecondTable) {
        self.table = table
    }

    /// The table's leap announced at served POSIX time `unix`: the next leap if `unix` is in its last day.
    public func pendingLeap(atUnix unix: Int64) -> LeapEvent? {
        guard let next = table.nextLeap(after: unix) else { return nil }
        let event = LeapEvent(unix: next.unix, insert: next.insert)
        return unix >= event.lastDayStart ? event : nil
    }

    /// The leap indicator to serve at POSIX time `unix` from the table alone.
    public func indicator(atUnix unix: Int64) -> LeapIndicator {
        pendingLeap(atUnix: unix)?.indicator ?? .noWarning
    }

    /// The leap announced at POSIX time `unix`, from the table and the leap indicators of the sources the
    /// node currently selects (`sourceLeaps`; `.unsynchronized` ones do not vote).
    ///
    /// - A leap in the table's last-day window is announced whatever the sources say.
    /// - Otherwise, if the table's expiry is at or after the coming midnight, the table knows there is no
    ///   leap there, and sources saying otherwise are overruled: IERS announces leaps months ahead, while a
    ///   misconfigured upstream or a receiver's firmware bug can raise LI wrongly.
    /// - Otherwise (table expired, or with no expiry such as a TZif v2 right/UTC) a strict majority of the
    ///   voting sources decides, and only on the last day of a month, the only days that may end with a
    ///   leap second (ITU-R TF.460-6; chrony is stricter and takes only June and December). The event is
    ///   then at the coming midnight; hand it to `LeapAdjustment(leaps:mode:)` to have the clock carry it out.
    public func pendingLeap(atUnix unix: Int64, sourceLeaps: [LeapIndicator]) -> LeapEvent? {
        if let fromTable = pendingLeap(atUnix: unix) { return fromTable }
        let today = UTCDate(unix: unix)
        let midnight = (today.daysSinceEpoch + 1) &* UTCDate.secondsPerDay
        if let expires = table.expires, expires >= midnight { return nil }
        guard today.isLastDayOfMonth else { return nil }
        let voters = sourceLeaps.filter { $0 != .unsynchronized }
        let inserts = voters.filter { $0 == .insertSecond }.count
        let deletes = voters.filter { $0 == .deleteSecond }.count
        if inserts * 2 > voters.count { return LeapEvent(unix: midnight, insert: true) }
        if deletes * 2 > voters.count { return LeapEvent(unix: midnight, insert: false) }
        return nil
    }

    /// The leap indicator to serve at POSIX time `unix`, table and source votes combined as in
    /// `pendingLeap(atUnix:sourceLeaps:)`.
    public func indicator(atUnix unix: Int64, sourceLeaps: [LeapIndicator]) -> LeapIndicator {
        pendingLeap(atUnix: unix, sourceLeaps: sourceLeaps)?.indicator ?? .noWarning
    }
}

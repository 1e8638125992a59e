import NTPCore

/// Carries the node through leap seconds: which leaps are scheduled (the table's, plus one the sources vote
/// for when the table cannot say), the indicator to serve, and the two corrections the clock applies.
///
/// Two corrections because sources and clients see different things: sources (GPS, upstream servers) step
/// at the leap, so samples are compared with the node's *UTC* time (naive + step correction) and the
/// discipline never sees the leap; clients get *served* time (naive + step or smear correction).
public struct LeapController: Sendable {
    public let schedule: LeapSchedule
    public let mode: LeapMode
    /// Leaps after the start that the clock carries out, oldest first.
    public private(set) var leaps: [LeapEvent]
    /// Naive → UTC (step): what samples are measured against.
    public private(set) var utc: LeapAdjustment
    /// Naive → served time (step or smear): what clients get.
    public private(set) var served: LeapAdjustment

    /// `table` may be empty (no leap file: the sources' vote decides); `since` is the POSIX time at which the
    /// naive clock agreed with UTC (the node's start).
    public init(table: LeapSecondTable, mode: LeapMode, since: Int64) {
        schedule = LeapSchedule(table: table)
        self.mode = mode
        leaps = table.leaps(after: since)
        utc = LeapAdjustment(leaps: leaps, mode: .step)
        served = LeapAdjustment(leaps: leaps, mode: mode)
    }

    /// At UTC time `now` with the sources' leap indicators: schedules a leap the sources vote for (when the
    /// table allows it) and returns the indicator to serve. In smear mode that is always `noWarning` (see
    /// `LeapMode.smear`).
    public mutating func update(atUnix now: Int64, sourceLeaps: [LeapIndicator]) -> LeapIndicator {
        let pending = schedule.pendingLeap(atUnix: now, sourceLeaps: sourceLeaps)
        if let pending, !leaps.contains(pending) {
            leaps.append(pending)
            utc = LeapAdjustment(leaps: leaps, mode: .step)
            served = LeapAdjustment(leaps: leaps, mode: mode)
        }
        guard case .step = mode else { return .noWarning }
        return pending?.indicator ?? .noWarning
    }

    /// The next leap still ahead of UTC time `now`.
    public func nextLeap(after now: Int64) -> LeapEvent? {
        leaps.first { $0.unix > now } ?? schedule.table.leaps(after: now).first
    }
}

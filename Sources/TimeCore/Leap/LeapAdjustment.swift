import NTPCore

/// What the node's clock adds for leap seconds: the correction from a leap-naive clock to the POSIX time it
/// serves, in step or smear mode.
///
/// The naive clock counts continuous SI seconds and agrees with POSIX time up to the first leap it is given
/// (the discipline keeps it so: it is the disciplined clock before leap handling). POSIX time has no
/// 23:59:60, so after an inserted second it is 1 s behind the naive clock, after a deleted one 1 s ahead:
///
///     served = naive + correction(naive)
///
/// Step (`LeapMode.step`), for a leap at midnight M (POSIX):
/// - insertion: correction is 0 before naive M and −1 s from naive M on: the naive second [M, M + 1), the
///   real 23:59:60, is served as a second run of 23:59:59, as the Linux kernel does;
/// - deletion: correction is +1 s from naive M − 1 on: 23:59:59 is never served, 23:59:58 is followed by
///   00:00:00.
///
/// Smear (`LeapMode.smear(duration:)`, D s): the correction moves linearly from 0 to ∓1 s over the naive
/// interval [M − ⌊D/2⌋, M − ⌊D/2⌋ + D], computed in integer nanoseconds: exactly 0 at the start, exactly
/// ∓1 s at the end, and served time never goes backwards (it advances at (1 ∓ 1/D) s per second).
///
/// Several leaps are summed; each later leap's midnight is shifted on the naive clock by the whole seconds
/// of the earlier ones.
public struct LeapAdjustment: Hashable, Sendable {
    public let mode: LeapMode
    /// The leaps the naive clock has not yet been corrected for, oldest first.
    public let leaps: [LeapEvent]

    /// Handles `leaps` (sorted here) in `mode`; e.g. one from `LeapSchedule.pendingLeap(atUnix:sourceLeaps:)`.
    public init(leaps: [LeapEvent], mode: LeapMode) {
        self.leaps = leaps.sorted { $0.unix < $1.unix }
        self.mode = mode
    }

    /// Handles the table's leaps after `base`, the POSIX time at which the naive clock agrees with POSIX time
    /// (i.e. it runs at TAI − `table.taiOffset(atUnix: base)`).
    public init(table: LeapSecondTable, since base: Int64, mode: LeapMode) {
        self.init(leaps: table.leaps(after: base), mode: mode)
    }

    /// Served minus naive time at naive time `naive`, nanoseconds (a whole number of seconds outside smears).
    public func correction(atNaive naive: UnixTime) -> Int64 {
        var total: Int64 = 0
        for (leap, midnight) in naiveMidnights() {
            let full: Int64 = leap.insert ? -UnixTime.nanosecondsPerSecond : UnixTime.nanosecondsPerSecond
            switch mode {
            case .step:
                let stepAt = leap.insert ? midnight : midnight &- 1
                if naive.seconds >= stepAt { total &+= full }
            case .smear:
                let window = smearWindow(midnight: midnight)
                if naive.seconds >= window.end {
                    total &+= full
                } else if naive.seconds >= window.start {
                    // In the window, so 0 <= elapsed < duration * 1e9 (at most 28 days: no overflow).
                    let elapsed = naive.nanoseconds(since: UnixTime(seconds: window.start, nanoseconds: 0))
                    let magnitude = elapsed / window.duration  // = elapsed s / duration, in ns, rounded down
                    total &+= leap.insert ? -magnitude : magnitude
                }
            }
        }
        return total
    }

    /// `correction(atNaive:)` in seconds.
    public func correctionSeconds(atNaive naive: UnixTime) -> Double {
        Double(correction(atNaive: naive)) / Double(UnixTime.nanosecondsPerSecond)
    }

    /// The POSIX time to serve at naive time `naive`.
    public func servedTime(atNaive naive: UnixTime) -> UnixTime {
        naive.adding(nanoseconds: correction(atNaive: naive))
    }

    /// Whether a smear is in progress at naive time `naive` (false in step mode).
    public func isSmearing(atNaive naive: UnixTime) -> Bool {
        guard case .smear = mode else { return false }
        return naiveMidnights().contains { _, midnight in
            let window = smearWindow(midnight: midnight)
            return naive.seconds >= window.start && naive.seconds < window.end
        }
    }

    /// The leap indicator to serve at naive time `naive`.
    ///
    /// Smear: always `.noWarning` (see `LeapMode.smear(duration:)`: the smear is the leap; clients must not
    /// add another). Step: the leap's indicator during its last day, as `LeapSchedule` does, and for an
    /// insertion also during the repeated 23:59:59 (the real 23:59:60, when the leap is still under way);
    /// for a deletion it ends when 23:59:59 is skipped.
    public func leapIndicator(atNaive naive: UnixTime) -> LeapIndicator {
        guard case .step = mode else { return .noWarning }
        for (leap, midnight) in naiveMidnights() {
            let start = midnight &- LeapSchedule.announcementLength
            let end = leap.insert ? midnight &+ 1 : midnight &- 1
            if naive.seconds >= start && naive.seconds < end { return leap.indicator }
        }
        return .noWarning
    }

    /// Each leap with its midnight on the naive clock: its POSIX midnight shifted by the earlier leaps
    /// (an earlier insertion puts the naive clock 1 s ahead of POSIX time).
    private func naiveMidnights() -> [(leap: LeapEvent, midnight: Int64)] {
        var shift: Int64 = 0
        return leaps.map { leap in
            defer { shift += leap.insert ? 1 : -1 }
            return (leap, leap.unix &+ shift)
        }
    }

    private func smearWindow(midnight: Int64) -> (start: Int64, end: Int64, duration: Int64) {
        let duration = mode.effectiveSmearDuration ?? 1
        let start = midnight &- duration / 2
        return (start, start &+ duration, duration)
    }
}

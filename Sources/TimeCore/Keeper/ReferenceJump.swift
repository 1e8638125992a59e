/// A reference clock whose time jumped: its samples since the jump, held apart and not used.
///
/// A receiver's time can jump for reasons that have nothing to do with true time: a GPS week-number rollover
/// (IS-GPS-200: the 10-bit week wraps every 1024 weeks, so a receiver past its firmware's epoch reports
/// 19.6 years ago), a leap second applied at the wrong moment (a 1 s step), a reset to its RTC, or spoofing.
/// RFC 5905's clock filter has no answer for this (its popcorn spike suppressor removes single outliers);
/// chrony treats a refclock offset beyond `maxchange`-like limits as an error. Here a jump is held: the new
/// samples are counted as dropped, with the reason, and the source leaves selection at once (holdover, or
/// the majority when the node has other sources). Once the jump has lasted `jumpPersistence` seconds it
/// is followed only if another source agrees with the new time more than with the old one, or an operator
/// confirms it; otherwise the node holds over and becomes unsynchronised after `holdover_limit`.
public struct ReferenceJump: Sendable, Equatable {
    /// New minus old time, seconds (the new samples' offset minus the last good sample's, against the
    /// served clock).
    public var size: Double
    /// Local time of the first and newest sample on the new timescale.
    public var firstLocal: LocalTime
    public var lastLocal: LocalTime
    /// The samples since the jump, raw (as the keeper keeps them), newest last.
    public var samples: [SourceSample]
    /// Local time of the last good sample before it.
    public var lastGoodLocal: LocalTime
    /// The jump is a leap second the receiver inserted (or deleted) at a month's end that the node's leap
    /// table does not list, and the table is not authoritative there (none, or expired): the receiver may
    /// well be right, so neither timeline is served as synchronised until someone decides.
    public var unknownLeap = false

    public init(size: Double, sample: SourceSample, lastGoodLocal: LocalTime) {
        self.size = size
        self.firstLocal = sample.localTime
        self.lastLocal = sample.localTime
        self.samples = [sample]
        self.lastGoodLocal = lastGoodLocal
    }

    /// Seconds the new timescale has lasted.
    public var duration: Double { lastLocal.seconds(since: firstLocal) }

    /// Keeps at most `capacity` samples.
    mutating func append(_ sample: SourceSample, capacity: Int) {
        samples.append(sample)
        if samples.count > capacity { samples.removeFirst(samples.count - capacity) }
        lastLocal = sample.localTime
    }

    /// The note status shows for the source while the jump is held.
    func note(decision: String) -> String {
        let count = samples.count
        return "time jumped by \(UTCText.duration(size))\(Self.hint(size)); \(count) sample\(count == 1 ? "" : "s") since dropped, held for \(Int(duration)) s: \(decision)"
    }

    /// A likely cause for some sizes.
    static func hint(_ size: Double) -> String {
        let weeks = abs(size) / 604_800
        if abs(weeks - 1024) < 1 || abs(weeks - 2048) < 1 { return " (GPS week-number rollover?)" }
        if abs(abs(size) - 1) < 0.1 { return " (a leap second applied at the wrong time?)" }
        return ""
    }
}

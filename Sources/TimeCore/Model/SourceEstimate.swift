import NTPCore

/// What a source's filter concludes from its recent samples; the input of selection (RFC 5905 §10-11).
public struct SourceEstimate: Sendable, Equatable {
    public var id: SourceID
    public var kind: SourceKind
    public var options: SourceOptions
    /// Source time minus served time at `localTime`, seconds.
    public var offset: Double
    /// Local time of the newest sample used.
    public var localTime: LocalTime
    /// Round-trip delay of the chosen sample, seconds (0 for reference clocks).
    public var delay: Double
    /// Filter dispersion (RFC 5905 §10 epsilon), seconds.
    public var dispersion: Double
    /// RMS of the differences between samples (RFC 5905 §10 psi), seconds.
    public var jitter: Double
    public var rootDelay: Double
    public var rootDispersion: Double
    public var stratum: UInt8
    public var leap: LeapIndicator
    public var referenceID: ReferenceID
    /// Samples the estimate rests on.
    public var sampleCount: Int
    /// The 8-bit reachability register (RFC 5905 §13), as `chronyc sources` shows it in octal.
    public var reach: UInt8

    public init(
        id: SourceID, kind: SourceKind, options: SourceOptions = SourceOptions(), offset: Double, localTime: LocalTime,
        delay: Double = 0, dispersion: Double, jitter: Double, rootDelay: Double = 0, rootDispersion: Double = 0,
        stratum: UInt8 = 0, leap: LeapIndicator = .noWarning, referenceID: ReferenceID = ReferenceID(rawValue: 0),
        sampleCount: Int, reach: UInt8
    ) {
        self.id = id
        self.kind = kind
        self.options = options
        self.offset = offset
        self.localTime = localTime
        self.delay = delay
        self.dispersion = dispersion
        self.jitter = jitter
        self.rootDelay = rootDelay
        self.rootDispersion = rootDispersion
        self.stratum = stratum
        self.leap = leap
        self.referenceID = referenceID
        self.sampleCount = sampleCount
        self.reach = reach
    }

    /// RFC 5905 §11.2 root distance at local time `now`: half the root delay plus every dispersion, grown at
    /// `dispersionRate` (PHI) since the estimate's sample, plus jitter. The half-width of the source's
    /// correctness interval in selection.
    public func rootDistance(at now: LocalTime, dispersionRate: Double = 15e-6) -> Double {
        let age = max(0, now.seconds(since: localTime))
        return max(1e-9, (rootDelay + delay) / 2 + rootDispersion + dispersion + dispersionRate * age + jitter)
    }
}

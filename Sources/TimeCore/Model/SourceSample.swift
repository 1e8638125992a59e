import NTPCore

/// One measurement of a time source, as the source's edge (gpsd client, PPS reader, NTP client) reports it.
///
/// Sign convention of RFC 5905 §8: `offset` is the source's time minus the node's served time at `localTime`,
/// so a positive offset means the node is behind.
public struct SourceSample: Sendable, Equatable {
    /// When the measurement was valid, on the local timescale.
    public var localTime: LocalTime
    /// Source time minus served time, seconds.
    public var offset: Double
    /// Round-trip delay to the source, seconds; 0 for reference clocks.
    public var delay: Double
    /// This sample's own error: reading precision plus timestamp errors, seconds (RFC 5905 §8 epsilon).
    public var dispersion: Double
    /// The source's root delay and dispersion (RFC 5905 §7.3); 0 for reference clocks.
    public var rootDelay: Double
    public var rootDispersion: Double
    /// The source's stratum: 0 for a reference clock, otherwise what the server reported.
    public var stratum: UInt8
    public var leap: LeapIndicator
    /// The source's reference id (loop detection needs it: RFC 5905 §7.3).
    public var referenceID: ReferenceID

    public init(
        localTime: LocalTime, offset: Double, delay: Double = 0, dispersion: Double,
        rootDelay: Double = 0, rootDispersion: Double = 0, stratum: UInt8 = 0,
        leap: LeapIndicator = .noWarning, referenceID: ReferenceID = ReferenceID(rawValue: 0)
    ) {
        self.localTime = localTime
        self.offset = offset
        self.delay = delay
        self.dispersion = dispersion
        self.rootDelay = rootDelay
        self.rootDispersion = rootDispersion
        self.stratum = stratum
        self.leap = leap
        self.referenceID = referenceID
    }
}

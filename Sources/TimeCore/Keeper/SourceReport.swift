/// One line of `chronyc sources` / `sourcestats` for a source.
public struct SourceReport: Sendable, Equatable, Codable {
    public var id: SourceID
    public var kind: SourceKind
    public var state: SourceState
    public var stratum: UInt8
    public var referenceID: UInt32
    /// The reachability register (print it in octal).
    public var reach: UInt8
    /// Seconds since the newest sample; nil when there is none.
    public var lastSampleAge: Double?
    /// Source minus served time from the filter, seconds; nil without an estimate.
    public var offset: Double?
    public var jitter: Double?
    public var rootDistance: Double?
    /// Samples held by the filter.
    public var samples: Int
    /// Samples accepted and dropped since start (a PPS edge that could not be numbered counts as dropped).
    public var accepted: UInt64
    public var dropped: UInt64
    /// Why the source is not usable, when it is not.
    public var note: String?
    /// `chronyc sourcestats`' line fit over the samples held; nil with fewer than three.
    public var statistics: SourceStatistics?
    /// Of `dropped`: samples held apart after the source's time jumped (`ReferenceJump`), and samples
    /// refused for naming a time below the floor (`TimeFloor`). nil from nodes that do not count them.
    public var droppedJumped: UInt64? = nil
    public var droppedBelowFloor: UInt64? = nil
    /// The size of a jump held right now (seconds, the source's new time minus its old), nil when none: the
    /// source is out until its jump is followed or reverts.
    public var heldJump: Double? = nil
    /// True while the newest sample was refused for naming a time below the floor; nil from nodes that do
    /// not say.
    public var belowFloor: Bool? = nil
    /// For a network source polled with interleaved mode allowed (`xleave`, RFC 9769 §2): whether its newest
    /// sample came from an interleaved answer, the samples from interleaved and from basic answers, and the
    /// answers dropped for an origin that was neither of the request's (or an interleaved transmit
    /// timestamp that did not fit). nil for other sources and from nodes that do not say.
    public var interleaved: Bool? = nil
    public var interleavedSamples: UInt64? = nil
    public var basicSamples: UInt64? = nil
    public var bogusResponses: UInt64? = nil
}

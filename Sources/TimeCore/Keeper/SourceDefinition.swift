import NTPCore

/// A configured time source as the keeper sees it: identity, kind, chrony-like options and how its pulses
/// or samples are numbered and polled.
public struct SourceDefinition: Sendable, Equatable {
    public var id: SourceID
    public var kind: SourceKind
    public var options: SourceOptions
    /// Reference id served while this source is selected: the refclock's name ("GPS", "PPS") at stratum 1,
    /// the upstream's IPv4 address (or IPv6 hash) above (RFC 5905 §7.3).
    public var referenceID: ReferenceID
    /// For a PPS: the source whose time numbers the pulses (chrony's `lock`). nil: the served clock does, once
    /// it is synchronised to something else.
    public var lock: SourceID?
    /// Seconds between reachability shifts of a reference clock (chrony's refclock `poll`, 2^4 s). Network
    /// sources shift their register when their edge sends a request (`TimeKeeper.polled`).
    public var poll: Double
    /// Samples kept by the source's filter (8: a reference clock feeds the discipline one filtered sample per 8 s,
    /// short enough to notice a temperature step, long enough to average PPS jitter; see README "Accuracy").
    public var filterCapacity: Int

    public init(
        id: SourceID, kind: SourceKind, options: SourceOptions = SourceOptions(), referenceID: ReferenceID? = nil,
        lock: SourceID? = nil, poll: Double? = nil, filterCapacity: Int? = nil
    ) {
        self.id = id
        self.kind = kind
        self.options = options
        self.referenceID = referenceID ?? Self.defaultReferenceID(kind)
        self.lock = lock
        self.poll = poll ?? (kind.isReferenceClock ? 16 : 64)
        self.filterCapacity = filterCapacity ?? 8
    }

    static func defaultReferenceID(_ kind: SourceKind) -> ReferenceID {
        switch kind {
        case .gps: ReferenceID(ascii: "GPS")
        case .shm: ReferenceID(ascii: "SHM")
        case .pps: ReferenceID(ascii: "PPS")
        case .ntp, .nts, .sibling: ReferenceID(rawValue: 0)
        }
    }
}

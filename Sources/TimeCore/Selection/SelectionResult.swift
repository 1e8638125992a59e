import NTPCore

/// The outcome of one run of `SourceSelection`: a verdict for every source, and, when a source was selected, the
/// system variables the discipline steers by and the server advertises (RFC 5905 §11.2.3 and §11.3).
///
/// When nothing is selected `selected` and `offset` are `nil`, `failure` says why, and the system fields hold
/// RFC 5905's unsynchronised values (stratum 16, leap 3, zero delay, dispersion and jitter).
public struct SelectionResult: Hashable, Sendable {
    /// One verdict per distinct input source, sorted by id.
    public var verdicts: [SourceVerdict]
    /// The system peer (`*`).
    public var selected: SourceID?
    /// Combined offset of `*` and `+` sources, weighted by 1/root distance (chrony's `combine_sources`, RFC 5905
    /// §11.2.3), seconds: source time minus served time.
    public var offset: Double?
    /// The selected source's root delay plus its delay: what this node's root delay rests on.
    public var rootDelay: Double
    /// The selected source's root dispersion plus its filter dispersion grown at PHI to selection time. Add
    /// `jitter` (and any correction not yet applied) for the system's root distance.
    public var rootDispersion: Double
    /// System jitter (RFC 5905 §11.2.3, chrony's combined offset deviation):
    /// sqrt(Σ wᵢ(ψᵢ² + (θᵢ − θ₀)²) / Σ wᵢ) over the combined sources, θ₀ being the selected source's offset.
    public var jitter: Double
    /// The selected source's stratum (0 for a reference clock); the node serves one more (RFC 5905 §7.3).
    public var stratum: UInt8
    /// The selected source's reference id.
    public var referenceID: ReferenceID
    /// Majority vote of the survivors' leap indicators (of the trusted survivors when there are any), as chrony.
    public var leap: LeapIndicator
    /// Why nothing was selected.
    public var failure: SelectionFailure?

    public init(
        verdicts: [SourceVerdict], selected: SourceID? = nil, offset: Double? = nil, rootDelay: Double = 0,
        rootDispersion: Double = 0, jitter: Double = 0, stratum: UInt8 = 16,
        referenceID: ReferenceID = ReferenceID(rawValue: 0), leap: LeapIndicator = .unsynchronized,
        failure: SelectionFailure? = nil
    ) {
        self.verdicts = verdicts
        self.selected = selected
        self.offset = offset
        self.rootDelay = rootDelay
        self.rootDispersion = rootDispersion
        self.jitter = jitter
        self.stratum = stratum
        self.referenceID = referenceID
        self.leap = leap
        self.failure = failure
    }

    /// The operator-facing reason nothing was selected ("no majority (only 1 of 2 sources agree)"), or `nil`.
    public var reason: String? { failure?.description }

    /// Each source's state, by id.
    public var states: [SourceID: SourceState] {
        Dictionary(verdicts.map { ($0.id, $0.state) }, uniquingKeysWith: { first, _ in first })
    }

    /// The verdict for one source.
    public func verdict(for id: SourceID) -> SourceVerdict? {
        verdicts.first { $0.id == id }
    }

    /// The state of one source (`nil` if it was not an input).
    public func state(of id: SourceID) -> SourceState? {
        verdict(for: id)?.state
    }

    /// The sources whose offsets went into `offset` (`*` and `+`), by id.
    public var combined: [SourceID] {
        verdicts.filter { $0.state == .selected || $0.state == .combined }.map(\.id)
    }
}

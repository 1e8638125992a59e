import NTPCore

/// What `chronyc tracking` shows, plus holdover: the state of the node's clock and what it serves.
public struct TrackingReport: Sendable, Equatable, Codable {
    /// Selected source, nil when none.
    public var selected: SourceID?
    public var referenceID: UInt32
    public var stratum: UInt8
    public var leap: UInt8
    public var synchronized: Bool
    /// Offset of true time from served time at the last update as the discipline measured it, seconds.
    public var lastOffset: Double
    /// RMS of the discipline's regression residuals, seconds.
    public var rmsOffset: Double
    /// Frequency correction of served time against the local oscillator, ppm (positive: oscillator slow).
    public var frequencyPPM: Double
    /// Standard error of the frequency, ppm.
    public var skewPPM: Double
    public var rootDelay: Double
    public var rootDispersion: Double
    /// Seconds since the last clock update; nil before the first.
    public var lastUpdateAge: Double?
    /// Mean seconds between updates over the regression window.
    public var updateInterval: Double
    /// Seconds in holdover (no selectable source after having one); nil when not in holdover.
    public var holdoverSeconds: Double?
    /// Honest bound on |served − true| now: root delay / 2 + root dispersion (RFC 5905 §11.2 root distance);
    /// nil before the first update (unknown).
    public var errorBound: Double?
    public var updates: Int
    public var steps: Int
    /// Why nothing is selected, when nothing is.
    public var reason: String?
    /// The floor (Unix seconds now) and what set it (`TimeFloor`); nil without one.
    public var floor: Int64? = nil
    public var floorOrigin: String? = nil
    /// A first step waiting for an operator's confirmation (seconds), nil when none.
    public var heldStep: Double? = nil
}

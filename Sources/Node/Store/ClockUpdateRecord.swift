import GRDB

/// The clock's state after one discipline update: offset, frequency and its error, per update.
public struct ClockUpdateRecord: Codable, FetchableRecord, PersistableRecord, Sendable, Equatable {
    public static let databaseTableName = "clockUpdate"

    /// Nanoseconds on the local timescale and UTC (Unix seconds) when the row was taken.
    public var local: Int64
    public var utc: Double
    /// The offset the discipline measured at this update and the RMS of its residuals, seconds.
    public var offset: Double
    public var rmsOffset: Double
    public var frequencyPPM: Double
    public var skewPPM: Double
    /// Root delay / 2 + root dispersion, seconds; nil while unknown.
    public var errorBound: Double?
    /// The selected source, nil in holdover or without one.
    public var source: String?
    public var synchronized: Bool
    /// The discipline's update count (restarts from 0 with the node).
    public var updates: Int

    public init(local: Int64, utc: Double, offset: Double, rmsOffset: Double, frequencyPPM: Double, skewPPM: Double,
                errorBound: Double?, source: String?, synchronized: Bool, updates: Int) {
        self.local = local
        self.utc = utc
        self.offset = offset
        self.rmsOffset = rmsOffset
        self.frequencyPPM = frequencyPPM
        self.skewPPM = skewPPM
        self.errorBound = errorBound
        self.source = source
        self.synchronized = synchronized
        self.updates = updates
    }
}

import GRDB

/// One measurement of a time source as the node accepted it: the raw material of offset and delay plots.
public struct SourceSampleRecord: Codable, FetchableRecord, PersistableRecord, Sendable, Equatable {
    public static let databaseTableName = "sourceSample"

    /// The source's name as status shows it ("GPS", "192.0.2.10").
    public var source: String
    /// Nanoseconds on the node's local timescale (never stepped).
    public var local: Int64
    /// UTC on the node's clock at `local`, Unix seconds: what retention and plots use.
    public var utc: Double
    /// Source minus served time, seconds.
    public var offset: Double
    /// Round-trip delay, seconds (0 for reference clocks).
    public var delay: Double
    public var dispersion: Double

    public init(source: String, local: Int64, utc: Double, offset: Double, delay: Double, dispersion: Double) {
        self.source = source
        self.local = local
        self.utc = utc
        self.offset = offset
        self.delay = delay
        self.dispersion = dispersion
    }
}

/// What one of the filter algorithms (`ClockFilter`, `RegressionFilter`) concludes from a source's samples, before
/// `SampleFilter` dresses it as a `SourceEstimate` with the source's identity, options and reachability.
struct FilterResult: Equatable {
    /// Source time minus served time at `localTime`, seconds, as measured (no configured offset yet).
    var offset: Double
    /// The local time the offset refers to.
    var localTime: LocalTime
    var delay: Double
    /// Filter dispersion at `localTime` (RFC 5905 §10 epsilon); selection grows it at PHI from there.
    var dispersion: Double
    /// RFC 5905 §10 psi: the scatter of the samples about the chosen value.
    var jitter: Double
    var rootDelay: Double
    var rootDispersion: Double
    /// Samples the result rests on.
    var sampleCount: Int
}

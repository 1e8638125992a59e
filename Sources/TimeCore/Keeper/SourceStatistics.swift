/// What `chronyc sourcestats` shows of a source's samples: a least-squares line through its offsets against
/// time, with the number of runs of residual signs (NR: few runs for many points means the line does not
/// fit), the span of time covered, the slope (the source's frequency relative to the served clock) and the
/// slope's standard error (skew). Pure arithmetic on (time, offset) pairs.
public struct SourceStatistics: Sendable, Equatable, Codable {
    public var runs: Int
    /// Seconds between the oldest and newest sample.
    public var span: Double
    /// Slope of offset against time, ppm: how fast the source runs ahead of the served clock.
    public var frequencyPPM: Double
    /// Standard error of that slope, ppm.
    public var skewPPM: Double

    /// nil for fewer than three samples or samples all at one time.
    public init?(times: [Double], offsets: [Double]) {
        guard let fit = RobustStatistics.lineFit(x: times, y: offsets), let first = times.first else { return nil }
        let count = min(times.count, offsets.count)
        var runs = 0
        var lastSign: Bool?
        for i in 0..<count {
            let sign = offsets[i] - fit.value(at: times[i]) >= 0
            if sign != lastSign { runs += 1 }
            lastSign = sign
        }
        let skew = fit.slopeError
        guard skew.isFinite else { return nil }
        self.runs = runs
        self.span = abs(times[count - 1] - first)
        self.frequencyPPM = fit.slope * 1e6
        self.skewPPM = skew * 1e6
    }
}

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
        let count = min(times.count, offsets.count)
        guard count >= 3 else { return nil }
        let n = Double(count)
        let meanT = times.prefix(count).reduce(0, +) / n
        let meanO = offsets.prefix(count).reduce(0, +) / n
        var stt = 0.0
        var sto = 0.0
        for i in 0..<count {
            let dt = times[i] - meanT
            stt += dt * dt
            sto += dt * (offsets[i] - meanO)
        }
        guard stt > 0, stt.isFinite, sto.isFinite else { return nil }
        let slope = sto / stt
        var squares = 0.0
        var runs = 0
        var lastSign: Bool?
        for i in 0..<count {
            let residual = offsets[i] - (meanO + slope * (times[i] - meanT))
            squares += residual * residual
            let sign = residual >= 0
            if sign != lastSign { runs += 1 }
            lastSign = sign
        }
        let skew = (squares / (n - 2) / stt).squareRoot()
        guard slope.isFinite, skew.isFinite, let first = times.first, let last = times.prefix(count).last else { return nil }
        self.runs = runs
        self.span = abs(last - first)
        self.frequencyPPM = slope * 1e6
        self.skewPPM = skew * 1e6
    }
}

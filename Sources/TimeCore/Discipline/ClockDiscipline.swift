/// Steers the served clock from the selected (or combined) offset of the sources.
///
/// Rather than an RFC 5905 §11.3 PLL/FLL, the discipline does what chrony does: a weighted least-squares line
/// through the recent offsets of true time against the *local* timescale gives phase and frequency at once,
/// and a runs test on the residuals shortens the window when the oscillator's frequency wanders. A PLL's
/// time constant has to trade lock time against noise; the regression locks from a 20 ppm error in a few
/// updates and still averages many PPS pulses once locked (figures in README, "Accuracy"). The served clock
/// is then exactly the fitted line, which is possible because the node's software clock is a function the
/// node owns, not a kernel clock it can only slew.
///
/// Points are kept as *raw* offsets (true − (local + base)), so a new model never invalidates old points.
public struct ClockDiscipline: Sendable {
    public struct Point: Sendable, Equatable {
        public var local: LocalTime
        /// True time minus (local + base), seconds.
        public var raw: Double
        /// One-sigma error of the point, seconds (weights are 1/sigma²).
        public var sigma: Double
    }

    /// What an update did to the served clock.
    public enum Outcome: Sendable, Equatable {
        /// Served time jumped by this many seconds (first update or beyond `stepThreshold`).
        case stepped(Double)
        /// Phase and frequency follow the new fit; the values are the change of served time at the update
        /// and of frequency.
        case adjusted(phase: Double, frequency: Double)
        /// The offset was not finite, or the implied frequency beyond `maxFrequency`.
        case rejected(String)
    }

    public let configuration: DisciplineConfiguration
    public private(set) var model: ClockModel
    public private(set) var points: [Point] = []
    /// Standard error of `model.frequency` (chronyc's "skew"), dimensionless.
    public private(set) var skew: Double
    /// Standard error of the served offset at `lastUpdate`, seconds.
    public private(set) var offsetError: Double = 0
    /// RMS of the regression residuals (chronyc tracking's "RMS offset" analogue), seconds.
    public private(set) var residualRMS: Double = 0
    public private(set) var lastUpdate: LocalTime?
    public private(set) var updates = 0
    public private(set) var steps = 0
    /// The frequency known before the current points (a restored drift, or the fit when the points were
    /// last restarted) and its standard error, never taken as tighter than `priorFloor`. A Gaussian prior on
    /// the slope: negligible against good data (a PPS fit's frequency error is ~1e-9), it keeps fits of a few
    /// noisy points (two NMEA offsets 50 ms apart could claim any frequency) near what was known.
    public private(set) var prior: (frequency: Double, sigma: Double)
    static let priorFloor = 10e-6

    /// `frequency`: a restored drift (dimensionless) and its uncertainty; the clock starts from it. Without
    /// one the frequency is unknown: its error is taken as `maxFrequency` until two points measure it, so the
    /// error bound stays honest from the very first update.
    public init(configuration: DisciplineConfiguration = DisciplineConfiguration(), frequency: Double = 0, skew: Double? = nil, base: Int64 = 0) {
        self.configuration = configuration
        self.model = ClockModel(base: base, phase: 0, frequency: frequency, reference: 0)
        self.skew = skew ?? configuration.maxFrequency
        self.prior = (frequency, max(Self.priorFloor, self.skew))
    }

    /// Forgets the points but keeps phase and frequency (the latter as a prior with its standard error):
    /// done when the clock switches between sources of very different quality (a PPS and a network server),
    /// whose offsets do not belong on one line.
    public mutating func restart() {
        prior = (model.frequency, max(Self.priorFloor, skew))
        points.removeAll()
    }

    /// Offset of true time from served time predicted at `local`'s measurement: `offset` is what a source
    /// measured against the served clock at `local`; `sigma` its one-sigma error.
    public mutating func update(local: LocalTime, offset: Double, sigma: Double) -> Outcome {
        guard offset.isFinite, sigma.isFinite else { return .rejected("offset not finite") }
        let sigma = max(sigma, 1e-9)
        let raw = offset + model.correction(at: local)
        let mayStep = configuration.stepLimit < 0 || updates < configuration.stepLimit
        if updates == 0 || (mayStep && abs(offset) > configuration.stepThreshold) {
            // Step: move the whole offset into the exact integer base and forget points measured against the
            // old timescale (their raw values would now be a whole step away).
            let stepNanos = Int64((raw * 1e9).rounded())
            model = ClockModel(base: model.base &+ stepNanos, phase: 0, frequency: model.frequency, reference: local)
            points = [Point(local: local, raw: 0, sigma: sigma)]
            prior = (model.frequency, max(Self.priorFloor, skew))
            updates += 1
            steps += 1
            lastUpdate = local
            offsetError = sigma
            return .stepped(offset)
        }
        points.append(Point(local: local, raw: raw, sigma: sigma))
        if points.count > configuration.maxPoints { points.removeFirst(points.count - configuration.maxPoints) }
        guard var fit = Self.bestFit(points, minPoints: configuration.minPoints, prior: prior) else {
            // One point after a step: keep the frequency, move the phase to it.
            let before = model.correction(at: local)
            model = ClockModel(base: model.base, phase: raw, frequency: model.frequency, reference: local)
            updates += 1
            lastUpdate = local
            offsetError = sigma
            return .adjusted(phase: raw - before, frequency: 0)
        }
        // Beyond the oscillator's possible range the data are too noisy to say more: hold the frequency at
        // the limit (chrony's `maxdrift`) and keep the point, rather than stall the clock.
        fit.slope = min(configuration.maxFrequency, max(-configuration.maxFrequency, fit.slope))
        if fit.used < points.count { points.removeFirst(points.count - fit.used) }
        let before = model.correction(at: local)
        let oldFrequency = model.frequency
        model = ClockModel(base: model.base, phase: fit.value(at: local), frequency: fit.slope, reference: local)
        skew = fit.slopeError
        offsetError = fit.valueError(at: local)
        residualRMS = fit.residualRMS
        updates += 1
        lastUpdate = local
        return .adjusted(phase: model.phase - before, frequency: fit.slope - oldFrequency)
    }

    /// The discipline's part of the published bound at the last update: `boundSigmas` standard errors of
    /// the fitted offset.
    public var offsetBound: Double { configuration.boundSigmas * offsetError }

    /// How fast the bound grows after the last update, s/s: `boundSigmas` standard errors of the frequency
    /// (a short or noisy lock leaves it poorly known, and holdover shows it) plus the oscillator's own
    /// wander (`holdoverRate`). As chrony grows its root dispersion by skew and `maxclockerror` times the time
    /// since the last update, and RFC 5905 §11.2 by PHI.
    public var dispersionRate: Double { configuration.boundSigmas * skew + configuration.holdoverRate }

    /// The error bound of served time at `now` from the discipline alone: `offsetBound`, grown at
    /// `dispersionRate` since the last update (RFC 5905 §11.2: dispersion grows with time since the last
    /// update).
    public func errorBound(at now: LocalTime) -> Double {
        guard let lastUpdate else { return .infinity }
        let age = max(0, now.seconds(since: lastUpdate))
        return offsetBound + dispersionRate * age
    }

    // MARK: Regression

    struct Fit {
        var meanTime: LocalTime
        var intercept: Double
        var slope: Double
        var residualRMS: Double
        var slopeError: Double
        var interceptVariance: Double
        var used: Int

        func value(at local: LocalTime) -> Double { intercept + slope * local.seconds(since: meanTime) }
        func valueError(at local: LocalTime) -> Double {
            let dt = local.seconds(since: meanTime)
            return (interceptVariance + dt * dt * slopeError * slopeError).squareRoot()
        }
    }

    /// The longest tail of `points` whose residuals pass a runs test, trying shorter tails (×3/4) when the
    /// signs of the residuals come in too few runs: that means the line no longer fits (the frequency moved).
    static func bestFit(_ points: [Point], minPoints: Int, prior: (frequency: Double, sigma: Double)? = nil) -> Fit? {
        guard points.count >= 2 else { return nil }
        var count = points.count
        let floor = min(points.count, max(3, minPoints))
        while true {
            let tail = points[(points.count - count)...]
            guard let fit = fit(tail, prior: prior) else { return nil }
            if count <= floor || (runsAcceptable(tail, fit) && !newestDepart(tail, fit)) { return fit }
            count = max(floor, count * 3 / 4)
        }
    }

    /// Weighted least squares; with a `prior`, the slope is the precision-weighted blend of the data's slope
    /// and the prior's (a Gaussian prior on the frequency).
    static func fit(_ points: ArraySlice<Point>, prior: (frequency: Double, sigma: Double)? = nil) -> Fit? {
        guard points.count >= 2, let first = points.first else { return nil }
        // Times relative to the first point keep the sums well conditioned.
        var sw = 0.0, swt = 0.0, swy = 0.0
        for p in points {
            let w = 1 / (p.sigma * p.sigma)
            let t = p.local.seconds(since: first.local)
            sw += w
            swt += w * t
            swy += w * p.raw
        }
        let tMean = swt / sw
        let yMean = swy / sw
        var stt = 0.0, sty = 0.0
        for p in points {
            let w = 1 / (p.sigma * p.sigma)
            let dt = p.local.seconds(since: first.local) - tMean
            stt += w * dt * dt
            sty += w * dt * (p.raw - yMean)
        }
        guard stt > 0 else { return nil }
        let priorPrecision = prior.map { 1 / ($0.sigma * $0.sigma) } ?? 0
        let slope = (sty + (prior?.frequency ?? 0) * priorPrecision) / (stt + priorPrecision)
        var ssr = 0.0, sumSquares = 0.0
        for p in points {
            let w = 1 / (p.sigma * p.sigma)
            let r = p.raw - (yMean + slope * (p.local.seconds(since: first.local) - tMean))
            ssr += w * r * r
            sumSquares += r * r
        }
        let n = Double(points.count)
        // Scale the weights' nominal errors by the observed scatter when it is larger (chrony's estimate of
        // the variance from residuals); with two points there is no scatter to observe.
        let scale = points.count > 2 ? max(1, ssr / (n - 2)) : 1
        let meanTime = first.local &+ Int64((tMean * 1e9).rounded())
        return Fit(
            meanTime: meanTime, intercept: yMean, slope: slope, residualRMS: (sumSquares / n).squareRoot(),
            slopeError: (1 / (stt / scale + priorPrecision)).squareRoot(), interceptVariance: scale / sw, used: points.count)
    }

    /// The newest three points all on one side of the line, each beyond three times the residual RMS: the
    /// frequency has just changed (a temperature step). The runs test over a long window notices that only
    /// after many more points; this catches it at the third.
    static func newestDepart(_ points: ArraySlice<Point>, _ fit: Fit) -> Bool {
        guard points.count >= 8 else { return false }
        let limit = 3 * fit.residualRMS
        let residuals = points.suffix(3).map { $0.raw - fit.value(at: $0.local) }
        return residuals.allSatisfy { $0 > limit } || residuals.allSatisfy { $0 < -limit }
    }

    /// Wald–Wolfowitz runs test on residual signs: too few runs (long stretches on one side of the line)
    /// means a systematic misfit. Accept when the run count is within two standard deviations below the mean.
    static func runsAcceptable(_ points: ArraySlice<Point>, _ fit: Fit) -> Bool {
        var positive = 0, negative = 0, runs = 0
        var last: Bool?
        for p in points {
            let sign = p.raw - fit.value(at: p.local) >= 0
            if sign { positive += 1 } else { negative += 1 }
            if sign != last { runs += 1 }
            last = sign
        }
        let n = Double(positive + negative)
        guard positive > 0, negative > 0, n >= 8 else { return true }
        let mean = 2 * Double(positive) * Double(negative) / n + 1
        let variance = (mean - 1) * (mean - 2) / (n - 1)
        return Double(runs) >= mean - 2 * variance.squareRoot()
    }
}

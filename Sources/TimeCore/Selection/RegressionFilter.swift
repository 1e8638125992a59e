/// The filter for reference clocks (GPS, SHM, PPS): robust outlier rejection, then a straight-line fit evaluated
/// at the newest kept sample.
///
/// Why not RFC 5905 §10's minimum-delay pick: a reference clock has no delay to rank by; its samples differ only by
/// reading noise and the odd glitch (a late serial line, a missed or doubled pulse). chrony's `refclock` driver
/// takes a median-filtered subset of its samples and fits them; this does the same in spirit:
///
/// 1. Detrend with a Theil–Sen line (robust to the glitches) so that a clock drifting between corrections does not
///    make its own newest samples look like outliers; with fewer than 4 samples the median stands in for the line.
/// 2. Drop samples whose residual lies beyond `outlierLimit` scaled MADs of the median residual, but always keep at
///    least `minimumKeptFraction` (60 %) of them, the ones closest to the median (like chrony's `refclock`
///    filter keeping a fixed share of samples).
/// 3. With 4 or more kept samples, fit a least-squares line and take its value at the newest kept sample's time:
///    for a clock drifting linearly the fit is unbiased there, whereas a plain mean would be late by the drift over
///    half the window; its variance at the end point is about 4σ²/n, well under one sample's σ². With fewer, take
///    the newest kept sample. Jitter is the residual standard deviation (or the RMS difference to the newest)
///    of *all* the samples, the rejected ones included: rejection keeps a glitch out of the offset, but a clock
///    whose samples scatter must say so. Judged by the kept ones alone, a clock jumping within ±300 ms could
///    look steady to 30 ms (five of eight samples happening to cluster) while 270 ms off, and a node stepped
///    to it and published a bound of 0.12 s; its jitter is what its root distance, its kind's jitter limit
///    (`SourceKind.jitterLimit`) and the published bound rest on.
enum RegressionFilter {
    static func evaluate(
        _ samples: [SourceSample], outlierLimit: Double, minimumKeptFraction: Double
    ) -> FilterResult? {
        guard let newest = samples.last else { return nil }
        let count = samples.count
        let times = samples.map { $0.localTime.seconds(since: newest.localTime) }
        let offsets = samples.map(\.offset)

        // 1. Residuals about a robust trend (or the median for too few points to trust a slope).
        let residuals: [Double]
        if count >= 4 {
            let slope = RobustStatistics.theilSenSlope(x: times, y: offsets)
            let intercept = RobustStatistics.median(zip(times, offsets).map { $1 - slope * $0 })
            residuals = zip(times, offsets).map { $1 - (intercept + slope * $0) }
        } else {
            let center = RobustStatistics.median(offsets)
            residuals = offsets.map { $0 - center }
        }

        // 2. Outlier rejection by scaled MAD, keeping at least the required share.
        let center = RobustStatistics.median(residuals)
        let spread = RobustStatistics.scaledMAD(residuals, around: center)
        let threshold = max(outlierLimit * spread, 1e-9)
        let deviations = residuals.map { abs($0 - center) }
        var kept = samples.indices.filter { deviations[$0] <= threshold }
        let minimumKept = min(count, max(1, Int((Double(count) * minimumKeptFraction).rounded(.up))))
        if kept.count < minimumKept {
            // Closest to the median first; on ties prefer the newer sample.
            let closest = samples.indices.sorted { a, b in
                deviations[a] != deviations[b] ? deviations[a] < deviations[b] : a > b
            }
            kept = Array(closest.prefix(minimumKept)).sorted()
        }
        guard let newestKept = kept.last else { return nil }

        // 3. Value at the newest kept sample.
        let keptTimes = kept.map { times[$0] }
        let keptOffsets = kept.map { offsets[$0] }
        let last = samples[newestKept]
        var offset = last.offset
        var jitter = RobustStatistics.rmsDifference(offsets, to: last.offset)
        var dispersion = last.dispersion
        if kept.count >= 4, let fit = RobustStatistics.lineFit(x: keptTimes, y: keptOffsets),
            fit.value(at: times[newestKept]).isFinite
        {
            offset = fit.value(at: times[newestKept])
            // Every sample's residual, the rejected ones included, over n − 2 degrees of freedom: the same
            // as the fit's own residual deviation when nothing was rejected.
            var squares = 0.0
            for (time, value) in zip(times, offsets) {
                let residual = value - fit.value(at: time)
                squares += residual * residual
            }
            jitter = max(fit.residualDeviation, (squares / Double(max(1, count - 2))).squareRoot())
            dispersion = kept.reduce(0.0) { $0 + samples[$1].dispersion } / Double(kept.count)
        }
        return FilterResult(
            offset: offset, localTime: last.localTime, delay: last.delay, dispersion: dispersion, jitter: jitter,
            rootDelay: last.rootDelay, rootDispersion: last.rootDispersion, sampleCount: kept.count)
    }
}

/// Small, allocation-light statistics the sample filters share: medians, the median absolute deviation and a
/// least-squares line. Kept separate so the filters read as their algorithm, not as arithmetic.
///
/// Every function accepts empty or degenerate input and returns a neutral value instead of trapping; callers have
/// already rejected non-finite samples, so NaN only arises from degenerate geometry, which is checked explicitly.
enum RobustStatistics {
    /// The median (mean of the two middle values for an even count); 0 for no values.
    static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let middle = sorted.count / 2
        if sorted.count % 2 == 1 { return sorted[middle] }
        return sorted[middle - 1] / 2 + sorted[middle] / 2
    }

    /// Median absolute deviation from `center`, scaled by 1.4826 so that it estimates the standard deviation of
    /// normally distributed values while ignoring up to half of them as outliers.
    static func scaledMAD(_ values: [Double], around center: Double) -> Double {
        1.4826 * median(values.map { abs($0 - center) })
    }

    /// Theil–Sen slope: the median of the slopes between every pair of points with distinct abscissae. Robust to
    /// about 29 % of outliers, so a trend (a clock drifting between corrections) is removed before outliers are
    /// judged, without the outliers bending the trend. 0 when no pair has distinct abscissae.
    static func theilSenSlope(x: [Double], y: [Double]) -> Double {
        let count = min(x.count, y.count)
        guard count >= 2 else { return 0 }
        var slopes: [Double] = []
        slopes.reserveCapacity(count * (count - 1) / 2)
        for i in 0..<(count - 1) {
            for j in (i + 1)..<count {
                let dx = x[j] - x[i]
                guard dx != 0 else { continue }
                let slope = (y[j] - y[i]) / dx
                if slope.isFinite { slopes.append(slope) }
            }
        }
        return median(slopes)
    }

    /// An ordinary least-squares line through points (x, y).
    struct LineFit {
        var meanX: Double
        var meanY: Double
        var slope: Double
        /// Σ(x − mean x)².
        var sxx: Double
        /// Residual standard deviation with n − 2 degrees of freedom.
        var residualDeviation: Double

        func value(at x: Double) -> Double { meanY + slope * (x - meanX) }
        /// Standard error of the slope.
        var slopeError: Double { residualDeviation / sxx.squareRoot() }
    }

    /// The least-squares line through the points. `nil` when fewer than three points, all abscissae coincide,
    /// or the fit is not finite.
    static func lineFit(x: [Double], y: [Double]) -> LineFit? {
        let count = min(x.count, y.count)
        guard count >= 3 else { return nil }
        let n = Double(count)
        var meanX = 0.0
        var meanY = 0.0
        for i in 0..<count {
            meanX += x[i] / n
            meanY += y[i] / n
        }
        var sxx = 0.0
        var sxy = 0.0
        for i in 0..<count {
            let dx = x[i] - meanX
            sxx += dx * dx
            sxy += dx * (y[i] - meanY)
        }
        guard sxx > 0, sxx.isFinite, sxy.isFinite else { return nil }
        let slope = sxy / sxx
        var squares = 0.0
        for i in 0..<count {
            let residual = y[i] - (meanY + slope * (x[i] - meanX))
            squares += residual * residual
        }
        let deviation = (squares / Double(count - 2)).squareRoot()
        guard slope.isFinite, deviation.isFinite else { return nil }
        return LineFit(meanX: meanX, meanY: meanY, slope: slope, sxx: sxx, residualDeviation: deviation)
    }

    /// The least-squares line's value at `x = at` and its residual standard deviation (see `lineFit`).
    static func leastSquares(x: [Double], y: [Double], at: Double) -> (value: Double, residualDeviation: Double)? {
        guard let fit = lineFit(x: x, y: y) else { return nil }
        let value = fit.value(at: at)
        guard value.isFinite else { return nil }
        return (value, fit.residualDeviation)
    }

    /// Root mean square of `values - reference`, over `values.count - 1` degrees of freedom when `reference` is one
    /// of the values (RFC 5905 §10 peer jitter). 0 for fewer than two values.
    static func rmsDifference(_ values: [Double], to reference: Double) -> Double {
        guard values.count >= 2 else { return 0 }
        var squares = 0.0
        for value in values {
            let difference = value - reference
            squares += difference * difference
        }
        return (squares / Double(values.count - 1)).squareRoot()
    }
}

/// The intersection step of RFC 5905 §11.2.1 (Marzullo's algorithm) in chrony's form: the point covered by the
/// most correctness intervals, with intervals of `trust` sources counted first.
///
/// Each candidate's correctness interval is [offset − root distance, offset + root distance]: if the source is
/// honest, true time is inside it. Sweeping the sorted endpoints finds where the most intervals overlap; the
/// sources covering that region are the agreeing group and the others are falsetickers. Closed intervals: touching
/// endpoints overlap. chrony's refinement for `trust` ranks regions by (trusted depth, depth), so trusted sources
/// can be outvoted only by other trusted sources.
///
/// When several disjoint regions tie for the best depth, the result spans from the first to the last, as chrony
/// does ("just bad luck - we need extra sources to detect the falseticker"): the sources covering the whole span or
/// lying inside it survive, and stratum and distance decide among them.
struct CorrectnessIntersection: Equatable {
    struct Interval {
        var low: Double
        var high: Double
        var trusted: Bool
    }

    /// How many intervals cover the best region.
    var depth: Int
    /// How many trusted intervals cover it (0 when there are no trusted candidates).
    var trustedDepth: Int
    /// The agreement region: best region, spanning ties.
    var low: Double
    var high: Double
    /// The region where the most trusted intervals overlap (meaningful only when `trustedDepth > 0`).
    var trustedLow: Double
    var trustedHigh: Double

    /// `nil` for no intervals. Intervals must be finite with `low <= high` (selection checks that first).
    init?(_ intervals: [Interval]) {
        guard !intervals.isEmpty else { return nil }
        struct Endpoint {
            var value: Double
            var isLow: Bool
            var index: Int
        }
        var endpoints: [Endpoint] = []
        endpoints.reserveCapacity(intervals.count * 2)
        for (index, interval) in intervals.enumerated() {
            endpoints.append(Endpoint(value: interval.low, isLow: true, index: index))
            endpoints.append(Endpoint(value: interval.high, isLow: false, index: index))
        }
        // By value; at equal values lows first (closed intervals touch); then by index, for determinism.
        endpoints.sort { a, b in
            if a.value != b.value { return a.value < b.value }
            if a.isLow != b.isLow { return a.isLow }
            return a.index < b.index
        }

        var depth = 0
        var trusted = 0
        var best = (trusted: 0, depth: 0)
        var low = 0.0
        var high = 0.0
        var trustedLow = 0.0
        var trustedHigh = 0.0
        for endpoint in endpoints {
            let isTrusted = intervals[endpoint.index].trusted
            if endpoint.isLow {
                depth += 1
                if isTrusted { trusted += 1 }
                if trusted > best.trusted || (trusted == best.trusted && depth > best.depth) {
                    if trusted > best.trusted { trustedLow = endpoint.value }
                    best = (trusted, depth)
                    low = endpoint.value
                }
            } else {
                if trusted == best.trusted {
                    if depth == best.depth { high = endpoint.value }
                    trustedHigh = endpoint.value
                }
                if isTrusted { trusted -= 1 }
                depth -= 1
            }
        }
        self.depth = best.depth
        self.trustedDepth = best.trusted
        self.low = low
        self.high = high
        self.trustedLow = trustedLow
        self.trustedHigh = trustedHigh
    }

    /// The interval agrees with the best region: it covers it, or (when regions tied) lies inside the span.
    func agrees(_ interval: Interval) -> Bool {
        (interval.low <= low && interval.high >= high) || (interval.low >= low && interval.high <= high)
    }
}

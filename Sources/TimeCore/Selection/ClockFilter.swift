/// The RFC 5905 §10 clock filter for network sources: of the recent samples, trust the one with the least
/// distance.
///
/// Why: a network offset is exact only when the outbound and return paths are equally long; queueing makes them
/// unequal and bounds the error by half the round-trip delay. The sample with the least delay therefore has the
/// least possible error. Older samples are worth less because the local clock may have wandered since, so each
/// sample's dispersion grows at PHI (15 ppm) with its age and the sort key is the §10 distance
/// `delay / 2 + dispersion + PHI × age`.
///
/// From the sorted list: the offset, delay and root values are the first sample's; the filter dispersion is the
/// §10 weighted sum `Σ εᵢ / 2^(i+1)`, normalised by the weights present (ntpd instead counts missing stages as
/// MAXDISP, which keeps a fresh source unselectable for several polls; chrony does not penalise, nor do we);
/// the jitter is the RMS of the other samples' offset differences to the chosen one (§10 psi).
enum ClockFilter {
    /// `samples` oldest first; `now` the evaluation time; `dispersionRate` PHI in s/s. `nil` when empty.
    static func evaluate(_ samples: [SourceSample], now: LocalTime, dispersionRate: Double) -> FilterResult? {
        guard let newest = samples.last else { return nil }
        // Age against the later of `now` and the newest sample so a caller's stale `now` never yields negative ages.
        let reference = max(now, newest.localTime)
        var order = Array(samples.indices)
        let keys = samples.map { sample in
            sample.delay / 2 + sample.dispersion + dispersionRate * max(0, reference.seconds(since: sample.localTime))
        }
        // Least distance first; ties go to the newer sample (fresher), then to position, so the pick is deterministic.
        order.sort { a, b in
            if keys[a] != keys[b] { return keys[a] < keys[b] }
            if samples[a].localTime != samples[b].localTime { return samples[a].localTime > samples[b].localTime }
            return a > b
        }
        let chosen = samples[order[0]]

        // Filter dispersion at the chosen sample's time (selection ages it from there on).
        var weighted = 0.0
        var weights = 0.0
        var weight = 0.5
        for index in order {
            let sample = samples[index]
            let aged = sample.dispersion + dispersionRate * max(0, chosen.localTime.seconds(since: sample.localTime))
            weighted += aged * weight
            weights += weight
            weight /= 2
        }
        let dispersion = weights > 0 ? weighted / weights : chosen.dispersion

        let jitter = RobustStatistics.rmsDifference(samples.map(\.offset), to: chosen.offset)
        return FilterResult(
            offset: chosen.offset, localTime: chosen.localTime, delay: chosen.delay, dispersion: dispersion,
            jitter: jitter, rootDelay: chosen.rootDelay, rootDispersion: chosen.rootDispersion,
            sampleCount: samples.count)
    }
}

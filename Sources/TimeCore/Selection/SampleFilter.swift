/// One source's recent samples and what they say: the stage between a source's edge (NTP client, gpsd reader, PPS
/// reader) and selection. One per source; a value type the owner mutates in place.
///
/// Two algorithms, chosen by the kind of source:
/// - `.clockFilter` for network sources: RFC 5905 §10 (least-distance sample of the last eight, see
///   `ClockFilter`), with popcorn-spike suppression at admission: a sample whose offset lies more than
///   `spikeGate` × jitter from the current filter output is held back once, as ntpd's `clock_filter` does. If the
///   next sample is also that far off, the step is real and both are admitted; otherwise the held one is dropped.
/// - `.regression` for reference clocks: median/MAD outlier rejection then a least-squares line evaluated at the
///   newest kept sample (see `RegressionFilter`), close to chrony's `refclock` median filter.
///
/// Samples are stored as measured; the caller passes them relative to one consistent clock (the local timescale,
/// which is never stepped), so nothing here needs adjusting when the discipline corrects the served clock.
///
/// Nothing traps on odd input: non-finite values, absurd magnitudes and samples older than the newest are rejected
/// and counted; negative delays and dispersions (measurement noise around zero) are clamped to zero.
public struct SampleFilter: Sendable {
    /// Which filter algorithm to run.
    public enum Method: Hashable, Sendable {
        /// RFC 5905 §10 minimum-distance clock filter, with popcorn-spike suppression (network sources).
        case clockFilter
        /// Robust outlier rejection then a least-squares fit (reference clocks).
        case regression
    }

    /// What `add(_:)` did with a sample.
    public enum Admission: Hashable, Sendable {
        /// Stored; it counts from now on.
        case accepted
        /// A popcorn spike held back: kept aside, admitted only if the next sample confirms it.
        case heldBack
        /// Refused and counted in `rejectedCount`.
        case rejected(Rejection)
    }

    /// Why a sample was refused.
    public enum Rejection: Hashable, Sendable {
        /// A NaN or infinite offset, delay, dispersion or root value.
        case nonFinite
        /// A magnitude beyond `maximumMagnitude`: garbage, not a measurement.
        case outOfRange
        /// Older than the newest sample already held: the filters assume time order.
        case outOfOrder
    }

    /// The register length RFC 5905 §10 uses for network sources.
    public static let defaultNetworkCapacity = 8
    /// Reference clocks sample every second or so; a longer window averages their reading noise while staying
    /// short enough (16 s at 1 Hz) that the drift across it is small.
    public static let defaultReferenceClockCapacity = 16
    /// Capacities are clamped to 1...maximumCapacity (the regression's robust slope is quadratic in it).
    public static let maximumCapacity = 64
    /// Any offset, delay or dispersion beyond this many seconds (about 317 years) is garbage, not a measurement;
    /// below it even a node whose clock starts at the 1970 epoch still measures its true offset.
    public static let maximumMagnitude = 1e10

    public let method: Method
    /// How many samples are kept; the oldest falls out when a new one is admitted.
    public let capacity: Int
    /// PHI, s/s: how fast a stored sample's dispersion grows with age (RFC 5905 §10).
    public let dispersionRate: Double
    /// A sample is a popcorn spike when its offset is farther than this many jitters from the filter output
    /// (ntpd's CLOCK_SGATE is 3).
    public let spikeGate: Double
    /// Reference clocks: a sample is an outlier beyond this many scaled MADs from the median residual.
    public let outlierLimit: Double
    /// Reference clocks: the share of samples always kept, however many look like outliers.
    public let minimumKeptFraction: Double

    /// Stored samples, oldest first, as measured (for status: `chronyc sourcestats` shows their count).
    public private(set) var samples: [SourceSample] = []
    /// Samples refused by `add(_:)` since creation (not reset by `clear()`).
    public private(set) var rejectedCount = 0
    /// Popcorn spikes held back since creation (not reset by `clear()`).
    public private(set) var heldBackCount = 0
    /// The spike currently held back, if any.
    public private(set) var heldSpike: SourceSample?

    /// A filter with explicit parameters; invalid ones (NaN, negative) fall back to the defaults.
    public init(
        method: Method, capacity: Int? = nil, dispersionRate: Double = 15e-6, spikeGate: Double = 3,
        outlierLimit: Double = 3, minimumKeptFraction: Double = 0.6
    ) {
        self.method = method
        let defaultCapacity = method == .clockFilter ? Self.defaultNetworkCapacity : Self.defaultReferenceClockCapacity
        self.capacity = min(Self.maximumCapacity, max(1, capacity ?? defaultCapacity))
        self.dispersionRate = dispersionRate.isFinite && dispersionRate >= 0 ? dispersionRate : 15e-6
        self.spikeGate = spikeGate.isFinite && spikeGate > 0 ? spikeGate : 3
        self.outlierLimit = outlierLimit.isFinite && outlierLimit > 0 ? outlierLimit : 3
        self.minimumKeptFraction =
            minimumKeptFraction.isFinite && minimumKeptFraction > 0 && minimumKeptFraction <= 1
            ? minimumKeptFraction : 0.6
    }

    /// The filter a kind of source wants: `.regression` with 16 samples for reference clocks, `.clockFilter` with
    /// 8 otherwise.
    public init(kind: SourceKind, capacity: Int? = nil) {
        self.init(method: kind.isReferenceClock ? .regression : .clockFilter, capacity: capacity)
    }

    /// Offer a sample. See `Admission` for the outcomes.
    @discardableResult
    public mutating func add(_ sample: SourceSample) -> Admission {
        let values = [sample.offset, sample.delay, sample.dispersion, sample.rootDelay, sample.rootDispersion]
        guard values.allSatisfy(\.isFinite) else { return reject(.nonFinite) }
        guard values.allSatisfy({ abs($0) <= Self.maximumMagnitude }) else { return reject(.outOfRange) }
        if let newest = heldSpike?.localTime ?? samples.last?.localTime, sample.localTime < newest {
            return reject(.outOfOrder)
        }
        var clean = sample
        clean.delay = max(0, sample.delay)
        clean.dispersion = max(0, sample.dispersion)
        clean.rootDelay = max(0, sample.rootDelay)
        clean.rootDispersion = max(0, sample.rootDispersion)

        guard method == .clockFilter, samples.count >= 3,
            let current = ClockFilter.evaluate(samples, now: clean.localTime, dispersionRate: dispersionRate)
        else {
            store(clean)
            return .accepted
        }
        let threshold = spikeGate * max(current.jitter, clean.dispersion, 1e-9)
        let isSpike = abs(clean.offset - current.offset) > threshold
        if let held = heldSpike {
            // Held back once already: admit this one whatever it says; if it agrees the old output is left behind,
            // the held sample was the first of a real step and goes in too.
            heldSpike = nil
            if isSpike { store(held) }
            store(clean)
            return .accepted
        }
        if isSpike {
            heldSpike = clean
            heldBackCount += 1
            return .heldBack
        }
        store(clean)
        return .accepted
    }

    /// Forget every sample and any held spike (the source was reset or its clock stepped); counters stay.
    public mutating func clear() {
        samples.removeAll(keepingCapacity: true)
        heldSpike = nil
    }

    /// What the samples say, as selection's input; `nil` with no samples. The configured `options.offset` (cable
    /// and receiver delay) is added here, so samples are stored exactly as measured.
    ///
    /// - Parameters:
    ///   - reach: the source's `ReachabilityRegister.value`.
    ///   - now: evaluation time; network samples' dispersion is aged to it for ranking.
    /// Stratum, leap indicator and reference id are the newest sample's (the source's current state).
    public func estimate(
        id: SourceID, kind: SourceKind, options: SourceOptions = SourceOptions(), reach: UInt8, now: LocalTime
    ) -> SourceEstimate? {
        guard let newest = samples.last else { return nil }
        let result: FilterResult?
        switch method {
        case .clockFilter:
            result = ClockFilter.evaluate(samples, now: now, dispersionRate: dispersionRate)
        case .regression:
            result = RegressionFilter.evaluate(
                samples, outlierLimit: outlierLimit, minimumKeptFraction: minimumKeptFraction)
        }
        guard let result else { return nil }
        let configuredOffset = options.offset.isFinite ? options.offset : 0
        return SourceEstimate(
            id: id, kind: kind, options: options, offset: result.offset + configuredOffset,
            localTime: result.localTime, delay: result.delay, dispersion: result.dispersion, jitter: result.jitter,
            rootDelay: result.rootDelay, rootDispersion: result.rootDispersion, stratum: newest.stratum,
            leap: newest.leap, referenceID: newest.referenceID, sampleCount: result.sampleCount, reach: reach)
    }

    private mutating func store(_ sample: SourceSample) {
        samples.append(sample)
        if samples.count > capacity {
            samples.removeFirst(samples.count - capacity)
        }
    }

    private mutating func reject(_ reason: Rejection) -> Admission {
        rejectedCount += 1
        return .rejected(reason)
    }
}

import NTPCore

/// Source selection: which sources tell the truth, which one the clock follows, and what they say together.
/// RFC 5905 §11.2 as chrony implements it; pure and deterministic (inputs are processed in `SourceID` order, every
/// tie is broken by id), so a node and its tests always agree.
///
/// Steps:
/// 1. Sanity (`?`): `noselect`, unreachable (reach register 0, RFC 5905 §13), no samples, a broken estimate (NaN,
///    negative delay or dispersion), leap indicator 3 (the source is unsynchronised), stratum 16 or more
///    (RFC 5905 MAXSTRAT), root distance beyond `maxDistance`. Then jitter beyond `maxJitter`, or a reference
///    clock's beyond its kind's `SourceKind.jitterLimit` (`~`). The rest are the candidates.
/// 2. Intersection (RFC 5905 §11.2.1, see `CorrectnessIntersection`): the largest group of candidates whose
///    correctness intervals share a point must be a majority (more than half); when trusted candidates exist, the
///    group with the most trusted sources wins and the majority is counted among the trusted ones (chrony `trust`).
///    Candidates outside the group are falsetickers (`x`). Without a majority every candidate is `x`, as chrony
///    shows it. When trusted sources exist, an untrusted survivor must also have its offset inside the trusted
///    sources' common interval, so it can never pull the combined offset outside it (chrony demands the whole
///    interval inside, which turns every less precise source into `x`; the offset is what matters for that goal).
/// 3. `require` (chrony): if any source carries it, at least one required source must have survived. Then
///    `minSources`. Failing either selects nothing; the survivors are shown `-`.
/// 4. Leap second: the indicator more than half of the survivors announce (only the trusted survivors vote when
///    there are any), otherwise none (chrony).
/// 5. `prefer` (chrony): if any survivor is preferred, only preferred survivors are eligible; the others are `-`.
/// 6. Choice: the eligible source with the lowest (stratum, root distance, id). Reference clocks are stratum 0
///    and therefore beat network sources however close. `previous` (the currently selected source) is kept while
///    eligible, of the best stratum and within `reselectDistance` of the best distance (chrony `reselectdist`).
/// 7. Combining (RFC 5905 §11.2.3 with chrony's `combinelimit` in place of §11.2.2's clustering): eligible
///    survivors whose root distance is at most `combineLimit` × the selected one's are `+`, the others `-`. The
///    system offset is the 1/distance-weighted mean of `*` and `+`; the system jitter is chrony's combined
///    deviation around the selected source. When a reference clock is selected, network sources (upstreams,
///    siblings) are never combined with it: they vote in step 2, so they can catch a lying GPS, but a node
///    with a healthy reference clock serves that clock's time, not an average with its neighbours'.
public enum SourceSelection {
    /// Run selection over the sources' estimates at local time `now`. Duplicate ids: the first one in `estimates`
    /// counts, the rest are ignored (ids are unique per node by configuration).
    ///
    /// - Parameter previous: the source selected last time, for `reselectDistance` hysteresis; `nil` to choose
    ///   afresh.
    public static func select(
        _ estimates: [SourceEstimate], now: LocalTime, policy: SelectionPolicy = SelectionPolicy(),
        previous: SourceID? = nil
    ) -> SelectionResult {
        let policy = policy.sanitized
        var seen = Set<SourceID>()
        let sources = estimates.filter { seen.insert($0.id).inserted }.sorted { $0.id < $1.id }
        guard !sources.isEmpty else { return SelectionResult(verdicts: [], failure: .noSources) }

        // 1. Sanity.
        var verdicts: [SourceVerdict] = []
        verdicts.reserveCapacity(sources.count)
        var candidates: [Int] = []  // indices into `sources` / `verdicts`
        for (index, source) in sources.enumerated() {
            let distance = Self.distance(of: source, now: now, policy: policy)
            let (state, note) = Self.screen(source, distance: distance, policy: policy)
            verdicts.append(SourceVerdict(id: source.id, state: state ?? .notCombined, distance: distance, note: note))
            if state == nil { candidates.append(index) }
        }
        guard !candidates.isEmpty else {
            let unreachable = sources.filter { $0.reach == 0 }.count
            return SelectionResult(verdicts: verdicts, failure: .noSelectableSources(unreachable: unreachable))
        }

        // 2. Intersection.
        let intervals = candidates.map { index in
            CorrectnessIntersection.Interval(
                low: sources[index].offset - verdicts[index].distance,
                high: sources[index].offset + verdicts[index].distance,
                trusted: sources[index].options.trust)
        }
        guard let intersection = CorrectnessIntersection(intervals) else {
            return SelectionResult(verdicts: verdicts, failure: .noSelectableSources(unreachable: 0))
        }
        let trustedCount = intervals.filter(\.trusted).count
        let voters = trustedCount > 0 ? trustedCount : candidates.count
        let agreeing = trustedCount > 0 ? intersection.trustedDepth : intersection.depth
        guard agreeing * 2 > voters else {
            for index in candidates {
                verdicts[index].state = .falseticker
                verdicts[index].note = "no majority"
            }
            return SelectionResult(
                verdicts: verdicts,
                failure: .noMajority(agreeing: agreeing, candidates: voters, trusted: trustedCount > 0))
        }
        var survivors: [Int] = []
        for (position, index) in candidates.enumerated() {
            let interval = intervals[position]
            if !intersection.agrees(interval) {
                verdicts[index].state = .falseticker
                verdicts[index].note = "interval outside the majority's"
            } else if trustedCount > 0, !interval.trusted,
                !(sources[index].offset >= intersection.trustedLow && sources[index].offset <= intersection.trustedHigh)
            {
                verdicts[index].state = .falseticker
                verdicts[index].note = "offset outside the trusted sources' interval"
            } else {
                survivors.append(index)
            }
        }

        // 3. require, minsources.
        let anyRequired = sources.contains { $0.options.require }
        var failure: SelectionFailure?
        if anyRequired, !survivors.contains(where: { sources[$0].options.require }) {
            failure = .requiredSourceNotSelectable
        } else if survivors.count < policy.minSources {
            failure = .fewerThanMinSources(survivors: survivors.count, minSources: policy.minSources)
        }
        if let failure {
            for index in survivors {
                verdicts[index].state = .notCombined
                verdicts[index].note = failure.description
            }
            return SelectionResult(verdicts: verdicts, failure: failure)
        }

        // 4. Leap vote.
        let leapVoters = trustedCount > 0 ? survivors.filter { sources[$0].options.trust } : survivors
        let leap = Self.leapVote(leapVoters.map { sources[$0].leap })

        // 5. prefer.
        var eligible = survivors
        if survivors.contains(where: { sources[$0].options.prefer }) {
            eligible = survivors.filter { sources[$0].options.prefer }
            for index in survivors where !sources[index].options.prefer {
                verdicts[index].state = .notCombined
                verdicts[index].note = "not preferred"
            }
        }

        // 6. Choice.
        func ranks(_ a: Int, before b: Int) -> Bool {
            if sources[a].stratum != sources[b].stratum { return sources[a].stratum < sources[b].stratum }
            if verdicts[a].distance != verdicts[b].distance { return verdicts[a].distance < verdicts[b].distance }
            return sources[a].id < sources[b].id
        }
        // Not empty: minSources >= 1 was checked on the survivors, and prefer only narrows to a non-empty subset.
        guard var chosen = eligible.first else {
            return SelectionResult(verdicts: verdicts, failure: .fewerThanMinSources(survivors: 0, minSources: 1))
        }
        for index in eligible.dropFirst() where ranks(index, before: chosen) { chosen = index }
        if let previous, let kept = eligible.first(where: { sources[$0].id == previous }), kept != chosen,
            sources[kept].stratum == sources[chosen].stratum,
            verdicts[kept].distance <= verdicts[chosen].distance + policy.reselectDistance
        {
            chosen = kept
        }

        // 7. Combining.
        let selectedDistance = verdicts[chosen].distance
        var combined: [Int] = []
        let referenceSelected = sources[chosen].kind.isReferenceClock
        for index in eligible {
            if referenceSelected, !sources[index].kind.isReferenceClock {
                verdicts[index].state = .notCombined
                verdicts[index].note = "cross-check only (a reference clock is selected)"
            } else if index == chosen || verdicts[index].distance <= policy.combineLimit * selectedDistance {
                combined.append(index)
            } else {
                verdicts[index].state = .notCombined
                verdicts[index].note = "distance beyond combinelimit"
            }
        }
        let selected = sources[chosen]
        let weights = combined.map { 1 / verdicts[$0].distance }
        let totalWeight = weights.reduce(0, +)
        var offset = 0.0
        var spread = 0.0
        for (position, index) in combined.enumerated() {
            let share = weights[position] / totalWeight
            let source = sources[index]
            let difference = source.offset - selected.offset
            offset += share * source.offset
            spread += share * (source.jitter * source.jitter + difference * difference)
            verdicts[index].state = index == chosen ? .selected : .combined
            verdicts[index].weight = share
            verdicts[index].note = nil
        }
        let age = max(0, now.seconds(since: selected.localTime))
        return SelectionResult(
            verdicts: verdicts, selected: selected.id, offset: offset, rootDelay: selected.rootDelay + selected.delay,
            rootDispersion: selected.rootDispersion + selected.dispersion + policy.dispersionRate * age,
            jitter: spread.squareRoot(), stratum: selected.stratum, referenceID: selected.referenceID, leap: leap)
    }

    /// Root distance at `now`, or `.infinity` when the estimate cannot have a meaningful one: every term must be
    /// finite and non-negative (`rootDistance` clamps with `max`, which would turn a NaN into its floor).
    static func distance(of source: SourceEstimate, now: LocalTime, policy: SelectionPolicy) -> Double {
        let terms = [source.delay, source.dispersion, source.jitter, source.rootDelay, source.rootDispersion]
        guard source.offset.isFinite, terms.allSatisfy({ $0.isFinite && $0 >= 0 }) else { return .infinity }
        let distance = source.rootDistance(at: now, dispersionRate: policy.dispersionRate)
        return distance.isFinite ? distance : .infinity
    }

    /// Step 1: `?` or `~` with a note, or `nil` for a candidate.
    static func screen(
        _ source: SourceEstimate, distance: Double, policy: SelectionPolicy
    ) -> (SourceState?, String?) {
        if source.options.noselect { return (.unusable, "noselect") }
        if source.reach == 0 { return (.unusable, "unreachable") }
        if source.sampleCount < 1 { return (.unusable, "no samples") }
        if !distance.isFinite { return (.unusable, "invalid estimate") }
        if source.leap == .unsynchronized { return (.unusable, "source unsynchronised") }
        if source.stratum >= 16 { return (.unusable, "stratum \(source.stratum)") }
        if distance > policy.maxDistance { return (.unusable, "root distance beyond maxdistance") }
        if source.jitter > policy.maxJitter { return (.jittery, "jitter beyond maxjitter") }
        if let limit = source.kind.jitterLimit, source.jitter > limit {
            return (.jittery, "jitter \(DecimalText.fixed(source.jitter * 1e3, places: 1)) ms, beyond the \(DecimalText.fixed(limit * 1e3, places: 1)) ms a working \(source.kind.rawValue) clock shows")
        }
        return (nil, nil)
    }

    /// Insert or delete when more than half of the voters announce it; otherwise no warning.
    static func leapVote(_ votes: [LeapIndicator]) -> LeapIndicator {
        let inserts = votes.filter { $0 == .insertSecond }.count
        let deletes = votes.filter { $0 == .deleteSecond }.count
        if inserts * 2 > votes.count { return .insertSecond }
        if deletes * 2 > votes.count { return .deleteSecond }
        return .noWarning
    }
}

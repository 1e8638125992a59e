import NTPCore

/// The node's timekeeping core: sources' samples in, served clock and RFC 5905 system variables out.
///
/// It does no I/O and reads no clock (time is passed in), so the node and the simulation run the very same
/// code. Per source it keeps samples as *raw* offsets (true − (local + base)), so a new clock model never
/// invalidates them; every update re-expresses them against the current served clock, runs each source's
/// filter, selects (RFC 5905 §11.2), and feeds the winner's offset to the discipline.
public struct TimeKeeper: Sendable {
    struct Source: Sendable {
        var definition: SourceDefinition
        /// Newest last; offsets are raw.
        var samples: [SourceSample] = []
        var reach = ReachabilityRegister()
        var nextReachShift: LocalTime?
        var gotSampleThisPoll = false
        var accepted: UInt64 = 0
        var dropped: UInt64 = 0
        var estimate: SourceEstimate?
        var state: SourceState = .unusable
        var note: String? = "no samples yet"
        /// Why selection called the source a falseticker or too jittery to follow (for status), nil otherwise.
        var selectionNote: String?
        /// The filter's jitter is beyond the kind's `SourceKind.jitterLimit`: its samples scatter, so one far
        /// from the last is scatter more than news. Its jumps are still held and counted, but not logged one
        /// by one (health already says the clock jitters; a clock scattering by a second would log a line
        /// every few seconds).
        var scattering = false
        /// The source answered unsynchronised (leap 3) or refused: it has no time to give.
        var answeredWithoutTime = false
        /// A reference clock whose time jumped: the samples since, held apart (`ReferenceJump`).
        var jump: ReferenceJump?
        var jumpNote: String?
        var droppedJumped: UInt64 = 0
        var droppedBelowFloor: UInt64 = 0
        /// Why the newest sample was refused for naming a time below the floor; nil once one is accepted.
        var floorNote: String?
    }

    public let configuration: TimeKeeperConfiguration
    private var sources: [SourceID: Source] = [:]
    private var order: [SourceID] = []
    public private(set) var discipline: ClockDiscipline
    public private(set) var selection: SelectionResult?
    private var lastFed: LocalTime?
    private var lastFedKind: SourceKind?
    private var lastSelected: (definition: SourceDefinition, estimate: SourceEstimate, rootDelay: Double, rootDispersion: Double)?
    private var lostSince: LocalTime?
    private var announcedLeap: LeapIndicator = .noWarning
    private var firstUpdate: LocalTime?
    /// The floor no source may go below (`TimeFloor`); the node sets it at start.
    public var floor: TimeFloor?
    /// Until when (Unix seconds) the node's leap-second table is authoritative (its expiry); nil without a
    /// table. A receiver's leap second at a midnight the table covers but does not list is the receiver's
    /// error; beyond it, it may be a leap the table does not know yet.
    public var leapTableValidUntil: Int64?
    /// Whether the system clock is synchronised (adjtimex without STA_UNSYNC, read by the node each update):
    /// then it is a reference for the size of the first step (`TimeKeeperConfiguration.maxFirstStep`).
    public var systemClockSynchronized = false
    /// A first step held for an operator's confirmation (seconds), nil when none.
    public private(set) var heldFirstStep: Double?
    /// An operator confirmed the held first step or a held jump (consumed when it is taken).
    private var operatorConfirmed = false
    /// What the node must log; `drainEvents()` takes them.
    public private(set) var events: [TimeKeeperEvent] = []

    public init(configuration: TimeKeeperConfiguration = TimeKeeperConfiguration(), sources definitions: [SourceDefinition], frequency: Double = 0, skew: Double? = nil, base: Int64 = 0) {
        self.configuration = configuration
        self.discipline = ClockDiscipline(configuration: configuration.discipline, frequency: frequency, skew: skew ?? configuration.discipline.maxFrequency, base: base)
        for definition in definitions where sources[definition.id] == nil {
            sources[definition.id] = Source(definition: definition)
            order.append(definition.id)
        }
    }

    /// The served clock.
    public var model: ClockModel { discipline.model }
    /// Naive → UTC leap correction (step mode), so samples are compared with UTC and the discipline never
    /// sees a leap second (`LeapController.utc`).
    public var leap: LeapAdjustment?

    /// UTC on the node's clock at `local` (the disciplined naive time plus passed leap seconds), nanoseconds.
    /// Sources' samples are offsets from this.
    public func utc(at local: LocalTime) -> Int64 {
        let naive = discipline.model.served(at: local)
        guard let leap else { return naive }
        return naive &+ leap.correction(atNaive: UnixTime(nanosecondsSinceEpoch: naive))
    }

    /// The selected source, or in holdover the last one selected.
    public var referenceSource: SourceID? { lastSelected?.definition.id }
    public var definitions: [SourceDefinition] { order.compactMap { sources[$0]?.definition } }

    // MARK: Input

    /// Files a sample measured against the served clock (the source's configured `offset` is added by its
    /// filter).
    /// Returns false (and counts a drop) for an unknown source or a non-finite value.
    @discardableResult
    public mutating func add(_ sample: SourceSample, from id: SourceID) -> Bool {
        guard var source = sources[id] else { return false }
        defer { sources[id] = source }
        guard sample.offset.isFinite, sample.delay.isFinite, sample.dispersion.isFinite, sample.delay >= 0,
              sample.rootDelay.isFinite, sample.rootDispersion.isFinite
        else {
            source.dropped += 1
            return false
        }
        guard abs(sample.offset) <= configuration.maxOffset else {
            source.dropped += 1
            source.droppedBelowFloor += sample.offset < 0 ? 1 : 0
            source.floorNote = "offset \(UTCText.duration(sample.offset)) is beyond any era (±\(Int(configuration.maxOffset)) s): refused"
            return false
        }
        var raw = sample
        raw.offset = sample.offset + discipline.model.correction(at: sample.localTime)
        raw.dispersion = max(sample.dispersion, precisionSeconds)
        if let last = source.samples.last, last.localTime >= raw.localTime {
            source.dropped += 1
            return false
        }
        if let reason = belowFloor(sample) {
            source.dropped += 1
            source.droppedBelowFloor += 1
            if source.floorNote == nil { events.append(.belowFloor(id, reason: reason)) }
            source.floorNote = reason
            return false
        }
        source.floorNote = nil
        if source.definition.kind.isReferenceClock, duringKnownLeap(sample) {
            // The receiver's rendering of a leap second the node carries out itself (gpsd reports NMEA's
            // 23:59:60 as a second 00:00:00; others repeat 23:59:59 a second early or late): a second off
            // for that second only. Dropped quietly: no jump, no step, nothing logged.
            source.dropped += 1
            return false
        }
        if source.definition.kind == .gps || source.definition.kind == .shm, !checkJump(raw, served: sample.offset, id: id, source: &source) {
            source.dropped += 1
            source.droppedJumped += 1
            return false
        }
        source.samples.append(raw)
        let keep = max(1, source.definition.filterCapacity)
        if source.samples.count > keep { source.samples.removeFirst(source.samples.count - keep) }
        source.accepted += 1
        source.gotSampleThisPoll = true
        if !source.definition.kind.isReferenceClock { source.reach.received() }
        return true
    }

    /// True when `sample` lies within two seconds of a leap second the node knows (`leap`) and is off by
    /// that second.
    private func duringKnownLeap(_ sample: SourceSample) -> Bool {
        guard let leap, abs(abs(sample.offset) - 1) <= configuration.jumpThreshold else { return false }
        let served = UTCDate.floorDiv(utc(at: sample.localTime), 1_000_000_000)
        return leap.leaps.contains { abs(served - $0.unix) <= 2 }
    }

    /// For a jump that begins at a month's end, within three seconds of midnight, and is a second in size:
    /// the leap second the receiver made, unless the node's table lists it (`duringKnownLeap` handles those).
    private mutating func receiverLeap(_ jump: inout ReferenceJump, id: SourceID, local: LocalTime, served: Double) {
        guard abs(abs(jump.size) - 1) <= 0.1 else { return }
        let claimed = UTCDate.floorDiv(utc(at: local), 1_000_000_000) + Int64(served.rounded())
        let midnight = UTCDate.floorDiv(claimed + UTCDate.secondsPerDay / 2, UTCDate.secondsPerDay) * UTCDate.secondsPerDay
        guard abs(claimed - midnight) <= 3, UTCDate(unix: midnight).day == 1,
              !(leap?.leaps.contains { $0.unix == midnight } ?? false)
        else { return }
        let covers = leapTableValidUntil.map { $0 > midnight } ?? false
        jump.unknownLeap = !covers
        events.append(.unknownLeap(id, inserted: jump.size < 0, midnight: midnight, tableCovers: covers))
    }

    /// Why `sample` (against the served clock) names a time below the floor, nil when it does not.
    private func belowFloor(_ sample: SourceSample) -> String? {
        guard let floor else { return nil }
        let floorNanos = floor.nanoseconds(at: sample.localTime)
        // Doubles: |offset| <= maxOffset, so the sum cannot overflow and 0.1 µs resolution is plenty here.
        let claimed = Double(utc(at: sample.localTime)) * 1e-9 + sample.offset
        guard claimed < Double(floorNanos) * 1e-9 else { return nil }
        let claimedSeconds = Int64(claimed.rounded(.down))
        var reason = "time \(UTCText.iso(seconds: claimedSeconds)) is before the floor \(UTCText.iso(nanoseconds: floorNanos)) (\(floor.origin)): refused"
        // IS-GPS-200: the 10-bit week number wraps every 1024 weeks.
        let rollover: Int64 = 1024 * 604_800
        var corrected = claimedSeconds
        while corrected < floorNanos / 1_000_000_000 && corrected < Int64.max - rollover { corrected += rollover }
        if corrected - claimedSeconds <= 4 * rollover {
            reason += "; \((corrected - claimedSeconds) / rollover * 1024) weeks later would be \(UTCText.iso(seconds: corrected)): a GPS week-number rollover?"
        }
        return reason
    }

    /// Jump detection for a reference clock's sample (raw, and its offset against the served clock): true
    /// when it may be filed, false when it belongs to a held jump.
    private mutating func checkJump(_ raw: SourceSample, served: Double, id: SourceID, source: inout Source) -> Bool {
        guard let last = source.samples.last else { return source.jump == nil }
        // The source the served clock follows (selected, or held over on) is judged against the served
        // clock, which rests on its filtered time, not against its last single sample: a wildly jittering
        // clock's last sample may itself be far off, and a sample back on the served time would then be
        // taken for a jump, and the source held for good (alone, nothing can confirm or refute it).
        if referenceSource == id, let lastUpdate = discipline.lastUpdate {
            let drift = discipline.dispersionRate * max(0, raw.localTime.seconds(since: lastUpdate))
            if abs(served) <= configuration.jumpThreshold + drift {
                if let jump = source.jump {
                    if !source.scattering { events.append(.jumpReverted(id, size: jump.size)) }
                    source.jump = nil
                    source.jumpNote = nil
                }
                return true
            }
        }
        let lastServed = last.offset - discipline.model.correction(at: last.localTime)
        let elapsed = max(0, raw.localTime.seconds(since: last.localTime))
        // What the clock may have drifted since the last good sample, on top of the threshold.
        let allowance = configuration.jumpThreshold + discipline.dispersionRate * elapsed
        let capacity = max(1, source.definition.filterCapacity)
        if var jump = source.jump, let newest = jump.samples.last {
            let jumpServed = newest.offset - discipline.model.correction(at: newest.localTime)
            if abs(served - jumpServed) <= configuration.jumpThreshold {
                jump.append(raw, capacity: capacity)
                source.jump = jump
                return false
            }
            if abs(served - lastServed) <= allowance {
                if !source.scattering { events.append(.jumpReverted(id, size: jump.size)) }
                source.jump = nil
                source.jumpNote = nil
                return true
            }
            var newJump = ReferenceJump(size: served - lastServed, sample: raw, lastGoodLocal: last.localTime)
            if !source.scattering { events.append(.jumpHeld(id, size: served - lastServed)) }
            receiverLeap(&newJump, id: id, local: raw.localTime, served: served)
            source.jump = newJump
            return false
        }
        guard abs(served - lastServed) > allowance else { return true }
        var newJump = ReferenceJump(size: served - lastServed, sample: raw, lastGoodLocal: last.localTime)
        if !source.scattering { events.append(.jumpHeld(id, size: served - lastServed)) }
        receiverLeap(&newJump, id: id, local: raw.localTime, served: served)
        source.jump = newJump
        return false
    }

    /// A held jump once the other sources' estimates are known: followed when it has lasted
    /// `jumpPersistence` and more of them agree with the new time than with the old (or an operator
    /// confirmed it); otherwise the source stays out with the reason.
    private mutating func resolveJump(_ id: SourceID, estimates: [SourceEstimate]) -> Bool {
        guard var source = sources[id], let jump = source.jump, let newest = jump.samples.last else { return false }
        defer { sources[id] = source }
        let newOffset = newest.offset - discipline.model.correction(at: newest.localTime)
        let oldOffset = newOffset - jump.size
        // A PPS numbered by this source follows whatever it is told: it cannot vote on the seconds.
        let others = estimates.filter { $0.id != id && sources[$0.id]?.definition.lock != id }
        let tolerance = configuration.jumpThreshold
        let agreeNew = others.filter { abs($0.offset - newOffset) <= tolerance }.map(\.id.name)
        let agreeOld = others.filter { abs($0.offset - oldOffset) <= tolerance }.map(\.id.name)
        let persisted = jump.duration >= configuration.jumpPersistence
        if persisted && (agreeNew.count > agreeOld.count || operatorConfirmed) {
            source.samples = jump.samples
            source.jump = nil
            source.jumpNote = nil
            source.accepted += UInt64(jump.samples.count)
            // The discipline must take the new time at this update, not a poll interval later: until it
            // does, the served clock is still on the old timeline.
            lastFed = nil
            // Its held samples were received all along: reachable now, so selection takes it at once.
            source.gotSampleThisPoll = true
            events.append(.jumpFollowed(id, size: jump.size, agreedBy: agreeNew.count > agreeOld.count ? agreeNew : ["the operator"]))
            if agreeNew.count <= agreeOld.count { operatorConfirmed = false }
            return true
        }
        let decision: String
        if !agreeOld.isEmpty && agreeOld.count >= agreeNew.count {
            decision = "the majority (\(agreeOld.joined(separator: ", "))) keeps the old time: not followed"
        } else if !agreeNew.isEmpty {
            decision = "agreed by \(agreeNew.joined(separator: ", ")): followed once it has lasted \(Int(configuration.jumpPersistence)) s"
        } else if jump.unknownLeap {
            decision = "a leap second the leap-second table does not list (none, or expired): unsynchronised until an operator confirms it (fleetnode confirm-step) or another source agrees"
        } else {
            decision = "no other source to confirm it: holding over, unsynchronised after the holdover limit (an operator may confirm it: fleetnode confirm-step)"
        }
        source.jumpNote = jump.note(decision: decision)
        return false
    }

    /// An operator confirms what is held: the first step (beyond `maxFirstStep`) or a reference clock's
    /// jump. Returns what was confirmed, nil when nothing is held (then nothing changes).
    public mutating func confirmStep() -> String? {
        if let held = heldFirstStep {
            operatorConfirmed = true
            return "first step of \(UTCText.duration(held))"
        }
        if let id = order.first(where: { sources[$0]?.jump != nil }), let jump = sources[id]?.jump {
            operatorConfirmed = true
            return "jump of \(UTCText.duration(jump.size)) of \(id)"
        }
        return nil
    }

    /// The events since the last call, oldest first.
    public mutating func drainEvents() -> [TimeKeeperEvent] {
        defer { events.removeAll() }
        return events
    }

    /// A PPS edge stamped at `local`: numbered by the lock source (or by the served clock when synchronised
    /// to something else), then filed like any sample. The source's `offset` option carries the cable and
    /// receiver delay (ntpd's `fudge time2`).
    public mutating func addPulse(from id: SourceID, local: LocalTime, dispersion: Double = 0) -> PulseOutcome {
        guard let source = sources[id] else { return .unknownSource }
        // Where the served clock puts the edge, corrected by the lock source's offset if there is one.
        var correction = 0.0
        if let lockID = source.definition.lock {
            guard let lock = sources[lockID], let estimate = lock.estimate ?? lock.samples.last.map({ self.servedEstimate(of: $0, lock) })
            else {
                sources[id]?.dropped += 1
                return .unnumbered
            }
            correction = estimate.offset
        } else if !isSynchronized(at: local) || lastSelected?.definition.id == id {
            sources[id]?.dropped += 1
            return .unnumbered
        }
        let served = utc(at: local)
        // Seconds past the served clock's whole second at the edge, in [0, 1).
        let past = Double(((served % 1_000_000_000) + 1_000_000_000) % 1_000_000_000) * 1e-9
        // The lock's time at the edge is served + correction; the pulse marks its nearest whole second,
        // which must be close enough to be unambiguous.
        let onLock = past + correction
        let second = onLock.rounded()
        let fraction = onLock - second
        guard abs(fraction) <= configuration.pulseTolerance else {
            sources[id]?.dropped += 1
            return .ambiguous(fraction: fraction)
        }
        let offset = second - past
        add(SourceSample(localTime: local, offset: offset, dispersion: dispersion), from: id)
        return .accepted(offset: offset + source.definition.options.offset)
    }

    /// A network source answered authentically but unsynchronised, or its host refused (nothing listens).
    /// A sibling in that state cannot cross-check this node's reference clock, so the start-up wait for it
    /// ends (all of a site's nodes starting at once must not wait for each other).
    public mutating func heardWithoutTime(_ id: SourceID) {
        sources[id]?.answeredWithoutTime = true
    }

    /// A reference clock's connection was re-established (gpsd restarted, the receiver was reset): its time
    /// before and after need not be continuous, so its old samples and any held jump are forgotten and it
    /// starts afresh. What it then says is still checked against the floor, selection and (with other
    /// sources) the majority; a jump while it stays connected is held (`ReferenceJump`).
    public mutating func sourceRestarted(_ id: SourceID) {
        guard var source = sources[id] else { return }
        source.samples.removeAll()
        source.jump = nil
        source.jumpNote = nil
        sources[id] = source
    }

    /// A network source's edge sent a request: shift its reachability register (RFC 5905 §13).
    public mutating func polled(_ id: SourceID) {
        sources[id]?.reach.poll()
    }

    // MARK: Update

    /// Runs filters, selection and, when the selected source has news, the discipline. Call after new
    /// samples (and at least every second or so: reachability and holdover advance here).
    @discardableResult
    public mutating func update(now: LocalTime) -> ClockDiscipline.Outcome? {
        shiftRefclockRegisters(now: now)
        if firstUpdate == nil { firstUpdate = now }
        var estimates: [SourceEstimate] = []
        for id in order {
            guard var source = sources[id] else { continue }
            source.estimate = estimate(of: source, now: now)
            source.note = note(for: source, now: now)
            source.scattering = source.estimate.map { estimate in source.definition.kind.jitterLimit.map { estimate.jitter > $0 } ?? false } ?? false
            if let estimate = source.estimate, source.note == nil { estimates.append(estimate) }
            sources[id] = source
        }
        for id in order where sources[id]?.jump != nil {
            if resolveJump(id, estimates: estimates), var source = sources[id] {
                source.estimate = estimate(of: source, now: now)
                source.note = note(for: source, now: now)
                if let estimate = source.estimate, source.note == nil { estimates.append(estimate) }
                sources[id] = source
            } else if var source = sources[id] {
                source.note = heldNote(source)
                sources[id] = source
            }
        }
        if awaitingCrossCheck(estimates, now: now) {
            for index in estimates.indices where estimates[index].kind.isReferenceClock {
                sources[estimates[index].id]?.note = "waiting for a sibling to cross-check it (at most \(Int(configuration.crossCheckGrace)) s after start)"
            }
            estimates.removeAll { $0.kind.isReferenceClock }
        }
        let result = SourceSelection.select(estimates, now: now, policy: configuration.selection, previous: selection?.selected)
        selection = result
        for id in order {
            sources[id]?.state = result.states[id] ?? .unusable
            let note = selectionNote(for: id, in: result)
            sources[id]?.selectionNote = note
        }
        guard let selectedID = result.selected, let offset = result.offset, let chosen = sources[selectedID], let estimate = chosen.estimate else {
            if lostSince == nil { lostSince = now }
            return nil
        }
        lostSince = nil
        announcedLeap = result.leap
        // The published root dispersion carries the system jitter, as RFC 5905's clock_update() adds it (and
        // chrony its sources' standard deviation): a reference clock whose samples scatter widely is followed
        // through a filter whose estimate is only as good as that scatter, and clients must be told so.
        lastSelected = (chosen.definition, estimate, result.rootDelay, result.rootDispersion + result.jitter)
        // A reference clock's filter estimate overlaps its previous ones sample for sample; feeding each
        // would hand the discipline correlated points (its runs test then sees a misfit that is not there).
        // Like chrony's refclock poll, feed one estimate per poll interval: windows that do not overlap.
        // The window is the filter's whole span (16 samples at 1 Hz: 16 s) whatever the poll: with a poll of 1 s,
        // estimates a second apart share 15 of their 16 samples, the fit takes them for independent, and its
        // frequency error comes out several times larger than its standard error says (holdover showed it).
        let span = chosen.samples.count > 1
            ? chosen.samples.last!.localTime.seconds(since: chosen.samples.first!.localTime) * Double(chosen.samples.count) / Double(chosen.samples.count - 1)
            : 0
        let window = max(min(chosen.definition.poll, Double(chosen.definition.filterCapacity)), span)
        let spacing = chosen.definition.kind.isReferenceClock && discipline.points.count >= configuration.discipline.minPoints
            ? Int64(window * 1e9) - 500_000_000 : 1
        guard lastFed.map({ estimate.localTime &- $0 >= spacing }) ?? true else { return nil }
        lastFed = estimate.localTime
        if let lastFedKind, lastFedKind.isReferenceClock != chosen.definition.kind.isReferenceClock {
            discipline.restart()
        }
        lastFedKind = chosen.definition.kind
        if discipline.updates == 0 {
            if configuration.maxFirstStep > 0, abs(offset) > configuration.maxFirstStep, systemClockSynchronized, !operatorConfirmed {
                if heldFirstStep == nil { events.append(.firstStepHeld(offset: offset, limit: configuration.maxFirstStep)) }
                heldFirstStep = offset
                lastFed = nil
                return nil
            }
            if abs(offset) > configuration.maxFirstStep {
                let why = operatorConfirmed && systemClockSynchronized ? "confirmed by the operator"
                    : configuration.maxFirstStep <= 0 ? "max_first_step is off"
                    : "the system clock is not synchronised (adjtimex), so it is no reference"
                events.append(.firstStepTaken(offset: offset, reason: why))
            }
            heldFirstStep = nil
            operatorConfirmed = false
        }
        let before = discipline.model.base
        // A point's sigma is never below a third of the dispersion its samples claim (read as a 3-sigma
        // bound): a filter of two or three samples fits them exactly and reports no jitter, and the first
        // points of a lock would then claim a frequency known to a few ppm from 0.3 ms samples a second apart.
        let outcome = discipline.update(
            local: estimate.localTime, offset: offset,
            sigma: max(result.jitter, estimate.jitter, estimate.delay / 4, estimate.dispersion / 3, precisionSeconds))
        let stepped = discipline.model.base &- before
        for id in order {
            guard var source = sources[id] else { continue }
            if stepped != 0 {
                // Raw offsets are relative to local + base: keep them so.
                let delta = Double(stepped) * 1e-9
                for index in source.samples.indices { source.samples[index].offset -= delta }
                if var jump = source.jump {
                    for index in jump.samples.indices { jump.samples[index].offset -= delta }
                    source.jump = jump
                }
            }
            // Estimates against the clock as it is now, so status shows what is left to correct.
            if source.estimate != nil { source.estimate = self.estimate(of: source, now: now) }
            sources[id] = source
        }
        return outcome
    }

    /// True while reference clocks must wait for a sibling (see `TimeKeeperConfiguration.crossCheckGrace`):
    /// nothing was ever selected, the grace period since the first update has not passed, no sibling has an
    /// estimate yet, and some sibling has neither answered unsynchronised nor refused (so it may still check).
    private func awaitingCrossCheck(_ estimates: [SourceEstimate], now: LocalTime) -> Bool {
        guard configuration.crossCheckGrace > 0, lastSelected == nil, let firstUpdate,
              now.seconds(since: firstUpdate) < configuration.crossCheckGrace
        else { return false }
        let siblings = order.compactMap { sources[$0] }.filter { $0.definition.kind == .sibling }
        guard !siblings.isEmpty, !estimates.contains(where: { $0.kind == .sibling }) else { return false }
        return siblings.contains { !$0.answeredWithoutTime }
    }

    // MARK: Output

    public func isSynchronized(at now: LocalTime) -> Bool {
        guard let last = lastSelected, discipline.lastUpdate != nil else { return false }
        guard let lostSince else { return true }
        // Holding over across a leap second nobody can vouch for is a guess by a whole second.
        if sources[last.definition.id]?.jump?.unknownLeap == true { return false }
        return now.seconds(since: lostSince) <= configuration.holdoverLimit
    }

    /// Seconds in holdover at `now`, nil when a source is selected or none ever was.
    public func holdover(at now: LocalTime) -> Double? {
        guard lastSelected != nil, let lostSince else { return nil }
        return max(0, now.seconds(since: lostSince))
    }

    /// The RFC 5905 system variables to serve at `now`. `leap` overrides the sources' vote (the leap-second
    /// table decides when the node has one).
    public func serverState(at now: LocalTime, precision: Int8, leap: LeapIndicator? = nil) -> ServerState {
        guard isSynchronized(at: now), let last = lastSelected, let lastUpdate = discipline.lastUpdate else {
            return .unsynchronized(precision: precision)
        }
        let stratum: UInt8 = last.definition.kind.isReferenceClock ? 1 : min(16, last.estimate.stratum &+ 1)
        // Following a stratum-15 server would make this node 16: unsynchronised (RFC 5905 §7.3), leap 3.
        guard stratum < ServerState.unsynchronizedStratum else { return .unsynchronized(precision: precision) }
        // UTC, like the transmit timestamps clients subtract it from (after a leap second, a naive reference
        // time would make them grow the dispersion over one second less than has passed).
        let referenceTime = NTPTimestamp(UnixTime(nanosecondsSinceEpoch: utc(at: lastUpdate)))
        return ServerState(
            leap: leap ?? announcedLeap, stratum: stratum, precision: precision,
            rootDelay: last.rootDelay,
            rootDispersion: last.rootDispersion + discipline.offsetBound,
            referenceID: last.definition.referenceID, referenceTime: referenceTime,
            dispersionRate: discipline.dispersionRate)
    }

    public func tracking(at now: LocalTime, precision: Int8, leap: LeapIndicator? = nil) -> TrackingReport {
        let state = serverState(at: now, precision: precision, leap: leap)
        let age = discipline.lastUpdate.map { now.seconds(since: $0) }
        let points = discipline.points
        let interval = points.count > 1 ? points.last!.local.seconds(since: points.first!.local) / Double(points.count - 1) : 0
        let bound = errorBound(at: now)
        return TrackingReport(
            // Nothing is "selected" for clients while a first step waits for the operator.
            selected: heldFirstStep == nil ? selection?.selected : nil, referenceID: state.referenceID.rawValue, stratum: state.stratum,
            leap: state.leap.rawValue, synchronized: state.isSynchronized,
            lastOffset: selection?.selected != nil ? (selection?.offset ?? 0) : 0, rmsOffset: discipline.residualRMS,
            frequencyPPM: discipline.model.frequency * 1e6, skewPPM: discipline.skew * 1e6,
            rootDelay: state.rootDelay, rootDispersion: state.isSynchronized ? state.rootDispersion(at: state.referenceTime) + (age ?? 0) * state.dispersionRate : 0,
            lastUpdateAge: age, updateInterval: interval, holdoverSeconds: holdover(at: now),
            errorBound: bound.isFinite ? bound : nil, updates: discipline.updates, steps: discipline.steps,
            reason: heldFirstStep.map { TimeKeeperEvent.heldText($0, limit: configuration.maxFirstStep) }
                ?? (selection?.selected == nil ? unselectedReason : nil),
            floor: floor.map { $0.nanoseconds(at: now) / 1_000_000_000 }, floorOrigin: floor?.origin, heldStep: heldFirstStep)
    }

    /// Why nothing is selected: selection's reason, or when no source even reached selection, each source's note.
    private var unselectedReason: String {
        if let reason = selection?.reason, selection?.failure != .noSources {
            // Every source `?` or `~`: and why each one is (a jittering reference clock says by how much).
            if case .noSelectableSources = selection?.failure {
                let notes = order.compactMap { id in sources[id].flatMap { source in (source.note ?? source.selectionNote).map { "\(id): \($0)" } } }
                if !notes.isEmpty { return "\(reason): \(notes.joined(separator: "; "))" }
            }
            return reason
        }
        let notes = order.compactMap { id in sources[id].flatMap { source in source.note.map { "\(id): \($0)" } } }
        return notes.isEmpty ? (selection?.reason ?? "no sources") : notes.joined(separator: "; ")
    }

    /// Half the root delay plus the root dispersion at `now`: the bound on |served − true| the node
    /// publishes (RFC 5905 §11.2 root distance).
    public func errorBound(at now: LocalTime) -> Double {
        guard let last = lastSelected, discipline.lastUpdate != nil else { return .infinity }
        return last.rootDelay / 2 + last.rootDispersion + discipline.errorBound(at: now)
    }

    public func sourceReports(at now: LocalTime) -> [SourceReport] {
        order.compactMap { id in
            guard let source = sources[id] else { return nil }
            return SourceReport(
                id: id, kind: source.definition.kind, state: source.state,
                stratum: source.estimate?.stratum ?? 0, referenceID: source.estimate?.referenceID.rawValue ?? 0,
                reach: source.reach.value,
                lastSampleAge: source.samples.last.map { now.seconds(since: $0.localTime) },
                offset: source.estimate?.offset, jitter: source.estimate?.jitter,
                rootDistance: source.estimate?.rootDistance(at: now, dispersionRate: configuration.dispersionRate),
                samples: source.samples.count, accepted: source.accepted, dropped: source.dropped,
                note: source.note ?? source.selectionNote ?? source.floorNote, statistics: statistics(of: source),
                droppedJumped: source.droppedJumped, droppedBelowFloor: source.droppedBelowFloor,
                heldJump: source.jump?.size, belowFloor: source.floorNote != nil)
        }
    }

    // MARK: Internals

    private var precisionSeconds: Double { ClientExchange.precisionSeconds(configuration.precision) }

    private mutating func shiftRefclockRegisters(now: LocalTime) {
        for id in order {
            guard var source = sources[id], source.definition.kind.isReferenceClock else { continue }
            let poll = Int64(source.definition.poll * 1e9)
            guard let next = source.nextReachShift else {
                source.nextReachShift = now &+ poll
                sources[id] = source
                continue
            }
            if now >= next {
                source.reach.poll()
                if source.gotSampleThisPoll { source.reach.received() }
                source.gotSampleThisPoll = false
                source.nextReachShift = next &+ poll * max(1, (now &- next) / max(1, poll) + 1)
                sources[id] = source
            }
        }
    }

    /// The filter's estimate, from raw samples re-expressed against the current served clock.
    private func estimate(of source: Source, now: LocalTime) -> SourceEstimate? {
        var filter = SampleFilter(kind: source.definition.kind, capacity: source.definition.filterCapacity)
        for raw in source.samples {
            var sample = raw
            sample.offset = raw.offset - discipline.model.correction(at: raw.localTime)
            filter.add(sample)
        }
        // A refclock that has delivered this poll counts as reachable before its register first shifts.
        var reach = source.reach.value
        if reach == 0 && source.gotSampleThisPoll { reach = 1 }
        return filter.estimate(id: source.definition.id, kind: source.definition.kind, options: source.definition.options, reach: reach, now: now)
            .map { estimate in
                var estimate = estimate
                if source.definition.kind.isReferenceClock { estimate.referenceID = source.definition.referenceID }
                return estimate
            }
    }

    /// The source's samples against the served clock, fitted (seconds since its newest sample).
    private func statistics(of source: Source) -> SourceStatistics? {
        guard let newest = source.samples.last else { return nil }
        return SourceStatistics(
            times: source.samples.map { $0.localTime.seconds(since: newest.localTime) },
            offsets: source.samples.map { $0.offset - discipline.model.correction(at: $0.localTime) })
    }

    private func servedEstimate(of raw: SourceSample, _ source: Source) -> SourceEstimate {
        SourceEstimate(
            id: source.definition.id, kind: source.definition.kind, offset: raw.offset - discipline.model.correction(at: raw.localTime),
            localTime: raw.localTime, dispersion: raw.dispersion, jitter: 0, sampleCount: 1, reach: source.reach.value)
    }

    /// For a source too jittery to follow: how much, and what the node does instead. For a falseticker: whom
    /// it disagrees with and by how much. A reference clock outvoted by network
    /// sources (typically the node's siblings) is the GPS cross-check at work: a spoofed or jammed receiver
    /// at one antenna is outvoted by the site's other nodes, and this says so in status.
    private func selectionNote(for id: SourceID, in result: SelectionResult) -> String? {
        guard let verdict = result.verdict(for: id), let source = sources[id] else { return nil }
        if verdict.state == .jittery {
            let instead = result.selected.map { "following \($0.name) instead" }
                ?? (lastSelected != nil ? "holding over on what it said while steady" : "nothing else to follow")
            return "jittery: \(verdict.note ?? "jitter beyond maxjitter"); not used until it steadies (\(instead))"
        }
        guard verdict.state == .falseticker else { return nil }
        let majority = result.verdicts.filter { $0.state == .selected || $0.state == .combined || $0.state == .notCombined }.map(\.id)
        guard let estimate = source.estimate, let offset = result.offset, !majority.isEmpty else {
            return "falseticker: \(verdict.note ?? "outside the majority")"
        }
        let difference = (estimate.offset - offset) * 1e3
        let names = majority.map(\.name).joined(separator: ", ")
        let sign = difference >= 0 ? "+" : ""
        let what = source.definition.kind.isReferenceClock ? "reference clock disagrees with" : "disagrees with"
        let distance = (verdict.distance * 1e3).formatted3
        return "falseticker: \(what) the majority (\(names)) by \(sign)\(difference.formatted3) ms, beyond the error bounds (±\(distance) ms); not used"
    }

    /// A source with a held jump: the jump's note, and first, when its samples scatter beyond its kind's
    /// limit, that it jitters (the "jump" is then most likely scatter, and it is not followed either way).
    private func heldNote(_ source: Source) -> String {
        let held = source.jumpNote ?? "time jumped: samples held"
        guard source.scattering, let jitter = source.estimate?.jitter, let limit = source.definition.kind.jitterLimit else { return held }
        return "jittery: jitter \(DecimalText.fixed(jitter * 1e3, places: 1)) ms, beyond the \(DecimalText.fixed(limit * 1e3, places: 1)) ms a working "
            + "\(source.definition.kind.rawValue) clock shows, and samples beyond the jump threshold held; not used until it steadies (\(held))"
    }

    private func note(for source: Source, now: LocalTime) -> String? {
        if source.jump != nil { return heldNote(source) }
        guard let newest = source.samples.last else { return source.floorNote ?? "no samples yet" }
        let age = now.seconds(since: newest.localTime)
        let limit = source.definition.kind.isReferenceClock
            ? configuration.refclockStalePolls * source.definition.poll : configuration.networkStaleAfter
        if age > limit { return "no sample for \(Int(age)) s" }
        guard let estimate = source.estimate else { return "too few samples" }
        if !source.definition.kind.isReferenceClock, estimate.stratum > 1,
           configuration.ownReferenceIDs.contains(estimate.referenceID)
        {
            return "follows this node (reference id \(estimate.referenceID)): left out to avoid a timing loop"
        }
        return nil
    }
}


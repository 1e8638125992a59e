import NTPCore
import TimeCore

/// Plays a `TimescaleScenario` second by second through the node's `TimeKeeper` and records, each second,
/// what a client would be served: the RFC 5905 system variables and the served time against true time.
public struct TimescaleRunner {
    /// One second of service.
    public struct Step: Sendable {
        public var second: Int
        /// True Unix time of the measurement, nanoseconds.
        public var trueTime: Int64
        /// Served Unix time at that moment, nanoseconds (UTC, leap seconds stepped).
        public var served: Int64
        /// What a response carries.
        public var state: ServerState
        /// The keeper's published bound on |served − true|, seconds (infinite when unknown).
        public var errorBound: Double
        /// The same bound as a client computes it from a response sent at that moment: root delay / 2 plus
        /// the root dispersion grown since the reference time (RFC 5905 §11.2 root distance, without the
        /// client's own share).
        public var clientBound: Double
        public var selected: SourceID?
        public var reason: String?
        /// Served minus true, seconds.
        public var error: Double { Double(served &- trueTime) * 1e-9 }
    }

    public struct Result: Sendable {
        public var steps: [Step]
        public var sources: [SourceReport]
        public var events: [TimeKeeperEvent]
        public var tracking: TrackingReport
    }

    public let scenario: TimescaleScenario

    public init(scenario: TimescaleScenario) {
        self.scenario = scenario
    }

    public func run() -> Result {
        var definitions: [SourceDefinition] = []
        if scenario.gps != nil {
            definitions.append(SourceDefinition(id: SourceID("GPS"), kind: scenario.gpsKind, options: scenario.gpsOptions, poll: 1))
        }
        for (index, other) in scenario.others.enumerated() {
            definitions.append(SourceDefinition(
                id: SourceID(other.name), kind: other.kind, referenceID: ReferenceID(rawValue: 0xC000_0201 + UInt32(index)),
                poll: Double(scenario.otherPoll)))
        }
        let nanos: Int64 = 1_000_000_000
        let start = scenario.start &* nanos
        var noise = GaussianNoise(seed: scenario.seed)
        var oscillator = SimulatedOscillator(start: start, phase: scenario.systemClockError, frequency: 2e-6, wander: 1e-12)
        // The node starts its clock at the system clock, or at the floor when that is below it (TimeService).
        let firstLocal = oscillator.local(at: start)
        var floor: TimeFloor?
        if let f = scenario.floor { floor = TimeFloor(seconds: f.seconds, local: firstLocal, origin: f.origin) }
        var base: Int64 = 0
        if let floor, firstLocal < floor.nanoseconds(at: firstLocal) { base = floor.nanoseconds(at: firstLocal) &- firstLocal }
        var keeper = TimeKeeper(configuration: scenario.configuration, sources: definitions, base: base)
        keeper.floor = floor
        keeper.systemClockSynchronized = scenario.systemClockSynchronized
        keeper.leapTableValidUntil = scenario.leapTableValidUntil

        var leapController: LeapController?
        var leapMidnight: Int64?
        if let insertion = scenario.leapInsertion {
            let midnight = (insertion / 86_400 + 1) * 86_400
            leapMidnight = midnight
            let table = scenario.leapInTable
                ? try? LeapSecondTable(
                    entries: [.init(unix: 63_072_000, taiMinusUTC: 10), .init(unix: midnight, taiMinusUTC: 11)],
                    expires: midnight + 180 * 86_400)
                : try? LeapSecondTable(entries: [])
            leapController = table.map { LeapController(table: $0, mode: .step, since: scenario.start) }
            if scenario.leapInTable, scenario.leapTableValidUntil == nil { keeper.leapTableValidUntil = midnight + 180 * 86_400 }
        }
        // POSIX UTC at true continuous time t (after an inserted second it runs 1 s behind).
        func utc(_ t: Int64) -> Int64 {
            // The leap second itself, [M, M + 1) on the continuous scale, is a repeated 23:59:59 in POSIX time.
            guard let leapMidnight, t >= leapMidnight * nanos else { return t }
            return t - nanos
        }

        var steps: [Step] = []
        var events: [TimeKeeperEvent] = []
        for k in 0..<scenario.duration {
            let t = start &+ Int64(k) &* nanos
            oscillator.advance(to: t, noise: &noise)
            if scenario.confirmations.contains(k) { _ = keeper.confirmStep() }
            if scenario.restarts.contains(k) { keeper.sourceRestarted(SourceID("GPS")) }
            if let claim = scenario.gps?(k) {
                // gpsd's time of the second, arriving 0.1 s after it (compensated), with 0.3 ms jitter (by
                // default): within the 1 ms dispersion each sample claims (at 3 sigma).
                let received = t &+ 100_000_000 &+ Int64((noise.normal(scenario.gpsJitter) * 1e9).rounded())
                let local = oscillator.local(at: received)
                var claimed = utc(t) &+ 100_000_000 &+ Int64((claim * 1e9).rounded())
                // gpsd's rendering of 23:59:60: the leap second itself named 00:00:00.
                if scenario.gpsLeapAsNextSecond, let leapMidnight, t >= leapMidnight * nanos, t < (leapMidnight + 1) * nanos {
                    claimed &+= nanos
                }
                let offset = Double(claimed &- keeper.utc(at: local)) * 1e-9
                let leap = scenario.gpsLeap?(k) ?? .noWarning
                keeper.add(SourceSample(localTime: local, offset: offset, dispersion: scenario.gpsDispersion, leap: leap), from: SourceID("GPS"))
            }
            for (index, other) in scenario.others.enumerated() where k % scenario.otherPoll == index % scenario.otherPoll {
                let id = SourceID(other.name)
                keeper.polled(id)
                guard let claim = other.claim(k) else { continue }
                let at = t &+ 500_000_000
                let local = oscillator.local(at: at)
                let offset = Double(utc(at) &+ Int64((claim * 1e9).rounded()) &- keeper.utc(at: local)) * 1e-9 + noise.normal(100e-6)
                keeper.add(
                    SourceSample(localTime: local, offset: offset, delay: 2e-3, dispersion: 1e-6, rootDelay: 0, rootDispersion: 10e-6,
                                 stratum: 1, referenceID: ReferenceID(ascii: "GPS")),
                    from: id)
            }
            let measure = t &+ 950_000_000
            let local = oscillator.local(at: measure)
            keeper.update(now: local)
            var indicator: LeapIndicator?
            if var controller = leapController {
                indicator = controller.update(atUnix: keeper.utc(at: local) / nanos, sourceLeaps: [keeper.selection?.leap ?? .noWarning])
                keeper.leap = controller.utc
                leapController = controller
            }
            events += keeper.drainEvents()
            let state = keeper.serverState(at: local, precision: -20, leap: indicator)
            let tracking = keeper.tracking(at: local, precision: -20, leap: indicator)
            let served = keeper.utc(at: local)
            let transmit = NTPTimestamp(UnixTime(nanosecondsSinceEpoch: served))
            steps.append(Step(
                second: k, trueTime: utc(measure), served: served, state: state,
                errorBound: keeper.errorBound(at: local), clientBound: state.rootDelay / 2 + state.rootDispersion(at: transmit),
                selected: tracking.selected, reason: tracking.reason))
        }
        let endLocal = oscillator.local(at: start &+ Int64(scenario.duration) &* nanos)
        return Result(
            steps: steps, sources: keeper.sourceReports(at: endLocal), events: events,
            tracking: keeper.tracking(at: endLocal, precision: -20))
    }
}

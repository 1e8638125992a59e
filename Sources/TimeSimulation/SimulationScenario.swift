/// One simulated situation: the oscillator, the sources and what happens to them. Deterministic for a seed.
public struct SimulationScenario: Sendable {
    public struct PPS: Sendable {
        /// Constant delay of the edge after the true second (cable, receiver), seconds, and what the operator
        /// configured to compensate it.
        public var delay = 1e-6
        public var compensation = 1e-6
        /// One-sigma jitter of the edge, seconds.
        public var jitter = 200e-9
    }

    public struct NMEA: Sendable {
        /// The sentence arrives this long after the second it names (serial transmission), and the operator's
        /// compensation (chrony `offset`) is off by `compensationError`.
        public var delay = 0.3
        public var compensationError = 0.5e-3
        public var jitter = 1e-3
    }

    public struct Upstream: Sendable {
        public var name: String
        /// One-way delays, seconds; their difference is the path asymmetry.
        public var outbound = 2e-3
        public var inbound = 2e-3
        /// Mean of the exponential queueing delay added on each way.
        public var queueing = 100e-6
        /// The server's own error (a falseticker has a large one), seconds.
        public var error = 0.0
        public var poll: Double = 16
        public var stratum: UInt8 = 1

        public init(name: String, outbound: Double = 2e-3, inbound: Double = 2e-3, queueing: Double = 100e-6, error: Double = 0, poll: Double = 16, stratum: UInt8 = 1) {
            self.name = name
            self.outbound = outbound
            self.inbound = inbound
            self.queueing = queueing
            self.error = error
            self.poll = poll
            self.stratum = stratum
        }
    }

    public enum Event: Sendable {
        /// GPS (NMEA and PPS) gone from `at` for `duration` seconds.
        case gpsLost(at: Double, duration: Double)
        /// The oscillator's frequency jumps (a temperature step).
        case temperatureStep(at: Double, frequency: Double)
        /// Someone steps the system clock by `seconds`; kernel stamps taken just before are converted after.
        case systemClockStep(at: Double, seconds: Double)
    }

    public var name: String
    public var seed: UInt64 = 1
    /// Seconds simulated.
    public var duration: Double
    /// Local − true time at start (the system clock's error when the node starts), seconds.
    public var initialPhase = 0.25
    /// Oscillator frequency error and its random walk (per √s).
    public var frequency = 20e-6
    public var wander = 1e-11
    public var pps: PPS? = PPS()
    public var nmea: NMEA? = NMEA()
    public var upstreams: [Upstream] = []
    public var events: [Event] = []
    /// Seconds after start of the midnight that ends with an inserted leap second (in the node's table).
    public var leapSecondAt: Double?
    /// An error within this is "locked", seconds.
    public var lockThreshold = 1e-6

    public init(name: String, duration: Double) {
        self.name = name
        self.duration = duration
    }

    /// The PPS scenario: 20 ppm, wander, a temperature step after an hour; two hours.
    public static var pps: SimulationScenario {
        var s = SimulationScenario(name: "pps", duration: 7_200)
        s.events = [.temperatureStep(at: 3_600, frequency: 0.05e-6)]
        return s
    }

    /// Lock for half an hour, lose GPS for an hour, get it back.
    public static var holdover: SimulationScenario {
        var s = SimulationScenario(name: "holdover", duration: 6_000)
        s.events = [.gpsLost(at: 1_800, duration: 3_600)]
        return s
    }

    /// No refclock: four upstream servers, one of them 50 ms wrong.
    public static var falseticker: SimulationScenario {
        var s = SimulationScenario(name: "falseticker", duration: 3_600)
        s.pps = nil
        s.nmea = nil
        s.lockThreshold = 1e-3
        s.upstreams = [
            Upstream(name: "a", outbound: 2e-3, inbound: 2.2e-3),
            Upstream(name: "b", outbound: 5e-3, inbound: 4.6e-3),
            Upstream(name: "c", outbound: 1e-3, inbound: 1e-3),
            Upstream(name: "liar", outbound: 3e-3, inbound: 3e-3, error: 0.05),
        ]
        return s
    }

    /// GPS lost for an hour with two upstream servers to fall back on.
    public static var fallback: SimulationScenario {
        var s = SimulationScenario(name: "fallback", duration: 6_000)
        s.upstreams = [Upstream(name: "a", outbound: 2e-3, inbound: 2.4e-3), Upstream(name: "b", outbound: 4e-3, inbound: 3.7e-3)]
        s.events = [.gpsLost(at: 1_800, duration: 3_600)]
        return s
    }

    /// The system clock is stepped by +1 s underneath a locked node.
    public static var systemStep: SimulationScenario {
        var s = SimulationScenario(name: "system-step", duration: 1_800)
        s.events = [.systemClockStep(at: 900.0004, seconds: 1)]
        return s
    }

    /// An inserted leap second an hour after start, from the node's table: announced during the last day,
    /// 23:59:59 served twice, nothing else moving.
    public static var leapSecond: SimulationScenario {
        var s = SimulationScenario(name: "leap-second", duration: 7_300)
        s.leapSecondAt = 3_600
        s.upstreams = [Upstream(name: "a", outbound: 2e-3, inbound: 2.2e-3)]
        return s
    }

    public static var all: [SimulationScenario] { [.pps, .holdover, .falseticker, .fallback, .systemStep, .leapSecond] }
}

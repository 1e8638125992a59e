import NTPCore
import TimeCore

/// A scripted timescale situation for the node's `TimeKeeper`: where the node's clock starts, what the GPS
/// and the other sources claim second by second (jumps, week-number rollovers, late leap seconds), the
/// floor, whether the system clock is synchronised, and when an operator confirms. `TimescaleRunner` plays
/// it and records what clients are served at every second.
public struct TimescaleScenario: Sendable {
    /// A source's claim at second k (seconds since start): its time minus true time, seconds; nil: no sample.
    public typealias Claim = @Sendable (Int) -> Double?

    public struct Other: Sendable {
        public var name: String
        /// `.ntp` (an upstream server) or `.sibling` (another node of the site: the start-up cross-check
        /// waits for one).
        public var kind: SourceKind
        public var claim: Claim
        public init(name: String, kind: SourceKind = .ntp, claim: @escaping Claim) {
            self.name = name
            self.kind = kind
            self.claim = claim
        }
    }

    public var name: String
    /// True Unix seconds at second 0.
    public var start: Int64
    public var duration: Int
    /// The system clock (and so the node's local timescale) minus true time at start, seconds.
    public var systemClockError: Double = 0
    public var systemClockSynchronized = false
    /// Unix seconds of the floor at start, and its origin.
    public var floor: (seconds: Int64, origin: String)?
    /// The GPS receiver's claim (gpsd TPV, NMEA quality); nil: no GPS.
    public var gps: Claim?
    public var gpsOptions = SourceOptions()
    /// The reference clock's kind: `.gps` (gpsd's TPV) or `.shm` (an NTP shared-memory segment, as chrony's
    /// `refclock SHM`); both are jump-checked, and each has its own jitter limit.
    public var gpsKind: SourceKind = .gps
    /// One-sigma reading noise of each sample on top of its claim (gpsd-grade NMEA: 0.3 ms), and the
    /// dispersion each sample claims (gpsd: 1 ms; an SHM segment: its precision, 1 µs).
    public var gpsJitter = 0.3e-3
    public var gpsDispersion = 1e-3
    /// The leap indicator the GPS reports at second k (e.g. SHM leap bits), when it reports one.
    public var gpsLeap: (@Sendable (Int) -> LeapIndicator)?
    /// Network sources (upstream servers or siblings), polled every `otherPoll` seconds.
    public var others: [Other] = []
    public var otherPoll = 4
    /// The GPS's connection is re-established at these seconds (gpsd restarted).
    public var restarts: [Int] = []
    /// The operator confirms (SIGUSR1) at these seconds.
    public var confirmations: [Int] = []
    /// True UTC inserts a leap second at the end of the UTC day containing this Unix second.
    public var leapInsertion: Int64?
    /// The node's leap table knows it (otherwise only the sources' leap bits can announce it).
    public var leapInTable = true
    /// Until when the node's leap table is authoritative (Unix seconds); nil: no table that covers anything.
    /// With `leapInsertion` and `leapInTable`, the table built expires 180 days after the leap.
    public var leapTableValidUntil: Int64?
    /// The receiver reports the leap second as gpsd 3.22 does with NMEA's 23:59:60: as 00:00:00, which is
    /// then repeated (instead of POSIX's repeated 23:59:59).
    public var gpsLeapAsNextSecond = false
    public var configuration = TimeKeeperConfiguration()
    /// The noise generator's seed (oscillator wander, sample jitter).
    public var seed: UInt64 = 7

    public init(name: String, start: Int64, duration: Int) {
        self.name = name
        self.start = start
        self.duration = duration
        configuration.crossCheckGrace = 0
        configuration.holdoverLimit = 600
    }
}

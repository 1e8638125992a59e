/// What kind of thing a source is. Selection treats reference clocks (stratum 0 behind them, no network
/// delay) and network sources alike; the kind decides the filter defaults, the reference id and the stratum
/// the node serves when the source is selected (RFC 5905 §7.3: 1 for a refclock, upstream + 1 otherwise).
public enum SourceKind: String, Hashable, Sendable, Codable, CaseIterable {
    /// gpsd time (TPV/TOFF): serial NMEA time, millisecond quality, numbers the seconds of a PPS.
    case gps
    /// gpsd's NTP shared memory segment (chrony's `refclock SHM`).
    case shm
    /// A pulse per second (Linux PPS API, or simulated); needs a locked coarse source to number seconds.
    case pps
    /// An upstream NTP server in client mode.
    case ntp
    /// An upstream NTS-protected NTP server.
    case nts
    /// A sibling node of the same site (peering issue).
    case sibling

    public var isReferenceClock: Bool {
        switch self {
        case .gps, .shm, .pps: true
        case .ntp, .nts, .sibling: false
        }
    }

    /// The most jitter (the filter's residual standard deviation, seconds) a reference clock of this kind
    /// shows when it works; beyond it, selection calls the source `~` and does not follow it, and health
    /// says so. A PPS edge is good to microseconds; an SHM segment carries gpsd's PPS (microseconds) or its
    /// serial NMEA time (a few milliseconds to a few tens of them), so beyond 50 ms it is wrong for either.
    /// gpsd's TPV time is serial time, coarse by nature (it numbers PPS seconds): no limit of its own, only
    /// `SelectionPolicy.maxJitter` (chrony's, 1 s), and its jitter is carried in the published bound.
    /// Network sources: none (their jitter is the path's, and selection weighs it through root distance).
    ///
    /// Why reject rather than only widen the bound: chrony's refclock `maxdispersion` drops filtered samples
    /// whose dispersion (which its filter takes as at least their standard deviation) is too large, and its
    /// `maxjitter` drops sources; a stratum-1 node following a PPS that scatters by 100 ms would serve a
    /// far worse time than holding over on what it learned while the clock was good.
    public var jitterLimit: Double? {
        switch self {
        case .pps: 0.001
        case .shm: 0.050
        case .gps, .ntp, .nts, .sibling: nil
        }
    }
}

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
}

import NTPCore

/// gpsd's fix mode (TPV `mode`).
public enum GPSFixMode: Int, Sendable, Hashable, CustomStringConvertible {
    /// No TPV mode seen yet.
    case notSeen = 0
    /// The receiver reports no fix; its time may still be usable, but is weaker.
    case noFix = 1
    case twoD = 2
    case threeD = 3

    /// Unknown raw values map to `.notSeen` rather than trapping.
    public init(gpsdMode: Int) {
        self = GPSFixMode(rawValue: gpsdMode) ?? .notSeen
    }

    public var description: String {
        switch self {
        case .notSeen: "not seen"
        case .noFix: "no fix"
        case .twoD: "2D"
        case .threeD: "3D"
        }
    }
}

/// One time report from gpsd (a TPV that carried a time), stamped with the system clock.
///
/// `time` has the receiver's serial-message quality (milliseconds at best, typically tens of milliseconds
/// late relative to the true second for NMEA): the TOFF/PPS reports and the SHM segments are the precise paths.
public struct GPSTime: Sendable, Hashable {
    /// The fix time from the receiver, as UTC (TPV `time`, libgps `fix.time`).
    public var time: UnixTime
    /// CLOCK_REALTIME read as soon as `gps_read` returned the report.
    public var received: UnixTime
    public var mode: GPSFixMode
    /// gpsd's fix status (`STATUS_*`: 0 none, 1 GPS, 2 DGPS, ...).
    public var status: Int
    /// GPS-UTC in seconds (18 since 2017) when gpsd reports it; `nil` when unknown.
    public var leapSeconds: Int?
    /// gpsd's expected time uncertainty (`ept`), seconds, when reported.
    public var timeUncertainty: Double?
    /// The device the report came from (TPV `device`), when reported.
    public var device: String?

    public init(
        time: UnixTime, received: UnixTime, mode: GPSFixMode, status: Int = 0, leapSeconds: Int? = nil,
        timeUncertainty: Double? = nil, device: String? = nil
    ) {
        self.time = time
        self.received = received
        self.mode = mode
        self.status = status
        self.leapSeconds = leapSeconds
        self.timeUncertainty = timeUncertainty
        self.device = device
    }

    /// `received - time` in nanoseconds: how far the system clock was ahead of the report's time when it
    /// arrived (transport and processing delay included).
    public var receiveDelayNanoseconds: Int64 { received.nanoseconds(since: time) }
}

/// What gpsd said about itself (its VERSION report).
public struct GPSDServerInfo: Sendable, Hashable, CustomStringConvertible {
    public var release: String
    public var protocolMajor: Int
    public var protocolMinor: Int

    public init(release: String, protocolMajor: Int, protocolMinor: Int) {
        self.release = release
        self.protocolMajor = protocolMajor
        self.protocolMinor = protocolMinor
    }

    public var description: String { "gpsd \(release) (protocol \(protocolMajor).\(protocolMinor))" }
}

/// A device gpsd reads (from DEVICES/DEVICE reports).
public struct GPSDDevice: Sendable, Hashable {
    public var path: String
    public var driver: String

    public init(path: String, driver: String) {
        self.path = path
        self.driver = driver
    }
}

/// What a `GPSDClient` reports, in the order gpsd sent it.
public enum GPSDEvent: Sendable, Hashable {
    /// A connection to gpsd delivered its first report. `server` is gpsd's VERSION when that came first
    /// (it always does with a real gpsd).
    case connected(server: GPSDServerInfo?)
    /// A connection that had been announced with `.connected` ended; the client reconnects with backoff.
    case disconnected(reason: String)
    /// A device gpsd reads (the first of a DEVICES list, or a DEVICE report).
    case device(GPSDDevice)
    /// A TPV with a time.
    case time(GPSTime)
    /// A TPV without a time (typically the receiver has neither fix nor time yet).
    case fixWithoutTime(mode: GPSFixMode, received: UnixTime)
    /// A TOFF report: the receiver's time of a second (`reference`) and the system time at which gpsd saw the
    /// serial message for it (`system`). Needs `watchPPS` and a device gpsd serves time from (not a pty).
    case toff(reference: UnixTime, system: UnixTime)
    /// A PPS report: the second a pulse marks (`reference`) and the system time of the pulse (`system`).
    case pps(reference: UnixTime, system: UnixTime)
    /// Satellites used in the solution and in view (a SKY report).
    case sky(used: Int, visible: Int)
    /// gpsd reported an ERROR (for example an unknown command).
    case gpsdError(String)
}

import NTPCore

/// Which gpsd reports become reference samples, as the node uses them: TPV time (the NMEA second,
/// millisecond quality), TOFF (the same second stamped by gpsd at the serial read: better) and gpsd's PPS
/// reports (microsecond quality). The best kind seen on a connection is the only one used, so one source
/// never mixes qualities; a lost connection starts over. No samples without a 2D/3D fix: a receiver
/// without a fix reports its RTC. Pure: events in, samples out.
public struct GPSDSampleSelector: Sendable {
    /// A reference observation: the receiver's time of an instant and the system clock's reading of it.
    public struct Sample: Sendable, Hashable {
        public var reference: UnixTime
        public var system: UnixTime
        /// Seconds: 1 ms for TPV and TOFF, 1 µs for PPS.
        public var dispersion: Double

        public init(reference: UnixTime, system: UnixTime, dispersion: Double) {
            self.reference = reference
            self.system = system
            self.dispersion = dispersion
        }
    }

    enum Quality: Int, Sendable { case tpv, toff, pps }

    private var best = Quality.tpv
    /// The fix mode of the last TPV.
    public private(set) var mode = GPSFixMode.notSeen

    public init() {}

    /// The sample `event` gives, if it is to be used.
    public mutating func sample(for event: GPSDEvent) -> Sample? {
        let fixed = mode.rawValue >= GPSFixMode.twoD.rawValue
        switch event {
        case .disconnected:
            best = .tpv
        case .time(let time):
            mode = time.mode
            if best == .tpv, time.mode.rawValue >= GPSFixMode.twoD.rawValue {
                return Sample(reference: time.time, system: time.received, dispersion: 1e-3)
            }
        case .fixWithoutTime(let fixMode, _):
            mode = fixMode
        case .toff(let reference, let system):
            if best.rawValue <= Quality.toff.rawValue, fixed {
                best = .toff
                return Sample(reference: reference, system: system, dispersion: 1e-3)
            }
        case .pps(let reference, let system):
            if fixed {
                best = .pps
                return Sample(reference: reference, system: system, dispersion: 1e-6)
            }
        case .connected, .device, .sky, .gpsdError:
            break
        }
        return nil
    }
}

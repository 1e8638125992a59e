/// What the node tells its clients at this moment: the RFC 5905 §11.2 system variables that a server copies
/// into every response (leap, stratum, precision, root delay and dispersion, reference id and time).
///
/// The node's discipline (or its `local stratum` setting) publishes a new value whenever something changes;
/// the packet path only reads it. Root dispersion grows from `referenceTime` at `dispersionRate` (RFC 5905
/// PHI, 15 ppm) so that an answer given long after the last update still carries an honest error bound.
public struct ServerState: Hashable, Sendable {
    /// RFC 5905 §7.3: stratum 16 means unsynchronised; it is sent as 0 on the wire.
    public static let unsynchronizedStratum: UInt8 = 16
    /// RFC 5905 §11.2: the frequency tolerance PHI, 15 ppm.
    public static let defaultDispersionRate = 15e-6

    public var leap: LeapIndicator
    public var stratum: UInt8
    public var precision: Int8
    /// Seconds.
    public var rootDelay: Double
    /// Seconds, valid at `referenceTime`.
    public var rootDispersion: Double
    public var referenceID: ReferenceID
    public var referenceTime: NTPTimestamp
    public var dispersionRate: Double
    /// True when the state comes from a `local stratum` setting rather than a real time source.
    public var isLocal: Bool

    public init(
        leap: LeapIndicator,
        stratum: UInt8,
        precision: Int8,
        rootDelay: Double,
        rootDispersion: Double,
        referenceID: ReferenceID,
        referenceTime: NTPTimestamp,
        dispersionRate: Double = ServerState.defaultDispersionRate,
        isLocal: Bool = false
    ) {
        self.leap = leap
        self.stratum = stratum
        self.precision = precision
        self.rootDelay = rootDelay
        self.rootDispersion = rootDispersion
        self.referenceID = referenceID
        self.referenceTime = referenceTime
        self.dispersionRate = dispersionRate
        self.isLocal = isLocal
    }

    /// A node with no usable time source: leap 3 and stratum 16 (RFC 5905 §7.3), reference id zero.
    public static func unsynchronized(precision: Int8) -> ServerState {
        ServerState(
            leap: .unsynchronized, stratum: unsynchronizedStratum, precision: precision,
            rootDelay: 0, rootDispersion: 0, referenceID: ReferenceID(rawValue: 0), referenceTime: .zero)
    }

    /// Like chrony's `local stratum N`: serve the node's own clock as if synchronised at `stratum`, with
    /// reference id "LOCL" (as ntpd's local clock driver did) so clients and status show where time comes from.
    public static func local(stratum: UInt8, precision: Int8, referenceTime: NTPTimestamp) -> ServerState {
        ServerState(
            leap: .noWarning, stratum: stratum, precision: precision,
            rootDelay: 0, rootDispersion: 0, referenceID: .locl, referenceTime: referenceTime, isLocal: true)
    }

    public var isSynchronized: Bool {
        leap != .unsynchronized && stratum >= 1 && stratum < ServerState.unsynchronizedStratum
    }

    /// The root dispersion to report at `time`: the published value plus growth since the reference time.
    public func rootDispersion(at time: NTPTimestamp) -> Double {
        let age = (time - referenceTime).seconds
        return age > 0 ? rootDispersion + dispersionRate * age : rootDispersion
    }
}

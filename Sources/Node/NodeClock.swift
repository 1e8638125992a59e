import NTPCore

/// The clock the node serves. The protocol core never reads a clock: the I/O edge asks this for the time and
/// passes it in. Two drivers are planned: the software clock (now) and a system clock driver that steers the
/// kernel with adjtimex (with clock discipline, used only where configured and permitted).
public protocol NodeClock: Sendable {
    /// The served time now.
    func now() -> UnixTime
    /// The served time corresponding to a CLOCK_REALTIME reading, such as a kernel receive timestamp.
    func served(fromSystem time: UnixTime) -> UnixTime
    /// log2 of the clock's reading resolution in seconds (RFC 5905 precision).
    var precision: Int8 { get }
    /// A short name for status ("software").
    var driverName: String { get }
    /// The correction applied on top of the system clock: offset in seconds and frequency in ppm.
    var correction: ClockCorrection { get }
}

/// A phase and frequency correction relative to the system clock.
public struct ClockCorrection: Sendable, Equatable {
    /// Seconds added to the system clock at `referenceMonotonic`.
    public var offset: Double
    /// Parts per million added from then on.
    public var frequencyPPM: Double
    /// CLOCK_MONOTONIC nanoseconds at which `offset` was exact.
    public var referenceMonotonic: UInt64

    public init(offset: Double = 0, frequencyPPM: Double = 0, referenceMonotonic: UInt64 = 0) {
        self.offset = offset
        self.frequencyPPM = frequencyPPM
        self.referenceMonotonic = referenceMonotonic
    }

    /// The correction in nanoseconds at monotonic time `monotonic`.
    public func nanoseconds(at monotonic: UInt64) -> Int64 {
        let elapsed = Double(Int64(bitPattern: monotonic &- referenceMonotonic)) / 1e9
        return Int64((offset + frequencyPPM * 1e-6 * elapsed) * 1e9)
    }
}

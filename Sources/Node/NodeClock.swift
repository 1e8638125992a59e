import NTPCore
import TimeCore

/// The clock the node serves. The protocol core never reads a clock: the I/O edge asks this for the time and
/// passes it in. The software clock is the default driver; a system clock driver that steers the kernel with
/// adjtimex is used only where configured and permitted.
public protocol NodeClock: Sendable {
    /// The served time now.
    func now() -> UnixTime
    /// The served time corresponding to a CLOCK_REALTIME reading, such as a kernel receive timestamp.
    func served(fromSystem time: UnixTime) -> UnixTime
    /// `served(fromSystem:)` for a whole batch of packets: clocks and model read once, not per packet.
    func systemConversion() -> SystemTimeConversion
    /// log2 of the clock's reading resolution in seconds (RFC 5905 precision).
    var precision: Int8 { get }
    /// A short name for status ("software").
    var driverName: String { get }
    /// How served time differs from the system clock right now.
    var correction: ClockCorrection { get }
}

/// Served time relative to the system clock, for status.
public struct ClockCorrection: Sendable, Equatable {
    /// Served time minus CLOCK_REALTIME now, seconds.
    public var offset: Double
    /// Rate of served time relative to the local oscillator, ppm.
    public var frequencyPPM: Double

    public init(offset: Double = 0, frequencyPPM: Double = 0) {
        self.offset = offset
        self.frequencyPPM = frequencyPPM
    }
}

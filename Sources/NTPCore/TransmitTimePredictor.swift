/// When a reply of a batch will actually leave, learned from the kernel's transmit timestamps, so the
/// basic-mode transmit timestamp (T3, RFC 5905 §8: the time the packet leaves) is written for that moment
/// rather than for the moment it was written: the whole batch leaves in one sendmmsg after every reply has
/// been written, and the kernel sends the replies one after the other.
///
/// The model, for a reply at `position` in the send call, with `sealsAfter` authenticated replies (MAC or
/// NTS, whose transmit timestamp must be written before they are sealed) still to be written after it:
///
///     leaves ≈ (clock reading) + lead + position · spacing + sealsAfter · sealing
///
/// `lead` is the time from the reading to the first datagram's kernel timestamp (the system call's entry and
/// the network stack), `spacing` the kernel's time per datagram within one call, `sealing` the time to seal
/// one authenticated reply. The three are fitted to the stamps that come back (least squares per set of
/// stamps) and followed by steps of at most ``maximumStepNanoseconds`` a set, so a stall (the thread
/// preempted between its clock reading and the send) moves them by little, and kept within
/// 0...``maximumNanoseconds``. Sans-I/O: the caller reads the clocks and the error queue.
public struct TransmitTimePredictor: Sendable, Equatable {
    /// No term is believed beyond a millisecond (a longer stall is not a property of the send path).
    public static let maximumNanoseconds = 1_000_000.0
    /// Weight of a new set of stamps in the smoothed terms.
    public static let smoothing = 0.125
    /// The largest change of a term per set of stamps (a robust, median-like follower rather than a mean).
    public static let maximumStepNanoseconds = 250.0

    public private(set) var leadNanoseconds = 0.0
    public private(set) var spacingNanoseconds = 0.0
    public private(set) var sealingNanoseconds = 0.0

    private var count = 0.0
    private var sumPosition = 0.0
    private var sumDelay = 0.0
    private var sumPositionSquared = 0.0
    private var sumPositionDelay = 0.0

    public init() {}

    /// Time per reply to stamp the plain replies after the last clock reading (they all wait for it).
    public private(set) var stampingNanoseconds = 0.0

    /// How long after a clock reading the reply at `position` of the send call is expected to leave, with
    /// `sealsAfter` authenticated replies still to seal and `stamps` plain replies to stamp before the call.
    public func delay(position: Int, sealsAfter: Int = 0, stamps: Int = 0) -> NTPDuration {
        NTPDuration(nanoseconds: Int64(
            leadNanoseconds + Double(position) * spacingNanoseconds + Double(sealsAfter) * sealingNanoseconds
                + Double(stamps) * stampingNanoseconds))
    }

    /// `stamps` plain replies were stamped in `duration` (clock readings before and after the pass).
    public mutating func observeStamping(_ stamps: Int, took duration: NTPDuration) {
        guard stamps > 0 else { return }
        let each = Self.clamp(Double(duration.nanoseconds) / Double(stamps))
        stampingNanoseconds += Self.step(each - stampingNanoseconds)
    }

    /// One kernel timestamp: the reply at `position` left `delay` after the clock reading taken just before
    /// the send call. Collected until ``learn()``.
    public mutating func observe(position: Int, delay: NTPDuration) {
        let nanoseconds = Double(delay.nanoseconds)
        guard nanoseconds > -Self.maximumNanoseconds, nanoseconds < Self.maximumNanoseconds * 10 else { return }
        let x = Double(position)
        count += 1
        sumPosition += x
        sumDelay += nanoseconds
        sumPositionSquared += x * x
        sumPositionDelay += x * nanoseconds
    }

    /// Fits lead and spacing to the stamps observed since the last call, and smooths them in.
    public mutating func learn() {
        defer { count = 0; sumPosition = 0; sumDelay = 0; sumPositionSquared = 0; sumPositionDelay = 0 }
        guard count > 0 else { return }
        let variance = count * sumPositionSquared - sumPosition * sumPosition
        var spacing = spacingNanoseconds
        if count >= 2, variance > 0 {
            spacing = Self.clamp((count * sumPositionDelay - sumPosition * sumDelay) / variance)
            spacingNanoseconds += Self.step(spacing - spacingNanoseconds)
        }
        let lead = Self.clamp((sumDelay - spacingNanoseconds * sumPosition) / count)
        leadNanoseconds += Self.step(lead - leadNanoseconds)
    }

    /// `seals` authenticated replies were written in `duration` (clock readings around them).
    public mutating func observeSealing(_ seals: Int, took duration: NTPDuration) {
        guard seals > 0 else { return }
        let each = Self.clamp(Double(duration.nanoseconds) / Double(seals))
        sealingNanoseconds += Self.step(each - sealingNanoseconds)
    }

    private static func clamp(_ value: Double) -> Double { min(max(value, 0), maximumNanoseconds) }

    private static func step(_ difference: Double) -> Double {
        min(max(smoothing * difference, -maximumStepNanoseconds), maximumStepNanoseconds)
    }
}

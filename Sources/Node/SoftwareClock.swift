import CFleetShim
import NTPCore
import Synchronization

/// The default clock driver: the system clock plus the node's own correction. It runs unprivileged and never
/// touches the kernel clock, so a node (and every test) can discipline and serve time without stepping or
/// slewing the machine's clock.
public final class SoftwareClock: NodeClock {
    private let state: Mutex<ClockCorrection>
    public let precision: Int8
    public var driverName: String { "software" }

    public init(correction: ClockCorrection = ClockCorrection()) {
        self.state = Mutex(correction)
        self.precision = Self.measurePrecision()
    }

    public var correction: ClockCorrection { state.withLock { $0 } }

    /// Sets a new correction (the discipline does this; nothing else changes served time).
    public func apply(_ correction: ClockCorrection) {
        state.withLock { $0 = correction }
    }

    public func now() -> UnixTime {
        served(fromSystem: Self.systemNow())
    }

    public func served(fromSystem time: UnixTime) -> UnixTime {
        let correction = state.withLock { $0 }
        if correction.offset == 0 && correction.frequencyPPM == 0 { return time }
        return time.adding(nanoseconds: correction.nanoseconds(at: cfs_monotonic_ns()))
    }

    /// CLOCK_REALTIME.
    public static func systemNow() -> UnixTime {
        var seconds: Int64 = 0
        var nanoseconds: Int32 = 0
        cfs_clock_realtime(&seconds, &nanoseconds)
        return UnixTime(seconds: seconds, nanoseconds: UInt32(nanoseconds))
    }

    /// Like chrony: the smallest non-zero step seen between consecutive readings of the clock, as a power of
    /// two (RFC 5905 §7.3 precision). Reading is cheap, so a few thousand samples take well under a millisecond.
    static func measurePrecision() -> Int8 {
        var smallest = Int64.max
        var previous = systemNow()
        for _ in 0..<5_000 {
            let next = systemNow()
            let step = next.nanoseconds(since: previous)
            if step > 0 && step < smallest { smallest = step }
            previous = next
        }
        if smallest == Int64.max { smallest = 1 }
        var exponent: Int8 = 0
        var value = 1e9
        let seconds = Double(smallest)
        // 2^exponent seconds >= smallest step, found by halving from one second.
        while value / 2 >= seconds && exponent > -30 {
            value /= 2
            exponent -= 1
        }
        return exponent
    }
}

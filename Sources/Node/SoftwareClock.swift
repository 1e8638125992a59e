import CFleetShim
import NTPCore
import NIOConcurrencyHelpers
import TimeCore

/// The default clock driver: served time is a function of the node's own local timescale, which the
/// discipline steers. It runs unprivileged and never touches the kernel clock, so a node (and every test) can
/// discipline and serve time without stepping or slewing the machine's clock.
///
/// The local timescale is CLOCK_MONOTONIC_RAW plus the CLOCK_REALTIME−CLOCK_MONOTONIC_RAW difference taken
/// once at start: it reads like Unix time but is never stepped and never slewed (not by us with the system
/// clock driver, nor by another daemon steering the kernel), so the discipline sees the bare oscillator and
/// someone stepping the system clock underneath moves neither served time nor samples. Kernel timestamps
/// (CLOCK_REALTIME) are mapped onto it through the current difference of the two clocks.
public final class SoftwareClock: NodeClock {
    struct State {
        var model: ClockModel
        /// Naive → UTC (step) and naive → served (step or smear) leap corrections (`LeapController`).
        var utcLeap: LeapAdjustment?
        var servedLeap: LeapAdjustment?
    }

    private let state: NIOLockedValueBox<State>
    /// CLOCK_REALTIME − CLOCK_MONOTONIC_RAW at start, nanoseconds (see `init`).
    private let epoch: Int64
    public let precision: Int8
    public let driverName: String

    /// `driverName`: "software", or "system" when the system clock driver also steers the kernel to it.
    public init(model: ClockModel = ClockModel(), driverName: String = "software") {
        self.driverName = driverName
        // Bracketed, the tightest of 5 tries (`realtimeMinusRaw`): read once unbracketed, a preemption between
        // the two readings made the node's served time early by its length for the node's whole life (a
        // `[local]` node has no source to correct it; a test saw receive timestamps 12 µs before the client's T1).
        self.epoch = Self.realtimeMinusRaw(tries: 5)
        self.state = NIOLockedValueBox(State(model: model))
        self.precision = Self.measurePrecision()
    }

    public var model: ClockModel { state.withLockedValue { $0.model } }

    /// Sets a new model (the discipline does this; nothing else changes served time).
    public func apply(_ model: ClockModel) {
        state.withLockedValue { $0.model = model }
    }

    /// Sets the leap corrections (the leap plan does this when a leap is scheduled).
    public func setLeap(utc: LeapAdjustment?, served: LeapAdjustment?) {
        state.withLockedValue {
            $0.utcLeap = utc
            $0.servedLeap = served
        }
    }

    /// CLOCK_REALTIME − CLOCK_MONOTONIC_RAW now, nanoseconds: a realtime reading bracketed by two raw
    /// readings, as at their midpoint; of up to `tries` tries the tightest, stopping early at a bracket under
    /// `goodEnough` ns (a few vDSO reads take well under a microsecond when nothing preempts them).
    static func realtimeMinusRaw(tries: Int, goodEnough: Int64 = 0) -> Int64 {
        bracketedDifference(
            tries: tries, goodEnough: goodEnough, raw: { Int64(bitPattern: cfs_monotonic_raw_ns()) },
            real: { systemNow().nanosecondsSinceEpoch })
    }

    /// `realtimeMinusRaw` with the two clocks passed in (a test slows one reading down).
    @inline(__always)
    static func bracketedDifference(tries: Int, goodEnough: Int64, raw: () -> Int64, real: () -> Int64) -> Int64 {
        var best: (gap: Int64, difference: Int64)?
        for _ in 0..<max(1, tries) {
            let before = raw()
            let real = real()
            let after = raw()
            let gap = after &- before
            let difference = real &- (before &+ gap / 2)
            if best == nil || gap < best!.gap { best = (gap, difference) }
            if gap <= goodEnough { break }
        }
        return best!.difference
    }

    /// The local timescale now.
    public func localNow() -> LocalTime {
        Int64(bitPattern: cfs_monotonic_raw_ns()) &+ epoch
    }

    /// Local time minus CLOCK_REALTIME now: it changes only when the system clock is stepped or slewed.
    /// Bracketed like the epoch: read unbracketed, a preemption between the two
    /// readings shifted every kernel timestamp mapped through it (a receive batch's) by its length.
    private func systemToLocal() -> Int64 {
        epoch &- Self.realtimeMinusRaw(tries: 3, goodEnough: 2_000)
    }

    /// A CLOCK_REALTIME reading (a kernel timestamp, gpsd's receive time) on the local timescale.
    public func local(fromSystem time: UnixTime) -> LocalTime {
        time.nanosecondsSinceEpoch &+ systemToLocal()
    }

    /// Served time at a local time: what clients get (leap seconds stepped or smeared).
    public func served(atLocal local: LocalTime) -> UnixTime {
        // Computed under the lock, reading the state in place: copying it out would retain the leap arrays.
        state.withLockedValue { Self.time(at: local, model: $0.model, leap: $0.servedLeap) }
    }

    /// UTC at a local time (leap seconds stepped): what the node's own measurements of sources compare with.
    public func utc(atLocal local: LocalTime) -> UnixTime {
        state.withLockedValue { Self.time(at: local, model: $0.model, leap: $0.utcLeap) }
    }

    /// The disciplined time at `local` with a leap correction on top.
    static func time(at local: LocalTime, model: ClockModel, leap: LeapAdjustment?) -> UnixTime {
        let naive = UnixTime(nanosecondsSinceEpoch: model.served(at: local))
        guard let leap, !leap.leaps.isEmpty else { return naive }
        return naive.adding(nanoseconds: leap.correction(atNaive: naive))
    }

    public func now() -> UnixTime {
        served(atLocal: localNow())
    }

    public func served(fromSystem time: UnixTime) -> UnixTime {
        served(atLocal: local(fromSystem: time))
    }

    public func systemConversion() -> SystemTimeConversion {
        let offset = systemToLocal()
        return state.withLockedValue { SystemTimeConversion(systemToLocal: offset, model: $0.model, leap: $0.servedLeap) }
    }

    /// Served time minus CLOCK_REALTIME, both at one instant: the system clock's reading mapped onto the
    /// local timescale through a bracketed difference, so that a preemption between two clock reads cannot
    /// show up as an offset (status reads this to say how far served time is from the system clock, and tests
    /// take it for the served time's error).
    public var correction: ClockCorrection {
        let real = Self.systemNow()
        let served = served(fromSystem: real)
        return ClockCorrection(offset: Double(served.nanoseconds(since: real)) * 1e-9, frequencyPPM: model.frequency * 1e6)
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

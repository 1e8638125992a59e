/// How served time follows from the local timescale: `served(L) = L + base + phase + frequency·(L − reference)`.
///
/// The whole-nanosecond `base` carries large steps (a Raspberry Pi may boot years off before its first fix)
/// exactly, so the Double terms only ever hold small corrections and keep sub-nanosecond resolution.
public struct ClockModel: Sendable, Equatable, Codable {
    /// Nanoseconds added to local time (steps).
    public var base: Int64
    /// Seconds added at `reference`, on top of `base`.
    public var phase: Double
    /// Dimensionless rate added from `reference` on (1e-6 = 1 ppm; positive: served time runs faster).
    public var frequency: Double
    public var reference: LocalTime

    public init(base: Int64 = 0, phase: Double = 0, frequency: Double = 0, reference: LocalTime = 0) {
        self.base = base
        self.phase = phase
        self.frequency = frequency
        self.reference = reference
    }

    /// The small correction in seconds at `local` (without `base`).
    @inlinable public func correction(at local: LocalTime) -> Double {
        phase + frequency * local.seconds(since: reference)
    }

    /// Served time in nanoseconds at local time `local`.
    @inlinable public func served(at local: LocalTime) -> Int64 {
        local &+ base &+ Self.roundedToInt64(correction(at: local) * 1e9)
    }

    /// `Int64(value.rounded())` (half away from zero), without the libm `round` call that `rounded()` is on
    /// baseline x86-64 (no SSE4.1 `roundsd`): `served(at:)` runs a few times per answer on the packet path.
    /// Bit-identical: the truncation is exact, and so is the fraction left (Sterbenz for |value| >= 1, the
    /// value itself below; zero from 2^52 on, where every Double is an integer). Traps where `Int64(_:)`
    /// does (NaN, out of range), as before. ClockModelTests compares the two.
    @inlinable public static func roundedToInt64(_ value: Double) -> Int64 {
        let truncated = Int64(value)
        let fraction = value - Double(truncated)
        if fraction >= 0.5 { return truncated &+ 1 }
        if fraction <= -0.5 { return truncated &- 1 }
        return truncated
    }

    /// The same served time, re-expressed with `reference` moved to `local` (keeps the Double terms small).
    public func rebased(at local: LocalTime) -> ClockModel {
        ClockModel(base: base, phase: correction(at: local), frequency: frequency, reference: local)
    }
}

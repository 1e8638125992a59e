/// The node's local timescale: nanoseconds of a clock that is never stepped (CLOCK_MONOTONIC plus a fixed
/// epoch chosen at start, so it reads like Unix time). Every sample is stamped on it and the discipline models
/// true time as a function of it; a step of the system clock underneath therefore moves nothing.
///
/// Plain Int64 nanoseconds keeps arithmetic exact: a Double holding Unix seconds resolves only ~0.2 µs.
public typealias LocalTime = Int64

extension Int64 {
    /// Seconds from `earlier` to `self`, both `LocalTime`.
    @inlinable public func seconds(since earlier: Int64) -> Double {
        Double(self &- earlier) * 1e-9
    }
}

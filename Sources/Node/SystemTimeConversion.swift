import NTPCore
import TimeCore

/// The software clock's mapping from CLOCK_REALTIME to served time, frozen for one batch of received packets
/// (microseconds): the receive loop converts every kernel timestamp of the batch without reading a clock or
/// taking the clock's lock per packet.
public struct SystemTimeConversion: Sendable {
    let systemToLocal: Int64
    let model: ClockModel
    let leap: LeapAdjustment?

    public func served(fromSystem time: UnixTime) -> UnixTime {
        SoftwareClock.time(at: time.nanosecondsSinceEpoch &+ systemToLocal, model: model, leap: leap)
    }
}

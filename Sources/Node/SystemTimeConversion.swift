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

    /// The served time now by this mapping: one CLOCK_REALTIME reading, no lock. For the send path of the
    /// batch the mapping was frozen for (a few milliseconds at most, over which the model does not move):
    /// `NodeClock.now()` takes the clock's lock and reads two clocks, about 200 instructions a call, once per
    /// reply when each reply is stamped just before its own send call.
    public func now() -> UnixTime {
        served(fromSystem: SoftwareClock.systemNow())
    }
}

import CRefclock
import NTPCore
import Refclock
import TimeCore

/// One libFuzzer input: what gpsd sends the node, one JSON report per line, taken the node's way: libgps's
/// `gps_unpack` into one `gps_data_t` per connection and the client's decoding (`GPSDLineDecoder`, the code
/// `GPSDClient` runs after `gps_read`), the node's choice of samples (`GPSDSampleSelector`) and its sample
/// arithmetic into a `TimeKeeper` (`TimeService.addReferenceSample`: reference minus the node's UTC at the
/// system time of the observation). An empty line stands for a reconnect (a new session). Lines arrive
/// one second apart from 2026-12-02.
///
/// Checks: nothing traps; a line is refused only when longer than libgps takes; a malformed line yields no
/// event; TOFF and PPS seconds are resolved within 2^31 s of their pivots; samples come only with a 2D/3D
/// fix, at one of the two dispersions; the clock model stays finite whatever the times.
public func fuzzGPSDJSON(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: count)
    guard var decoder = GPSDLineDecoder() else { return 0 }
    var selector = GPSDSampleSelector()
    let gps = SourceID("GPS")
    var keeper = TimeKeeper(sources: [SourceDefinition(id: gps, kind: .gps, poll: 1)])
    let start: Int64 = 1_796_212_800
    for (index, line) in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
        let received = UnixTime(seconds: start + Int64(index), nanoseconds: 250_000_000)
        if line.isEmpty {
            guard let fresh = GPSDLineDecoder() else { return 0 }
            decoder = fresh
            _ = selector.sample(for: .disconnected(reason: "fuzz"))
            continue
        }
        let pivot = decoder.reports.lastFixTime
        guard let report = decoder.decode(line: line, received: received) else {
            precondition(line.count > Int(CRF_GPS_LINE_MAX), "a line libgps takes was refused")
            continue
        }
        precondition(report.received == received, "the receive time changed")
        if report.malformed { precondition(report.events.isEmpty, "events from a malformed line") }
        for event in report.events {
            switch event {
            case .toff(let reference, let system), .pps(let reference, let system):
                precondition((reference.seconds &- (pivot ?? received.seconds)).magnitude <= 1 << 31, "receiver seconds outside their era")
                precondition((system.seconds &- received.seconds).magnitude <= 1 << 31, "system seconds outside their era")
            case .time(let time):
                precondition(time.received == received && time.time.seconds > 0, "a TPV time before 1970 or restamped")
            default:
                break
            }
            guard let sample = selector.sample(for: event) else { continue }
            precondition(selector.mode.rawValue >= GPSFixMode.twoD.rawValue, "a sample without a fix")
            precondition(sample.dispersion == 1e-3 || sample.dispersion == 1e-6, "a dispersion that is not the report kind's")
            // addReferenceSample, with the system clock as the local timescale.
            let local: LocalTime = sample.system.nanosecondsSinceEpoch
            let offset = Double(sample.reference.nanosecondsSinceEpoch &- keeper.utc(at: local)) * 1e-9
            _ = keeper.add(SourceSample(localTime: local, offset: offset, dispersion: sample.dispersion), from: gps)
        }
        keeper.update(now: received.nanosecondsSinceEpoch)
        precondition(keeper.model.phase.isFinite && keeper.model.frequency.isFinite, "clock model not finite")
    }
    return 0
}

import NTPCore
import TimeCore

/// One libFuzzer input as a receiver's life: a stream of reports, each a random date (any Int64 second,
/// often near the node's time, a 1024-week rollover, 1970, 2036, 2038, 2106, or absurd), written as an NMEA
/// ZDA sentence, possibly corrupted by the input's bytes, read back as gpsd would, and filed as a GPS sample
/// (the node's `addReferenceSample` arithmetic) into a `TimeKeeper` with a floor, an upstream and random
/// operator confirmations. Nothing may trap; every report is accepted or counted as dropped; a clock that
/// was ever synchronised never serves below the floor; every served time survives the NTP wire format with
/// the floor as era pivot.
public func fuzzGPS(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: count))
    var index = 0
    func next8() -> UInt8 {
        defer { index += 1 }
        return index < bytes.count ? bytes[index] : 0
    }
    func next64() -> UInt64 { (0..<8).reduce(UInt64(0)) { value, _ in value << 8 | UInt64(next8()) } }

    let gps = SourceID("GPS"), server = SourceID("server")
    var configuration = TimeKeeperConfiguration()
    configuration.crossCheckGrace = 0
    configuration.jumpPersistence = Double(next8() % 20)
    configuration.maxFirstStep = Double(next8()) * 10
    var keeper = TimeKeeper(configuration: configuration, sources: [
        SourceDefinition(id: gps, kind: .gps, poll: 1),
        SourceDefinition(id: server, kind: .ntp),
    ])
    let floorSeconds: Int64 = 1_790_000_000
    var now: LocalTime = Int64(next8()) * 1_000_000_000_000_000 / 4   // the node's local clock: 1970 to 2148
    keeper.floor = TimeFloor(seconds: floorSeconds, local: now, origin: "fuzz")
    keeper.systemClockSynchronized = next8() & 1 == 1
    let anchors: [Int64] = [floorSeconds, floorSeconds - 619_315_200, 0, 2_085_978_496, 1 << 31, 4_294_967_296, -1]
    var filed = 0
    var everSynchronized = false
    while index < bytes.count {
        let kind = next8()
        now &+= Int64(next8()) * 10_000_000
        switch kind % 8 {
        case 0..<5:
            // A report: a date near an anchor (or anywhere), as NMEA, maybe corrupted, read back.
            let anchor = anchors[Int(kind >> 3) % anchors.count]
            let raw = Int64(bitPattern: next64())
            // Any date a ZDA sentence can carry (years well beyond ±500,000; calendar arithmetic stays in Int64).
            let seconds = anchor == -1 ? raw % (1 << 44) : anchor &+ raw % 200_000
            var sentence = Array(NMEADateText.zda(unixSeconds: seconds).utf8)
            if kind & 0x80 != 0, !sentence.isEmpty {
                sentence[Int(next8()) % sentence.count] = next8()
            }
            guard let parsed = NMEADateText.parseZDA(sentence) else { continue }
            if kind & 0x80 == 0, seconds.magnitude < 1 << 40 { precondition(parsed == seconds, "ZDA round trip: \(seconds) read back as \(parsed)") }
            // addReferenceSample: reference minus the node's UTC at the receive time, in wrapping Int64 ns.
            let reference = UnixTime(seconds: parsed, nanoseconds: 0)
            let offset = Double(reference.nanosecondsSinceEpoch &- keeper.utc(at: now)) * 1e-9
            let before = keeper.sourceReports(at: now).first { $0.id == gps }
            keeper.add(SourceSample(localTime: now, offset: offset, dispersion: 1e-3), from: gps)
            let after = keeper.sourceReports(at: now).first { $0.id == gps }
            let delta = (after?.accepted ?? 0) + (after?.dropped ?? 0) - (before?.accepted ?? 0) - (before?.dropped ?? 0)
            // A followed jump moves held samples to accepted: never less than one per report.
            precondition(delta >= 1, "a report was neither accepted nor counted as dropped")
            filed += 1
        case 5:
            keeper.add(SourceSample(localTime: now, offset: Double(Int8(bitPattern: next8())) * 0.01, delay: 0.002, dispersion: 1e-6), from: server)
        case 6:
            _ = keeper.confirmStep()
        default:
            break
        }
        keeper.update(now: now)
        _ = keeper.drainEvents()
        let state = keeper.serverState(at: now, precision: -20)
        if state.isSynchronized { everSynchronized = true }
        let served = keeper.utc(at: now)
        if everSynchronized, state.isSynchronized {
            precondition(served >= keeper.floor!.nanoseconds(at: now) - 1_000_000_000, "served below the floor while synchronised")
            let time = UnixTime(nanosecondsSinceEpoch: served)
            if abs(served / 1_000_000_000 - floorSeconds) < (1 << 31) - 10 {
                precondition(NTPTimestamp(time).unixTime(near: UnixTime(seconds: floorSeconds, nanoseconds: 0)) == time, "era lost on the wire")
            }
        }
        precondition(keeper.model.phase.isFinite && keeper.model.frequency.isFinite, "clock model not finite")
    }
    _ = filed
    return 0
}

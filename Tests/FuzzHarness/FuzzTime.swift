import NTPCore
import TimeCore

/// One libFuzzer input, used three ways:
/// - as a leap-seconds.list and as a TZif file: parsing never traps, and a parsed list encodes and parses back
///   to the same table;
/// - as a stream of source samples and pulses for a `TimeKeeper` with a GPS, a PPS locked to it and an
///   upstream server: whatever arrives (NaN, huge offsets, time going backwards), nothing traps, the clock
///   model stays finite with its frequency within the limit, and the served state is sane.
public func fuzzTime(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: count))
    let hash: ([UInt8]) -> [UInt8] = { input in Array(input.prefix(20)) + [UInt8](repeating: 0, count: max(0, 20 - input.count)) }
    if let table = try? LeapSecondsListParser.parse(bytes, sha1: hash) {
        if let text = try? LeapSecondsListEncoder.encode(table, sha1: hash) {
            let again = try? LeapSecondsListParser.parse(Array(text.utf8), sha1: hash)
            precondition(again?.entries == table.entries, "leap-seconds.list round trip changed the table")
        }
    }
    _ = try? TZifLeapParser.parse(bytes)

    let gps = SourceID("GPS"), pps = SourceID("PPS"), server = SourceID("server")
    var keeper = TimeKeeper(sources: [
        SourceDefinition(id: gps, kind: .gps, options: SourceOptions(noselect: true)),
        SourceDefinition(id: pps, kind: .pps, lock: gps),
        SourceDefinition(id: server, kind: .ntp),
    ])
    var now: LocalTime = 1_790_000_000_000_000_000
    var index = 0
    func next64() -> UInt64 {
        var value: UInt64 = 0
        for _ in 0..<8 {
            value = value << 8 | UInt64(index < bytes.count ? bytes[index] : 0)
            index += 1
        }
        return value
    }
    while index + 9 <= bytes.count {
        let kind = bytes[index] % 4
        index += 1
        let word = next64()
        now &+= Int64(word % 2_000_000_000) - 200_000_000  // mostly forward, sometimes back
        let offset = Double(bitPattern: word)
        switch kind {
        case 0: keeper.add(SourceSample(localTime: now, offset: offset, dispersion: 1e-3), from: gps)
        case 1: _ = keeper.addPulse(from: pps, local: now &+ Int64(word & 0xFFFF))
        case 2:
            keeper.polled(server)
            keeper.add(SourceSample(localTime: now, offset: offset, delay: abs(offset) / 3, dispersion: 1e-6, stratum: UInt8(word & 0x1F)), from: server)
        default: break
        }
        keeper.update(now: now)
        let model = keeper.model
        precondition(model.phase.isFinite && model.frequency.isFinite, "clock model not finite")
        precondition(abs(model.frequency) <= DisciplineConfiguration().maxFrequency, "frequency beyond the limit")
        let state = keeper.serverState(at: now, precision: -20)
        precondition(state.rootDelay >= 0 && state.rootDispersion >= 0 && !state.rootDispersion.isNaN, "negative or NaN root distance")
        precondition(state.isSynchronized || state.leap == .unsynchronized, "unsynchronised without leap 3")
    }
    return 0
}

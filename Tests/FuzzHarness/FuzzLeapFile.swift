import FleetCrypto
import NTPCore
import TimeCore

/// One libFuzzer input: the node's `[clock] leap_file`, any bytes, read as the node reads it
/// (`LeapSecondFile.parse`: TZif when it starts with "TZif", else leap-seconds.list with its SHA-1 checked
/// by the real digest), and once more as leap-seconds.list with whatever hash it declares accepted, so the
/// table rules behind the hash are reached. Checks: nothing traps; failures are typed
/// (`LeapSecondFile.Error`, `LeapSecondsListError`); a table holds increasing entries one second apart and an
/// expiry after the last; it encodes to a list that the node's reader takes back to the same table; the
/// leap controller the node builds from it (step and smear) answers for times around every leap.
public func fuzzLeapFile(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: count))
    var tables: [LeapSecondTable] = []
    if case .success(let table) = Result(catching: { () throws(LeapSecondFile.Error) in try LeapSecondFile.parse(bytes, sha1: Digest.sha1.hash) }) {
        tables.append(table)
    }
    if case .success(let contents) = Result(catching: { () throws(LeapSecondsListError) in try LeapSecondsListParser.parseContents(bytes) }) {
        tables.append(contents.table)
    }
    for table in tables {
        for (previous, entry) in zip(table.entries, table.entries.dropFirst()) {
            precondition(entry.unix > previous.unix && abs(entry.taiMinusUTC - previous.taiMinusUTC) == 1, "entries not increasing by one second")
        }
        if let expires = table.expires, let last = table.entries.last { precondition(expires > last.unix, "expiry not after the last entry") }
        if let text = try? LeapSecondsListEncoder.encode(table, sha1: Digest.sha1.hash) {
            let again = try? LeapSecondFile.parse(Array(text.utf8), sha1: Digest.sha1.hash)
            precondition(again?.entries == table.entries && again?.expires == table.expires, "encoding and reading changed the table")
        }
        let start = table.entries.first?.unix ?? 0
        for mode in [LeapMode.step, .smear(duration: 86_401)] {
            var controller = LeapController(table: table, mode: mode, since: start)
            for leap in table.leaps.prefix(8) {
                for delta: Int64 in [-86_400, -1, 0, 1, 43_200] {
                    _ = controller.update(atUnix: leap.unix &+ delta, sourceLeaps: [.insertSecond, .noWarning])
                    let naive = UnixTime(seconds: leap.unix &+ delta, nanoseconds: 500_000_000)
                    _ = controller.served.servedTime(atNaive: naive)
                    precondition(controller.utc.correction(atNaive: naive).magnitude <= UInt64(table.entries.count + 100) * 1_000_000_000, "a correction beyond the table's leaps")
                    _ = controller.nextLeap(after: leap.unix &+ delta)
                }
            }
        }
    }
    return 0
}

/// Why a leap-seconds.list file was rejected. Line numbers count from 1.
public enum LeapSecondsListError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A data line is not `NTPSECONDS TAI-UTC [# comment]` (two unsigned decimal numbers), or a `#$`/`#@`
    /// line does not hold exactly one.
    case malformedLine(line: Int, reason: String)
    /// A second `#$` (last update) line.
    case duplicateLastUpdate(line: Int)
    /// A second `#@` (expiry) line.
    case duplicateExpiry(line: Int)
    /// A second `#h` (hash) line.
    case duplicateHash(line: Int)
    /// No `#@` line: without an expiry nobody can tell when the list stops being complete.
    case missingExpiry
    /// No data lines.
    case noEntries
    /// A data line is not later than the one before it.
    case notIncreasing(line: Int)
    /// A data line changes TAI−UTC by other than ±1 s.
    case notOneSecond(line: Int, from: Int, to: Int)
    /// A data line after the first is not at 00:00:00 UTC (leap seconds end a UTC day).
    case notAtMidnight(line: Int)
    /// The expiry (on `line`) is not after the last data line.
    case expiryNotAfterLastEntry(line: Int)
    /// No `#h` line, so the file's integrity cannot be checked.
    case missingHash
    /// The `#h` line is not five words of one to eight hex digits.
    case malformedHash(line: Int, reason: String)
    /// SHA-1 over the file's numbers is not what its `#h` line says: the file was damaged or edited.
    case hashMismatch(declared: [UInt8], computed: [UInt8])

    public var description: String {
        switch self {
        case .malformedLine(let line, let reason): "leap-seconds.list line \(line): \(reason)"
        case .duplicateLastUpdate(let line): "leap-seconds.list line \(line): a second '#$' (last update) line"
        case .duplicateExpiry(let line): "leap-seconds.list line \(line): a second '#@' (expiry) line"
        case .duplicateHash(let line): "leap-seconds.list line \(line): a second '#h' (hash) line"
        case .missingExpiry: "leap-seconds.list has no '#@' (expiry) line"
        case .noEntries: "leap-seconds.list has no data lines"
        case .notIncreasing(let line): "leap-seconds.list line \(line): not later than the line before"
        case .notOneSecond(let line, let from, let to):
            "leap-seconds.list line \(line): TAI-UTC goes from \(from) s to \(to) s; a leap second changes it by 1 s"
        case .notAtMidnight(let line): "leap-seconds.list line \(line): the time is not 00:00:00 UTC"
        case .expiryNotAfterLastEntry(let line):
            "leap-seconds.list line \(line): the expiry is not after the last data line"
        case .missingHash: "leap-seconds.list has no '#h' (hash) line"
        case .malformedHash(let line, let reason): "leap-seconds.list line \(line): bad hash: \(reason)"
        case .hashMismatch(let declared, let computed):
            "leap-seconds.list hash mismatch: the file says \(Self.hex(declared)), its contents hash to "
                + "\(Self.hex(computed)); the file is damaged or was edited"
        }
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for (index, byte) in bytes.enumerated() {
            if index > 0 && index % 4 == 0 { text.append(UInt8(ascii: " ")) }
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}

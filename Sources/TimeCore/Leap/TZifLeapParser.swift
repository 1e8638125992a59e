/// Reads the leap-second records of a tz database TZif file, normally `right/UTC` (tzfile(5); RFC 8536 and
/// its successor RFC 9636), as a `LeapSecondTable`.
///
/// Leap records are (occurrence, correction) pairs. In a "right/" file the occurrence is a time_t that counts
/// the leap seconds before it ("right" time), and the correction is the total number of leap seconds in
/// effect from then on. zic writes a positive leap on day D as the POSIX time of the following midnight
/// (the leap line's 23:59:60) plus the previous correction, and a negative one as that midnight's 23:59:59
/// plus the previous correction, so with `prev` the correction before the record:
///
///     positive (corr = prev + 1):  POSIX midnight = occurrence − prev
///     negative (corr = prev − 1):  POSIX midnight = occurrence − prev + 1
///
/// e.g. 1 Jan 1973 is stored as 94 694 401 with correction 2. TAI − UTC is 10 + correction (it was 10 s
/// when whole-second leaps began on 1 Jan 1972, the table's base entry).
///
/// Version 4 (tzfile(5), "Version 4 format") adds two things this reader honours: if the last record has the
/// same correction as the one before, it is the table's expiry (occurrence − correction is its POSIX time);
/// and the first record may have a correction other than ±1, meaning the table was truncated at the start.
/// Then the first record becomes the table's base (taken as a leap in the direction of its correction's
/// sign, as tzfile(5) says) and nothing is known before it. Versions 1–3 carry no expiry (`expires` is nil);
/// Debian's right/UTC is version 2, so its age must be judged otherwise.
///
/// For version 2 and later files the 64-bit block is read and the version 1 block only skipped (as
/// tzfile(5) tells readers). Sizes are checked against the file before anything is read; truncated or
/// garbage input throws a `TZifLeapError`, never traps.
public enum TZifLeapParser {
    /// POSIX time of 1 Jan 1972, from which TAI − UTC = 10 s (the base of a table that is not truncated).
    static let baseUnix: Int64 = 63_072_000
    static let baseOffset = 10

    public static func parse(_ bytes: [UInt8]) throws(TZifLeapError) -> LeapSecondTable {
        var reader = Reader(bytes: bytes)
        let first = try reader.header(number: 1)
        let records: [(occurrence: Int64, correction: Int32)]
        if first.version == 1 {
            records = try reader.block(first, timeSize: 4)
        } else {
            try reader.skip(first.blockSize(timeSize: 4), part: "the version 1 data block")
            let second = try reader.header(number: 2)
            guard second.versionByte == first.versionByte else {
                throw .versionMismatch(first: first.versionByte, second: second.versionByte)
            }
            records = try reader.block(second, timeSize: 8)
            try reader.footer()
        }
        return try table(from: records, version: first.version)
    }

    /// Turns leap records into a table, following the rules in the type's description.
    static func table(from records: [(occurrence: Int64, correction: Int32)], version: Int) throws(TZifLeapError)
        -> LeapSecondTable
    {
        guard !records.isEmpty else { throw .noLeapSeconds }
        var leapRecords = records[...]
        var expires: Int64?
        let last = records[records.count - 1]
        if version >= 4, records.count >= 2, last.correction == records[records.count - 2].correction {
            expires = try subtract(last.occurrence, Int64(last.correction), record: records.count - 1)
            leapRecords = records.dropLast()
        }

        var entries: [LeapSecondTable.Entry] = []
        let truncated = abs(Int64(records[0].correction)) != 1
        if truncated && version < 4 {
            let reason = "correction \(records[0].correction) is not ±1 (only version 4 files may be truncated)"
            throw .badLeapRecord(index: 0, reason: reason)
        }
        if !truncated { entries.append(.init(unix: baseUnix, taiMinusUTC: baseOffset)) }

        var previousOccurrence: Int64?
        var previousCorrection: Int64?
        for (index, record) in leapRecords.enumerated() {
            let correction = Int64(record.correction)
            if let previousOccurrence, record.occurrence <= previousOccurrence {
                throw .badLeapRecord(
                    index: index, reason: "occurrence \(record.occurrence) is not after the previous record's")
            }
            guard record.occurrence >= 0 else {
                throw .badLeapRecord(index: index, reason: "occurrence \(record.occurrence) is before 1970")
            }
            // The correction before this record: the previous record's, or for the first one 0 (or, truncated,
            // one less in magnitude, tzfile(5): positive iff its correction is positive).
            let before = previousCorrection ?? (correction > 0 ? correction - 1 : correction + 1)
            let positive: Bool
            switch correction - before {
            case 1: positive = true
            case -1: positive = false
            default:
                let reason = "correction goes from \(before) to \(correction); a leap second changes it by 1"
                throw .badLeapRecord(index: index, reason: reason)
            }
            var unix = try subtract(record.occurrence, before, record: index)
            if !positive { unix += 1 }
            entries.append(.init(unix: unix, taiMinusUTC: baseOffset + Int(correction)))
            previousOccurrence = record.occurrence
            previousCorrection = correction
        }

        do {
            return try LeapSecondTable(entries: entries, expires: expires)
        } catch {
            // Entry k is record k, or k − 1 when the base entry was prepended.
            let shift = truncated ? 0 : 1
            switch error {
            case .notIncreasing(let index):
                throw .badLeapRecord(index: index - shift, reason: "takes effect no later than the leap before it")
            case .notOneSecond(let index, let from, let to):
                throw .badLeapRecord(index: index - shift, reason: "TAI-UTC goes from \(from) s to \(to) s")
            case .notAtMidnight(let index, let unix):
                throw .badLeapRecord(
                    index: index - shift, reason: "takes effect at Unix time \(unix), not at 00:00:00 UTC")
            case .expiryNotAfterLastEntry:
                throw .badLeapRecord(index: records.count - 1, reason: "the expiry is not after the last leap second")
            }
        }
    }

    private static func subtract(_ a: Int64, _ b: Int64, record: Int) throws(TZifLeapError) -> Int64 {
        let (difference, overflow) = a.subtractingReportingOverflow(b)
        guard !overflow else { throw .badLeapRecord(index: record, reason: "time out of range") }
        return difference
    }
}

/// The counts of one TZif header (RFC 8536 §3.1).
private struct TZifHeader {
    var versionByte: UInt8
    /// 1 for a NUL version byte, else the digit's value.
    var version: Int
    var isutcnt: Int64
    var isstdcnt: Int64
    var leapcnt: Int64
    var timecnt: Int64
    var typecnt: Int64
    var charcnt: Int64

    /// Bytes of the data block after this header, with `timeSize`-byte transition and leap times.
    func blockSize(timeSize: Int64) -> Int64 {
        timecnt * timeSize + timecnt + typecnt * 6 + charcnt + leapcnt * (timeSize + 4) + isstdcnt + isutcnt
    }
}

/// A bounds-checked big-endian cursor over the file.
private struct Reader {
    let bytes: [UInt8]
    var position = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func require(_ count: Int64, part: String) throws(TZifLeapError) {
        guard count <= Int64(bytes.count - position) else {
            throw .truncated(part: part, offset: position, needed: Int(clamping: count), size: bytes.count)
        }
    }

    mutating func skip(_ count: Int64, part: String) throws(TZifLeapError) {
        try require(count, part: part)
        position += Int(count)
    }

    mutating func integer(_ size: Int) -> Int64 {
        var value: UInt64 = 0
        for byte in bytes[position..<position + size] { value = value << 8 | UInt64(byte) }
        position += size
        // Sign-extend from `size` bytes.
        let shift = UInt64(64 - 8 * size)
        return Int64(bitPattern: value << shift) >> shift
    }

    mutating func header(number: Int) throws(TZifLeapError) -> TZifHeader {
        try require(44, part: "header \(number)")
        guard Array(bytes[position..<position + 4]) == Array("TZif".utf8) else { throw .badMagic(header: number) }
        let versionByte = bytes[position + 4]
        let version: Int
        switch versionByte {
        case 0: version = 1
        case UInt8(ascii: "2")...UInt8(ascii: "9"): version = Int(versionByte - UInt8(ascii: "0"))
        default: throw .unsupportedVersion(versionByte)
        }
        position += 20
        var counts: [Int64] = []
        for _ in 0..<6 { counts.append(Int64(UInt32(truncatingIfNeeded: integer(4)))) }
        let header = TZifHeader(
            versionByte: versionByte, version: version, isutcnt: counts[0], isstdcnt: counts[1], leapcnt: counts[2],
            timecnt: counts[3], typecnt: counts[4], charcnt: counts[5])
        guard header.typecnt != 0 else { throw .badCounts(header: number, reason: "typecnt is 0") }
        guard header.isstdcnt == 0 || header.isstdcnt == header.typecnt else {
            let reason = "isstdcnt \(header.isstdcnt) is neither 0 nor typecnt \(header.typecnt)"
            throw .badCounts(header: number, reason: reason)
        }
        guard header.isutcnt == 0 || header.isutcnt == header.typecnt else {
            let reason = "isutcnt \(header.isutcnt) is neither 0 nor typecnt \(header.typecnt)"
            throw .badCounts(header: number, reason: reason)
        }
        return header
    }

    /// Reads the data block after `header`, returning its leap records.
    mutating func block(_ header: TZifHeader, timeSize: Int) throws(TZifLeapError)
        -> [(occurrence: Int64, correction: Int32)]
    {
        let size = header.blockSize(timeSize: Int64(timeSize))
        try require(size, part: timeSize == 4 ? "the version 1 data block" : "the version 2+ data block")
        let blockEnd = position + Int(size)
        position += Int(header.timecnt * Int64(timeSize) + header.timecnt + header.typecnt * 6 + header.charcnt)
        var records: [(occurrence: Int64, correction: Int32)] = []
        records.reserveCapacity(Int(header.leapcnt))
        for _ in 0..<header.leapcnt {
            let occurrence = integer(timeSize)
            let correction = Int32(truncatingIfNeeded: integer(4))
            records.append((occurrence, correction))
        }
        position = blockEnd
        return records
    }

    /// The version 2+ footer: a TZ string between two newlines (its content does not matter here).
    mutating func footer() throws(TZifLeapError) {
        guard position < bytes.count, bytes[position] == UInt8(ascii: "\n"),
            bytes[(position + 1)...].contains(UInt8(ascii: "\n"))
        else { throw .missingFooter }
    }
}

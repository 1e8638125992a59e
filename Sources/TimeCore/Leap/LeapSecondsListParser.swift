import NTPCore

/// Reads the IETF/NIST/IERS `leap-seconds.list` (as shipped in /usr/share/zoneinfo by the tz database and
/// published at https://hpiers.obspm.fr/iers/bul/bulc/ntp/leap-seconds.list). The format, from the file's
/// own header comments:
///
/// - data lines `NTPSECONDS TAI-UTC # day month year`: from that NTP time (seconds since 1900-01-01, the
///   midnight after a leap second) TAI − UTC is the second number;
/// - `#$ NTPSECONDS`: the last update of the file;
/// - `#@ NTPSECONDS`: the expiry ("File expires on 28 June 2026");
/// - `#h W1 W2 W3 W4 W5`: SHA-1 as five hex words (see `LeapSecondsListContents.hashInput`);
/// - every other line starting with `#` is a comment.
///
/// NTP seconds become POSIX seconds by subtracting 2 208 988 800 (RFC 5905 §6: 70 years with 17 leap
/// days). Numbers are unsigned decimal, as the format has them (TAI − UTC has been positive since 1972 and
/// will stay so for centuries), at most 18 digits so nothing overflows. Lines end in LF; a CR before it is
/// ignored.
///
/// Sans-I/O: it takes the file's bytes and never traps; every problem is a `LeapSecondsListError` with a
/// line number where there is a line to blame.
public enum LeapSecondsListParser {
    /// Parses `bytes` and checks the `#h` hash with `sha1` (e.g. FleetCrypto's `Digest.sha1.hash`; TimeCore has
    /// no cryptography of its own). Throws `.missingHash` if there is no hash: a list that cannot be checked
    /// is not used (stricter than ntpd, which loads one and logs an error).
    public static func parse(_ bytes: [UInt8], sha1: ([UInt8]) -> [UInt8]) throws(LeapSecondsListError)
        -> LeapSecondTable
    {
        let contents = try parseContents(bytes)
        try contents.verify(sha1: sha1)
        return contents.table
    }

    /// `parse(_:sha1:)` for text.
    public static func parse(_ text: String, sha1: ([UInt8]) -> [UInt8]) throws(LeapSecondsListError)
        -> LeapSecondTable
    {
        try parse(Array(text.utf8), sha1: sha1)
    }

    /// Parses `bytes` without checking the hash (a malformed `#h` line still throws). Requires an expiry and
    /// at least one data line.
    public static func parseContents(_ bytes: [UInt8]) throws(LeapSecondsListError) -> LeapSecondsListContents {
        var entries: [LeapSecondTable.Entry] = []
        var entryLines: [Int] = []
        var updated: Int64?
        var expires: Int64?
        var expiryLine = 0
        var declaredHash: [UInt8]?
        var hashInput: [UInt8] = []

        var lineNumber = 0
        var lineStart = 0
        while lineStart < bytes.count {
            lineNumber += 1
            var lineEnd = lineStart
            while lineEnd < bytes.count && bytes[lineEnd] != newline { lineEnd += 1 }
            let nextStart = lineEnd + 1
            if lineEnd > lineStart && bytes[lineEnd - 1] == carriageReturn { lineEnd -= 1 }
            var line = Scanner(bytes: bytes, position: lineStart, end: lineEnd, line: lineNumber)
            defer { lineStart = nextStart }

            if line.peek == hash {
                switch line.peek(at: 1) {
                case dollar:
                    line.position += 2
                    guard updated == nil else { throw .duplicateLastUpdate(line: lineNumber) }
                    let value = try line.singleNumber(what: "the '#$' (last update) value")
                    updated = value.number &- NTPTimestamp.unixEpochOffset
                    hashInput += value.digits
                case at:
                    line.position += 2
                    guard expires == nil else { throw .duplicateExpiry(line: lineNumber) }
                    let value = try line.singleNumber(what: "the '#@' (expiry) value")
                    expires = value.number &- NTPTimestamp.unixEpochOffset
                    expiryLine = lineNumber
                    hashInput += value.digits
                case letterH:
                    line.position += 2
                    guard declaredHash == nil else { throw .duplicateHash(line: lineNumber) }
                    declaredHash = try line.hashWords()
                default:
                    break  // a comment
                }
                continue
            }
            line.skipBlanks()
            if line.atEnd || line.peek == hash { continue }  // blank, or an indented comment

            let time = try line.number(what: "the NTP time", maxDigits: 18)
            guard line.skipBlanks() else {
                throw .malformedLine(line: lineNumber, reason: "expected blanks between the NTP time and TAI-UTC")
            }
            let offset = try line.number(what: "TAI-UTC", maxDigits: 9)
            line.skipBlanks()
            guard line.atEnd || line.peek == hash else {
                throw .malformedLine(
                    line: lineNumber, reason: "unexpected text after TAI-UTC (comments start with '#')")
            }
            entries.append(.init(unix: time.number &- NTPTimestamp.unixEpochOffset, taiMinusUTC: Int(offset.number)))
            entryLines.append(lineNumber)
            hashInput += time.digits + offset.digits
        }

        guard let expires else { throw .missingExpiry }
        guard !entries.isEmpty else { throw .noEntries }
        let table: LeapSecondTable
        do {
            table = try LeapSecondTable(entries: entries, expires: expires, updated: updated)
        } catch {
            switch error {
            case .notIncreasing(let index): throw .notIncreasing(line: entryLines[index])
            case .notOneSecond(let index, let from, let to):
                throw .notOneSecond(line: entryLines[index], from: from, to: to)
            case .notAtMidnight(let index, _): throw .notAtMidnight(line: entryLines[index])
            case .expiryNotAfterLastEntry: throw .expiryNotAfterLastEntry(line: expiryLine)
            }
        }
        return LeapSecondsListContents(table: table, hashInput: hashInput, declaredHash: declaredHash)
    }

    /// `parseContents(_:)` for text.
    public static func parseContents(_ text: String) throws(LeapSecondsListError) -> LeapSecondsListContents {
        try parseContents(Array(text.utf8))
    }
}

private let newline = UInt8(ascii: "\n")
private let carriageReturn = UInt8(ascii: "\r")
private let hash = UInt8(ascii: "#")
private let dollar = UInt8(ascii: "$")
private let at = UInt8(ascii: "@")
private let letterH = UInt8(ascii: "h")

/// A cursor over one line, `bytes[position..<end]`.
private struct Scanner {
    let bytes: [UInt8]
    var position: Int
    let end: Int
    let line: Int

    var atEnd: Bool { position >= end }
    var peek: UInt8? { peek(at: 0) }
    func peek(at offset: Int) -> UInt8? { position + offset < end ? bytes[position + offset] : nil }

    /// Skips spaces and tabs; returns whether there were any.
    @discardableResult
    mutating func skipBlanks() -> Bool {
        let start = position
        while let byte = peek, byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") { position += 1 }
        return position > start
    }

    /// An unsigned decimal number of at most `maxDigits` digits, with its digits as written.
    mutating func number(what: String, maxDigits: Int) throws(LeapSecondsListError)
        -> (number: Int64, digits: [UInt8])
    {
        let start = position
        var value: Int64 = 0
        while let byte = peek, byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
            guard position - start < maxDigits else {
                throw .malformedLine(line: line, reason: "\(what) has more than \(maxDigits) digits")
            }
            value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            position += 1
        }
        guard position > start else {
            let found = peek.map { "'\(Character(Unicode.Scalar($0)))'" } ?? "the end of the line"
            throw .malformedLine(line: line, reason: "expected \(what) (decimal digits), found \(found)")
        }
        return (value, Array(bytes[start..<position]))
    }

    /// The rest of a `#$` or `#@` line: one number, blanks around it allowed.
    mutating func singleNumber(what: String) throws(LeapSecondsListError) -> (number: Int64, digits: [UInt8]) {
        skipBlanks()
        let value = try number(what: what, maxDigits: 18)
        skipBlanks()
        guard atEnd else { throw .malformedLine(line: line, reason: "unexpected text after \(what)") }
        return value
    }

    /// The rest of a `#h` line: five words of 1–8 hex digits (leading zeros may be dropped, as some
    /// published files did; ntpd reads each word with %x), as 20 big-endian bytes.
    mutating func hashWords() throws(LeapSecondsListError) -> [UInt8] {
        var digest: [UInt8] = []
        for word in 1...5 {
            skipBlanks()
            guard !atEnd else {
                let reason = word == 1 ? "no hex words" : "\(word - 1) hex words; SHA-1 needs 5"
                throw .malformedHash(line: line, reason: reason)
            }
            let start = position
            var value: UInt32 = 0
            while let byte = peek, let digit = hexValue(byte) {
                guard position - start < 8 else {
                    throw .malformedHash(line: line, reason: "word \(word) has more than 8 hex digits")
                }
                value = value << 4 | UInt32(digit)
                position += 1
            }
            guard position > start, atEnd || peek == UInt8(ascii: " ") || peek == UInt8(ascii: "\t") else {
                throw .malformedHash(line: line, reason: "word \(word) is not hexadecimal")
            }
            digest += [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
        }
        skipBlanks()
        guard atEnd else { throw .malformedHash(line: line, reason: "more than 5 hex words") }
        return digest
    }

    private func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

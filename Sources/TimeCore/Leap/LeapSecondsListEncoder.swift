import NTPCore

/// Writes a `LeapSecondTable` as a leap-seconds.list that `LeapSecondsListParser` (and ntpd, chrony) read
/// back: the `#$` update and `#@` expiry lines, one `NTPSECONDS<TAB>TAI-UTC<TAB># 1 Jan 2017` line per entry,
/// and a `#h` line holding SHA-1 over the same digits the parser hashes (see
/// `LeapSecondsListContents.hashInput`). For handing a fleet's agreed table to nodes and for tests.
public enum LeapSecondsListEncoder {
    /// The file's text. `sha1` must return the 20-byte SHA-1 digest of its input.
    public static func encode(_ table: LeapSecondTable, sha1: ([UInt8]) -> [UInt8]) throws(LeapSecondsListEncodingError)
        -> String
    {
        guard let expires = table.expires else { throw .missingExpiry }
        guard !table.entries.isEmpty else { throw .noEntries }

        var text = "#\tLeap second table, written by timefleet.\n"
        text += "#\tTimes are NTP seconds (since 1900-01-01 00:00:00 UTC); TAI-UTC in seconds.\n#\n"
        var hashInput: [UInt8] = []
        if let updated = table.updated {
            let value = try ntpSeconds(updated)
            text += "#\tLast update of this table:\n#$\t\(value)\n#\n"
            hashInput += Array(value.utf8)
        }
        let expiry = try ntpSeconds(expires)
        text += "#\tFile expires on \(UTCDate(unix: expires).listComment)\n#@\t\(expiry)\n#\n"
        hashInput += Array(expiry.utf8)

        for entry in table.entries {
            guard entry.taiMinusUTC >= 0 else { throw .negativeOffset(entry.taiMinusUTC) }
            let time = try ntpSeconds(entry.unix)
            let offset = String(entry.taiMinusUTC)
            text += "\(time)\t\(offset)\t# \(UTCDate(unix: entry.unix).listComment)\n"
            hashInput += Array(time.utf8) + Array(offset.utf8)
        }

        let digest = sha1(hashInput)
        guard digest.count == 20 else { throw .badDigestLength(digest.count) }
        let words = stride(from: 0, to: 20, by: 4).map { LeapSecondsListError.hex(Array(digest[$0..<$0 + 4])) }
        text += "#\n#h\t" + words.joined(separator: " ") + "\n"
        return text
    }

    private static func ntpSeconds(_ unix: Int64) throws(LeapSecondsListEncodingError) -> String {
        let (ntp, overflow) = unix.addingReportingOverflow(NTPTimestamp.unixEpochOffset)
        guard !overflow else { return String(UInt64(unix) + UInt64(NTPTimestamp.unixEpochOffset)) }
        guard ntp >= 0 else { throw .beforeNTPEpoch(unix: unix) }
        return String(ntp)
    }
}

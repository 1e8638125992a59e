import TimeCore

/// The harness's NMEA side: a ZDA sentence for a Unix second (as a receiver sends it, with its checksum) and
/// the date gpsd would read back from one. Proleptic Gregorian (TimeCore's `UTCDate`); anything
/// that is not a well-formed sentence with a valid checksum and in-range fields reads as nil.
enum NMEADateText {
    static func zda(unixSeconds: Int64) -> String {
        let date = UTCDate(unix: unixSeconds)
        let secondOfDay = unixSeconds - date.daysSinceEpoch * UTCDate.secondsPerDay
        let (day, month, year) = (Int64(date.day), Int64(date.month), date.year)
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let body = "GPZDA,\(two(secondOfDay / 3600))\(two(secondOfDay / 60 % 60))\(two(secondOfDay % 60)).00,\(two(day)),\(two(month)),\(year),00,00"
        return "$\(body)*\(checksum(body))\r\n"
    }

    /// Unix seconds named by a ZDA sentence, nil unless it is one.
    static func parseZDA(_ bytes: [UInt8]) -> Int64? {
        guard bytes.first == UInt8(ascii: "$"), let star = bytes.lastIndex(of: UInt8(ascii: "*")), star + 3 <= bytes.count else { return nil }
        let body = String(decoding: bytes[1..<star], as: UTF8.self)
        guard String(decoding: bytes[(star + 1)..<(star + 3)], as: UTF8.self) == checksum(body) else { return nil }
        let fields = body.split(separator: ",", omittingEmptySubsequences: false)
        guard fields.count == 7, fields[0] == "GPZDA", fields[1].count >= 6,
              let hh = Int64(fields[1].prefix(2)), let mm = Int64(fields[1].dropFirst(2).prefix(2)),
              let ss = Int64(fields[1].dropFirst(4).prefix(2)), let day = Int64(fields[2]), let month = Int64(fields[3]),
              let year = Int64(fields[4]), (0..<24).contains(hh), (0..<60).contains(mm), (0..<61).contains(ss),
              (1...31).contains(day), (1...12).contains(month), (-1_000_000...1_000_000).contains(year)
        else { return nil }
        return UTCDate(year: year, month: Int(month), day: Int(day)).daysSinceEpoch * UTCDate.secondsPerDay + hh * 3600 + mm * 60 + ss
    }

    static func checksum(_ body: String) -> String {
        var value: UInt8 = 0
        for byte in body.utf8 { value ^= byte }
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(value >> 4)], digits[Int(value & 0x0F)]])
    }
}

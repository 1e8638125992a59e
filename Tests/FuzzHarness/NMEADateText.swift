/// The harness's NMEA side: a ZDA sentence for a Unix second (as a receiver sends it, with its checksum) and
/// the date gpsd would read back from one. Proleptic Gregorian (H. Hinnant's civil algorithms); anything
/// that is not a well-formed sentence with a valid checksum and in-range fields reads as nil.
enum NMEADateText {
    static func zda(unixSeconds: Int64) -> String {
        let days = unixSeconds >= 0 ? unixSeconds / 86_400 : (unixSeconds / 86_400) - (unixSeconds % 86_400 == 0 ? 0 : 1)
        let secondOfDay = unixSeconds - days * 86_400
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
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
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return (era * 146_097 + doe - 719_468) * 86_400 + hh * 3600 + mm * 60 + ss
    }

    static func checksum(_ body: String) -> String {
        var value: UInt8 = 0
        for byte in body.utf8 { value ^= byte }
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(value >> 4)], digits[Int(value & 0x0F)]])
    }
}

// Test support: NMEA 0183 sentences for a simulated GPS receiver (GPRMC, GPGGA, GPGSA, GPGSV, GPZDA per
// second, with correct checksums). Self-contained (stdlib only) so it can be copied into another test target.

/// Builds one second's worth of NMEA ("an epoch") for a given UTC second, or a whole log of them.
package struct NMEAGenerator: Sendable {
    /// Whether the receiver has a 3D fix (RMC `A`, GGA quality 1, GSA mode 3) or none (RMC `V`, GGA quality
    /// 0, GSA mode 1, no satellites used; time still reported, as real receivers do once they know it).
    package var fix: Bool = true
    /// Satellites in view (PRNs), reported in GSV; the first `usedSatellites` of them are used (GSA).
    package var satellitesInView: [Int] = [1, 2, 3, 4, 5, 6]
    package var usedSatellites: Int = 4
    /// Include GSA/GSV (needed for gpsd's SKY reports). Without them an epoch is RMC, GGA, ZDA.
    package var includeSatellites: Bool = true
    package var latitude = "4807.038"
    package var longitude = "01131.000"

    /// Satellites reported as used (0 without a fix).
    package init(fix: Bool = true, satellitesInView: [Int] = [1, 2, 3, 4, 5, 6], usedSatellites: Int = 4, includeSatellites: Bool = true) {
        self.fix = fix
        self.satellitesInView = satellitesInView
        self.usedSatellites = usedSatellites
        self.includeSatellites = includeSatellites
    }

    package var satellitesUsed: Int { fix ? min(usedSatellites, satellitesInView.count) : 0 }

    /// Sentences per epoch, for replay tools that space sentences evenly (gpsfake -c = 1 / this).
    package var sentencesPerEpoch: Int { epoch(second: 0).count }

    /// The checksum of a sentence body (the text between `$` and `*`): XOR of its bytes, two upper-case
    /// hex digits.
    package static func checksum(_ body: String) -> String {
        var value: UInt8 = 0
        for byte in body.utf8 { value ^= byte }
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(value >> 4)], digits[Int(value & 0x0F)]])
    }

    /// `$body*CS\r\n`.
    package static func sentence(_ body: String) -> String {
        "$" + body + "*" + checksum(body) + "\r\n"
    }

    /// Checks a complete sentence's checksum (for tests of the generator itself).
    package static func hasValidChecksum(_ sentence: String) -> Bool {
        // Bytes, not Characters: "\r\n" is a single Character in Swift.
        var bytes = Array(sentence.utf8)
        if bytes.suffix(2) == [13, 10] { bytes.removeLast(2) }
        guard bytes.first == UInt8(ascii: "$"), let star = bytes.lastIndex(of: UInt8(ascii: "*")) else { return false }
        let body = String(decoding: bytes[1..<star], as: UTF8.self)
        return String(decoding: bytes[(star + 1)...], as: UTF8.self) == checksum(body)
    }

    /// The sentences for UTC second `second` (POSIX seconds since 1970).
    package func epoch(second: Int64) -> [String] {
        let t = CivilTime(unixSeconds: second)
        let hms = two(t.hour) + two(t.minute) + two(t.second) + ".00"
        let dmy = two(t.day) + two(t.month) + two(t.year % 100)
        var out: [String] = []
        let status = fix ? "A" : "V"
        let modeIndicator = fix ? "A" : "N"
        out.append(Self.sentence("GPRMC,\(hms),\(status),\(latitude),N,\(longitude),E,000.0,000.0,\(dmy),,,\(modeIndicator)"))
        let quality = fix ? "1" : "0"
        let used = satellitesUsed
        let altitude = fix ? "545.4,M,46.9,M" : ",,,"
        let position = fix ? "\(latitude),N,\(longitude),E" : ",,,"
        out.append(Self.sentence("GPGGA,\(hms),\(position),\(quality),\(two(used)),0.9,\(altitude),,"))
        if includeSatellites {
            var usedFields = satellitesInView.prefix(used).map { two($0) }
            while usedFields.count < 12 { usedFields.append("") }
            let gsaMode = fix ? "3" : "1"
            out.append(Self.sentence("GPGSA,A,\(gsaMode),\(usedFields.joined(separator: ",")),1.8,0.9,1.5"))
            let groups = stride(from: 0, to: satellitesInView.count, by: 4).map {
                Array(satellitesInView[$0..<min($0 + 4, satellitesInView.count)])
            }
            for (index, group) in groups.enumerated() {
                var fields = ["GPGSV", "\(groups.count)", "\(index + 1)", two(satellitesInView.count)]
                for (offset, prn) in group.enumerated() {
                    let isUsed = index * 4 + offset < used
                    fields += [two(prn), "\(20 + prn * 5 % 60)", pad3((prn * 47) % 360), isUsed ? "45" : "20"]
                }
                out.append(Self.sentence(fields.joined(separator: ",")))
            }
        }
        out.append(Self.sentence("GPZDA,\(hms),\(two(t.day)),\(two(t.month)),\(t.year),00,00"))
        return out
    }

    /// A log of `seconds` consecutive epochs starting at UTC second `start`.
    package func log(start: Int64, seconds: Int) -> String {
        (0..<Int64(seconds)).map { epoch(second: start + $0).joined() }.joined()
    }

    private func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
    private func pad3(_ value: Int) -> String { value < 10 ? "00\(value)" : value < 100 ? "0\(value)" : "\(value)" }
}

/// A UTC calendar time from POSIX seconds (proleptic Gregorian, Howard Hinnant's civil_from_days).
package struct CivilTime: Sendable, Hashable {
    package var year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int

    package init(unixSeconds: Int64) {
        let days = unixSeconds >= 0 ? unixSeconds / 86_400 : (unixSeconds - 86_399) / 86_400
        let secondOfDay = Int(unixSeconds - days * 86_400)
        hour = secondOfDay / 3600
        minute = secondOfDay / 60 % 60
        second = secondOfDay % 60
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        day = Int(doy - (153 * mp + 2) / 5 + 1)
        month = Int(mp < 10 ? mp + 3 : mp - 9)
        year = Int(yoe + era * 400) + (month <= 2 ? 1 : 0)
    }
}

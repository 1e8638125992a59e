import Fleet
import Foundation
import NTPCore

/// Formats an NTP query result the way `chronyd -Q` and `ntpdig` users read one.
public enum QueryReport {
    public static func text(server: SocketEndpoint, measurement m: NTPMeasurement) -> String {
        let refid = m.referenceID.description
        return """
            server \(server): stratum \(m.stratum), reference \(refid), leap \(m.leap.rawValue), precision 2^\(m.precision)
              offset \(formatSeconds(m.offset)), delay \(formatSeconds(m.delay)), root distance \(formatSeconds(m.rootDistance))
              root delay \(formatSeconds(m.rootDelay)), root dispersion \(formatSeconds(m.rootDispersion))
            """
    }

    /// The same result for scripts.
    public struct Result: Codable, Sendable, Equatable {
        public var server: String
        public var stratum: Int
        public var referenceID: String
        public var leap: Int
        public var precision: Int
        public var offsetSeconds: Double
        public var delaySeconds: Double
        public var rootDelaySeconds: Double
        public var rootDispersionSeconds: Double
        public var rootDistanceSeconds: Double

        public init(server: SocketEndpoint, measurement m: NTPMeasurement) {
            self.server = server.description
            stratum = Int(m.stratum)
            referenceID = m.referenceID.description
            leap = Int(m.leap.rawValue)
            precision = Int(m.precision)
            offsetSeconds = m.offset
            delaySeconds = m.delay
            rootDelaySeconds = m.rootDelay
            rootDispersionSeconds = m.rootDispersion
            rootDistanceSeconds = m.rootDistance
        }
    }

    public static func json(server: SocketEndpoint, measurement: NTPMeasurement) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(Result(server: server, measurement: measurement)), as: UTF8.self)
    }

    /// Seconds with the unit chronyc uses for the magnitude (ns, us, ms, s).
    public static func formatSeconds(_ value: Double) -> String {
        let magnitude = abs(value)
        let sign = value < 0 ? "-" : "+"
        if magnitude < 1e-6 { return sign + String(Int((magnitude * 1e9).rounded())) + "ns" }
        if magnitude < 1e-3 { return sign + String(Int((magnitude * 1e6).rounded())) + "us" }
        if magnitude < 1 { return sign + String(Int((magnitude * 1e3).rounded())) + "ms" }
        return sign + String((magnitude * 1000).rounded() / 1000) + "s"
    }
}

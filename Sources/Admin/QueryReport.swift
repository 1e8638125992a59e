import NodeModels
import Foundation
import NTPCore

/// Formats an NTP query result the way `chronyd -Q` and `ntpdig` users read one.
public enum QueryReport {
    /// `nts`: the AEAD id when the answer was NTS-authenticated.
    public static func text(server: SocketEndpoint, measurement m: NTPMeasurement, nts: UInt16? = nil) -> String {
        let refid = m.referenceID.description
        let authentication = nts.map { ", NTS-authenticated (AEAD \($0))" } ?? ""
        return """
            server \(server): stratum \(m.stratum), reference \(refid), leap \(m.leap.rawValue), precision 2^\(m.precision)\(authentication)
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
        /// The AEAD id when NTS-authenticated, else nil.
        public var ntsAEAD: UInt16?

        public init(server: SocketEndpoint, measurement m: NTPMeasurement, nts: UInt16? = nil) {
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
            ntsAEAD = nts
        }
    }

    public static func json(server: SocketEndpoint, measurement: NTPMeasurement, nts: UInt16? = nil) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(Result(server: server, measurement: measurement, nts: nts)), as: UTF8.self)
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

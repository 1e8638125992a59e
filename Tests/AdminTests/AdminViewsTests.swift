import Admin
import Foundation
import NodeModels
import NTPCore
import TimeCore
import XCTest

/// fleetctl's per-node views: chronyc's layouts, column by column, and the -v legends.
final class AdminViewsTests: XCTestCase {
    /// TimeCore's reports have no public memberwise initialisers: made the way the API delivers them, from JSON.
    static func decode<T: Decodable>(_ json: String) -> T {
        try! JSONDecoder().decode(T.self, from: Data(json.utf8))
    }

    static func source(_ name: String, state: SourceState, offset: Double?, jitter: Double?, statistics: Bool = false) -> SourceReport {
        let fit = statistics ? "\"statistics\": {\"runs\": 5, \"span\": 112, \"frequencyPPM\": -0.0123, \"skewPPM\": 0.456}," : ""
        return decode("""
            {"id": "\(name)", "kind": "ntp", "state": "\(state.rawValue)", "stratum": 2, "referenceID": 2130706433, "reach": 255,
             "lastSampleAge": 12, \(offset.map { "\"offset\": \($0)," } ?? "") \(jitter.map { "\"jitter\": \($0)," } ?? "") \(fit)
             "rootDistance": 0.0015, "samples": 8, "accepted": 120, "dropped": 3}
            """)
    }

    static let tracking: TrackingReport = decode("""
        {"selected": "192.0.2.10", "referenceID": 3221225994, "stratum": 3, "leap": 0, "synchronized": true,
         "lastOffset": -0.0000125, "rmsOffset": 0.000004, "frequencyPPM": -12.345, "skewPPM": 0.021, "rootDelay": 0.002,
         "rootDispersion": 0.0005, "lastUpdateAge": 3, "updateInterval": 16, "errorBound": 0.0015, "updates": 40, "steps": 1}
        """)

    func testSourceStatsColumns() {
        let text = AdminViews.sourcestats(AdminSources(sources: [
            Self.source("192.0.2.10", state: .selected, offset: -0.000_012_5, jitter: 0.000_003, statistics: true),
            Self.source("a-very-long-upstream-name.example.org", state: .unusable, offset: nil, jitter: nil),
        ]))
        let lines = text.split(separator: "\n").map(String.init)
        // chronyc's columns; every value ends under the end of its heading.
        XCTAssertEqual(lines[0], "Name/IP Address            NP  NR  Span  Frequency  Freq Skew  Offset  Std Dev")
        XCTAssertEqual(lines[1], String(repeating: "=", count: 78))
        XCTAssertEqual(lines[2].count, lines[0].count)
        XCTAssertEqual(lines[2], "192.0.2.10                  8   5  112s     -0.012      0.456   -13us      3us")
        XCTAssertEqual(lines[3], "a-very-long-upstream-nam…   8   -     -          -          -       -        -")
        let verbose = AdminViews.sourcestats(AdminSources(sources: []), verbose: true)
        XCTAssertTrue(verbose.contains("Number of sample points held"), verbose)
        XCTAssertTrue(verbose.hasSuffix("Name/IP Address            NP  NR  Span  Frequency  Freq Skew  Offset  Std Dev\n" + String(repeating: "=", count: 78)))
    }

    func testSourcesWithLegend() {
        let text = AdminViews.sources(AdminSources(sources: [Self.source("192.0.2.10", state: .selected, offset: 0.000_2, jitter: 0.000_01)]), verbose: true)
        let lines = text.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines[0].contains("Source state '*' = current best"))
        XCTAssertTrue(lines.contains("S Name/address             Stratum Reach LastRx     Offset     Jitter  Note"), text)
        XCTAssertEqual(lines.last, "* 192.0.2.10                     2   377    12s     +200us      +10us  ")
    }

    func testServerStatsLikeChronyc() {
        var ntp = ServerCounters()
        ntp.received = 1_000
        ntp.answered = 990
        ntp.dropped = ["rateLimited": 7, "malformed": 3]
        ntp.kissOfDeath = 4
        ntp.ntsAuthenticated = 12
        var ke = NTSKECounters()
        ke.connections = 30
        ke.keysEstablished = 28
        ke.handshakeFailures = 2
        let stats = AdminServerStats(ntp: ntp, ntske: ke, ntskeActiveConnections: 1, rateLimiting: true, configReloads: 0, uptimeSeconds: 60)
        let lines = AdminViews.serverstats(stats).split(separator: "\n").map(String.init)
        XCTAssertEqual(Array(lines.prefix(5)), [
            "NTP packets received        : 1000",
            "NTP packets answered        : 990",
            "NTP packets dropped         : 10",
            "  malformed                 : 3",
            "  rateLimited               : 7",
        ])
        XCTAssertTrue(lines.contains("Kiss-o'-Death RATE sent     : 4"))
        XCTAssertTrue(lines.contains("NTS-authenticated packets   : 12"))
        XCTAssertTrue(lines.contains("NTS-KE connections accepted : 30"))
        XCTAssertTrue(lines.contains("NTS-KE sessions established : 28"))
        XCTAssertTrue(lines.contains("NTS-KE handshake failures   : 2"))
        XCTAssertTrue(lines.contains("NTS-KE connections open     : 1"))
        var withAdmin = stats
        withAdmin.adminRefusedHandshakes = 5
        XCTAssertTrue(AdminViews.serverstats(withAdmin).hasSuffix("\nAdmin API handshakes refused: 5"), AdminViews.serverstats(withAdmin))
        let withoutNTS = AdminViews.serverstats(AdminServerStats(ntp: ntp, ntske: nil, ntskeActiveConnections: nil, rateLimiting: false, configReloads: 0, uptimeSeconds: 1))
        XCTAssertFalse(withoutNTS.contains("NTS-KE"))
        XCTAssertTrue(AdminViews.serverstats(stats, verbose: true).hasPrefix("  Every NTP datagram received is either answered or dropped"))
    }

    func testTrackingWithAndWithoutTimeSources() throws {
        var status = Self.status()
        status.timekeeping = TimekeepingStatus(tracking: Self.tracking, sources: [], refclocks: [], leap: nil)
        let text = AdminViews.tracking(AdminTracking(status: status))
        let lines = text.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines[0], "Reference ID    : C000020A (192.0.2.10)")
        XCTAssertEqual(lines[1], "Stratum         : 3")
        XCTAssertTrue(lines.contains("Last offset     : -0.000012500 seconds"), text)
        XCTAssertTrue(lines.contains("Frequency       : 12.345 ppm slow (served time against the local oscillator)"), text)
        XCTAssertTrue(lines.contains("Leap status     : Normal"), text)

        let local = AdminViews.tracking(AdminTracking(status: Self.status()))
        XCTAssertTrue(local.contains("Selected source : local clock ([local] stratum), no time source"), local)
        XCTAssertTrue(local.contains("Stratum         : 1"), local)
        XCTAssertTrue(AdminViews.tracking(AdminTracking(status: Self.status()), verbose: true).hasPrefix("  Reference ID: the id served"))
    }

    static func status() -> NodeStatus {
        NodeStatus(
            name: "n1", version: "0", uptimeSeconds: 10, clock: .init(driver: "software", offsetSeconds: 0, frequencyPPM: 0, precision: -20),
            serving: .init(synchronized: true, source: "local", leap: 0, stratum: 1, referenceID: "LOCL", rootDelaySeconds: 0, rootDispersionSeconds: 0.001),
            listeners: [], ntp: ServerCounters(), busiestClients: [], rateLimiting: false, configReloads: 0)
    }
}

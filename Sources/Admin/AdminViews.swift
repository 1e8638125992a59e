import NodeModels
import Foundation

/// fleetctl's per-node views, laid out as chronyc users know them (`-v` adds the legend above the table
/// as `chronyc sources -v` does), or the API's JSON for scripts.
public enum AdminViews {
    public static func tracking(_ t: AdminTracking, verbose: Bool = false) -> String {
        var lines: [String] = []
        if verbose { lines += trackingLegend }
        if let tracking = t.tracking {
            lines += TimekeepingText.tracking(tracking, refclocks: t.refclocks, leap: t.leap)
        } else {
            // No time source: what the node serves, in the same layout.
            let s = t.serving
            lines.append("Reference ID    : \(s.referenceID) (\(s.source == "local" ? "local clock" : "none"))")
            lines.append("Stratum         : \(s.stratum)")
            lines.append("Selected source : \(s.source == "local" ? "local clock ([local] stratum), no time source" : "none (no time source configured)")")
            lines.append("Frequency       : \(String(format: "%.3f", abs(t.clock.frequencyPPM))) ppm \(t.clock.frequencyPPM >= 0 ? "fast" : "slow")")
            lines.append("Root delay      : \(String(format: "%.9f", s.rootDelaySeconds)) seconds")
            lines.append("Root dispersion : \(String(format: "%.9f", s.rootDispersionSeconds)) seconds")
            lines.append("Leap status     : \(s.synchronized ? ["Normal", "Insert second", "Delete second", "Not synchronised"][min(3, max(0, s.leap))] : "Not synchronised")")
        }
        return lines.joined(separator: "\n")
    }

    public static func sources(_ s: AdminSources, verbose: Bool = false) -> String {
        ((verbose ? sourcesLegend : []) + TimekeepingText.sources(s.sources)).joined(separator: "\n")
    }

    public static func sourcestats(_ s: AdminSources, verbose: Bool = false) -> String {
        ((verbose ? sourcestatsLegend : []) + TimekeepingText.sourcestats(s.sources)).joined(separator: "\n")
    }

    public static func serverstats(_ s: AdminServerStats, verbose: Bool = false) -> String {
        ((verbose ? serverstatsLegend : []) + ServerStatsText.lines(
            ntp: s.ntp, ntske: s.ntske, ntskeActive: s.ntskeActiveConnections, adminRefused: s.adminRefusedHandshakes))
            .joined(separator: "\n")
    }

    /// Pretty JSON with sorted keys, as the API sends it.
    public static func json(_ body: some AdminBody) -> String {
        String(decoding: body.json(pretty: true), as: UTF8.self)
    }

    static let trackingLegend = [
        "  Reference ID: the id served to clients (refclock name at stratum 1, else the upstream's address).",
        "  Last offset / RMS offset: the discipline's last measured offset and the RMS of its residuals.",
        "  Frequency: served time against the local oscillator; Skew: its standard error.",
        "  Root delay / dispersion: what clients are told; Error bound: root delay / 2 + root dispersion.",
        "  Update interval: mean seconds between clock updates; Leap status: what the next leap indicator says.",
        "",
    ]

    static let sourcesLegend = [
        "  .-- Source state '*' = current best, '+' = combined, '-' = not combined,",
        " /             'x' = may be in error, '~' = too variable, '?' = unusable.",
        "|                                                          .- offset of the source",
        "|      Reachability register (octal) -.                    |  against served time,",
        "|      Stratum (0: reference clock) --.|                   |  from its filter.",
        "|                                     ||      Seconds since |",
        "|                                     ||      last sample -.|          .- jitter",
        "|                                     ||                   ||          |",
    ]

    static let sourcestatsLegend = [
        "                             .- Number of sample points held by the source's filter",
        "                             |   .- Number of runs of residuals with the same sign",
        "                             |   |    .- Time spanned by those samples",
        "                             |   |    |     .- Frequency of the source against this node's clock (ppm)",
        "                             |   |    |     |          .- Its standard error (ppm)",
        "                             |   |    |     |          |       .- Offset of the source",
        "                             |   |    |     |          |       |       .- Its standard deviation",
        "                             |   |    |     |          |       |       |",
    ]

    static let serverstatsLegend = [
        "  Every NTP datagram received is either answered or dropped for one reason (received = answered + dropped).",
        "  Authenticated packets: answers carrying a MAC (symmetric key) or NTS protection.",
        "  NTS-KE: connections accepted, sessions that ended with keys, failed TLS handshakes, Error records,",
        "  deadline timeouts, and connections refused over the limit or the per-client rate.",
        "",
    ]
}

import NodeModels

/// The site report's content (`fleetctl report`): the sweep's verdicts and, per node, what an operator of
/// chrony reads in its site report, fleet-wide: stratum, reference, offset, frequency, jitter, GPS fix and
/// satellites, PPS, holdover, certificate days left, key ages, and the last day of the clock's history.
public struct SiteReport: Sendable, Codable, Equatable {
    public struct Node: Sendable, Codable, Equatable {
        public var name: String
        public var site: String
        public var verdict: HealthVerdict
        public var reasons: [String]
        public var stratum: Int?
        public var reference: String?
        /// The discipline's last offset, RMS offset (jitter) and frequency.
        public var offset: Double?
        public var jitter: Double?
        public var frequencyPPM: Double?
        public var offsetFromMedian: Double?
        /// "3D, 9/12 satellites", "no fix", "not connected"; nil without a GPS.
        public var gps: String?
        /// "pulses", "lost"; nil without PPS.
        public var pps: String?
        public var holdoverSeconds: Double?
        public var certificateDaysLeft: Double?
        /// Age of the NTS cookie key that seals now (seconds).
        public var cookieKeyAgeSeconds: Int64?
        public var symmetricKeys: [UInt32]
        public var history: [AdminHistory.Point]
        /// Why there is no history (no [state] database, admin API unreachable).
        public var historyNote: String?

        public init(name: String, site: String, verdict: HealthVerdict, reasons: [String]) {
            self.name = name
            self.site = site
            self.verdict = verdict
            self.reasons = reasons
            symmetricKeys = []
            history = []
        }
    }

    /// Unix seconds.
    public var generated: Double
    public var hours: Double
    public var health: FleetHealth
    public var nodes: [Node]

    public init(generated: Double, hours: Double, health: FleetHealth, nodes: [Node]) {
        self.generated = generated
        self.hours = hours
        self.health = health
        self.nodes = nodes
    }

    /// The report of a judged sweep, its observations and each node's history.
    public static func make(
        health: FleetHealth, observations: [NodeObservation], histories: [String: Result<AdminHistory, ProbeFailure>], generated: Double, hours: Double
    ) -> SiteReport {
        var nodes: [Node] = []
        for judged in health.nodes {
            var node = Node(name: judged.node, site: judged.site, verdict: judged.verdict, reasons: judged.reasons.map(\.message))
            node.stratum = judged.stratum
            node.reference = judged.referenceID
            node.offsetFromMedian = judged.offsetFromMedian
            node.certificateDaysLeft = judged.certificateDaysLeft
            if let admin = observations.first(where: { $0.node == judged.node })?.admin {
                let tracking = admin.tracking.tracking
                node.offset = tracking?.lastOffset
                node.jitter = tracking?.rmsOffset
                node.frequencyPPM = tracking?.frequencyPPM ?? admin.tracking.clock.frequencyPPM
                node.holdoverSeconds = tracking?.holdoverSeconds
                for clock in admin.tracking.refclocks {
                    if clock.driver == "pps" {
                        node.pps = clock.connected && (clock.lastReportAge ?? 99) < 5 ? "pulses" : "lost"
                    } else if node.gps == nil {
                        if !clock.connected {
                            node.gps = "not connected"
                        } else if let mode = clock.fixMode {
                            let sats = clock.satellitesUsed.map { ", \($0)/\(clock.satellitesVisible.map(String.init) ?? "?") satellites" } ?? ""
                            node.gps = (mode >= 3 ? "3D" : mode == 2 ? "2D" : "no fix") + sats
                        } else {
                            node.gps = "\(clock.driver), samples"
                        }
                    }
                }
                node.cookieKeyAgeSeconds = admin.keys?.cookie.first { $0.state == .current }?.ageSeconds
                node.symmetricKeys = admin.keys?.siblings?.map(\.sendKey).reduce(into: [UInt32]()) { if !$0.contains($1) { $0.append($1) } } ?? []
            }
            switch histories[judged.node] {
            case .success(let history): node.history = history.points
            case .failure(let failure): node.historyNote = failure.message
            case nil: node.historyNote = "no history fetched"
            }
            nodes.append(node)
        }
        return SiteReport(generated: generated, hours: hours, health: health, nodes: nodes)
    }
}

/// A monitoring verdict, ordered by how bad it is, with Nagios/Icinga exit codes (0 OK, 1 WARN, 2 CRIT,
/// 3 UNKNOWN), so `fleetctl health` drops into an existing check as it is.
public enum HealthVerdict: String, Sendable, Codable, Equatable, Comparable, CaseIterable {
    case ok = "OK"
    case warning = "WARN"
    case critical = "CRIT"
    case unknown = "UNKNOWN"

    private var rank: Int {
        switch self {
        case .ok: 0
        case .warning: 1
        case .unknown: 2
        case .critical: 3
        }
    }

    /// CRIT outranks UNKNOWN: a fleet with one node down and one not judged is down.
    public static func < (a: HealthVerdict, b: HealthVerdict) -> Bool { a.rank < b.rank }

    public var exitCode: Int32 {
        switch self {
        case .ok: 0
        case .warning: 1
        case .critical: 2
        case .unknown: 3
        }
    }
}

/// One reason behind a verdict, in words an operator acts on.
public struct HealthReason: Sendable, Codable, Equatable, CustomStringConvertible {
    public var severity: HealthVerdict
    /// A stable name for scripts and history ("holdover", "offset", "certificate-expiry", ...).
    public var check: String
    public var message: String

    public init(_ severity: HealthVerdict, _ check: String, _ message: String) {
        self.severity = severity
        self.check = check
        self.message = message
    }

    public var description: String { "\(severity.rawValue) \(message)" }
}

/// A node's verdict and the figures the table shows.
public struct NodeHealth: Sendable, Codable, Equatable {
    public var node: String
    public var site: String
    public var verdict: HealthVerdict
    public var reasons: [HealthReason]
    /// Checks that passed, for `-v`.
    public var passed: [String]
    public var stratum: Int?
    public var referenceID: String?
    /// Offset from the fleet's median (seconds), from the outside NTP exchange.
    public var offsetFromMedian: Double?
    public var certificateDaysLeft: Double?
    public var elapsed: Double

    public init(node: String, site: String, verdict: HealthVerdict, reasons: [HealthReason], passed: [String], stratum: Int?,
                referenceID: String?, offsetFromMedian: Double?, certificateDaysLeft: Double?, elapsed: Double) {
        self.node = node
        self.site = site
        self.verdict = verdict
        self.reasons = reasons
        self.passed = passed
        self.stratum = stratum
        self.referenceID = referenceID
        self.offsetFromMedian = offsetFromMedian
        self.certificateDaysLeft = certificateDaysLeft
        self.elapsed = elapsed
    }
}

/// The fleet's verdict: the worst of its nodes', plus what concerns the fleet as a whole.
public struct FleetHealth: Sendable, Codable, Equatable {
    public var verdict: HealthVerdict
    public var nodes: [NodeHealth]
    /// Reasons that belong to no single node (no node answered NTP, no median to compare with).
    public var reasons: [HealthReason]
    /// The fleet's median offset from the sweeping host's clock (seconds): what nodes are compared with.
    public var medianOffset: Double?
    /// Unix seconds when the sweep started.
    public var time: Double
    public var elapsed: Double

    public init(verdict: HealthVerdict, nodes: [NodeHealth], reasons: [HealthReason], medianOffset: Double?, time: Double, elapsed: Double) {
        self.verdict = verdict
        self.nodes = nodes
        self.reasons = reasons
        self.medianOffset = medianOffset
        self.time = time
        self.elapsed = elapsed
    }
}

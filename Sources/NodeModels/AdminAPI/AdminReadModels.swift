import TimeCore

/// `GET /v1/tracking`: what `chronyc tracking` shows, plus what the node serves and its reference clocks.
public struct AdminTracking: AdminBody {
    public var name: String
    public var serving: NodeStatus.Serving
    public var clock: NodeStatus.Clock
    /// nil when the node has no time source (it serves `[local]` or nothing).
    public var tracking: TrackingReport?
    public var refclocks: [TimekeepingStatus.Refclock]
    public var leap: TimekeepingStatus.Leap?

    public init(name: String, serving: NodeStatus.Serving, clock: NodeStatus.Clock, tracking: TrackingReport?,
                refclocks: [TimekeepingStatus.Refclock], leap: TimekeepingStatus.Leap?) {
        self.name = name
        self.serving = serving
        self.clock = clock
        self.tracking = tracking
        self.refclocks = refclocks
        self.leap = leap
    }

    public init(status: NodeStatus) {
        name = status.name
        serving = status.serving
        clock = status.clock
        tracking = status.timekeeping?.tracking
        refclocks = status.timekeeping?.refclocks ?? []
        leap = status.timekeeping?.leap
    }
}

/// `GET /v1/sources` and `GET /v1/sourcestats`: one report per time source (chronyc sources / sourcestats).
public struct AdminSources: AdminBody {
    public var sources: [SourceReport]
    public init(sources: [SourceReport]) { self.sources = sources }
    public init(status: NodeStatus) { sources = status.timekeeping?.sources ?? [] }
}

/// `GET /v1/serverstats`: chronyc serverstats, counted the node's way (every datagram once).
public struct AdminServerStats: AdminBody {
    public var ntp: ServerCounters
    /// nil without `[nts]`.
    public var ntske: NTSKECounters?
    public var ntskeActiveConnections: Int?
    public var rateLimiting: Bool
    public var configReloads: Int
    public var uptimeSeconds: Double
    /// Admin API connections refused at the TLS handshake (no, foreign or expired client certificate).
    public var adminRefusedHandshakes: Int?

    public init(status: NodeStatus, adminRefusedHandshakes: Int? = nil) {
        self.adminRefusedHandshakes = adminRefusedHandshakes
        ntp = status.ntp
        ntske = status.nts?.ntske
        ntskeActiveConnections = status.nts?.activeConnections
        rateLimiting = status.rateLimiting
        configReloads = status.configReloads
        uptimeSeconds = status.uptimeSeconds
    }

    public init(ntp: ServerCounters, ntske: NTSKECounters?, ntskeActiveConnections: Int?, rateLimiting: Bool, configReloads: Int, uptimeSeconds: Double) {
        self.ntp = ntp
        self.ntske = ntske
        self.ntskeActiveConnections = ntskeActiveConnections
        self.rateLimiting = rateLimiting
        self.configReloads = configReloads
        self.uptimeSeconds = uptimeSeconds
    }
}

/// `GET /v1/clients`: the busiest NTP clients. They are counted in the rate limiter's fixed-size table
/// (`[ratelimit] clients` entries, bounded memory), so only a node with `[ratelimit]` tracks them.
public struct AdminClients: AdminBody {
    public var tracked: Bool
    public var note: String?
    public var clients: [NodeStatus.Client]

    public init(status: NodeStatus) {
        tracked = status.rateLimiting
        note = status.rateLimiting ? nil : "clients are tracked by the rate limiter's table: enable [ratelimit] to see them"
        clients = status.busiestClients
    }
}

/// `GET /v1/gps`: the reference clocks (gpsd fix and satellites, SHM, PPS devices and pulses).
public struct AdminGPS: AdminBody {
    public var refclocks: [TimekeepingStatus.Refclock]
    public init(status: NodeStatus) { refclocks = status.timekeeping?.refclocks ?? [] }
}

/// An NTS cookie master key as the admin API shows it: never its bytes.
public struct CookieKeyInfo: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable, Equatable {
        /// Opens cookies (so every node can open them before any node seals with it), seals none yet.
        case staged
        /// Seals new cookies.
        case current
        /// Opens cookies sealed before the last activation or rotation.
        case previous
    }

    public var id: UInt32
    public var state: State
    /// Unix seconds.
    public var createdAt: Int64
    public var ageSeconds: Int64

    public init(id: UInt32, state: State, createdAt: Int64, ageSeconds: Int64) {
        self.id = id
        self.state = state
        self.createdAt = createdAt
        self.ageSeconds = ageSeconds
    }
}

/// `GET /v1/keys`: symmetric NTP keys and NTS cookie master keys: ids, types, states and ages, never material.
public struct AdminKeys: AdminBody {
    public var symmetric: [NodeStatus.SymmetricKey]
    /// Empty without `[nts]`.
    public var cookie: [CookieKeyInfo]
    public var cookieRotateIntervalSeconds: Int64?
    /// Each sibling's key set: the send key, the accepted keys and, once changed through the API, the stored
    /// history (states and times). nil on a node without siblings.
    public var siblings: [AdminSiblingKeys]?

    public init(symmetric: [NodeStatus.SymmetricKey], cookie: [CookieKeyInfo], cookieRotateIntervalSeconds: Int64?, siblings: [AdminSiblingKeys]? = nil) {
        self.symmetric = symmetric
        self.cookie = cookie
        self.cookieRotateIntervalSeconds = cookieRotateIntervalSeconds
        self.siblings = siblings
    }
}

/// One sibling's symmetric keys (ids only, never material).
public struct AdminSiblingKeys: Codable, Sendable, Equatable {
    public struct Stored: Codable, Sendable, Equatable {
        public var id: UInt32
        /// chrony's type name.
        public var type: String
        /// "staged", "active" or "retired".
        public var state: String
        /// Unix seconds.
        public var createdAt: Int64
        public var changedAt: Int64
        public init(id: UInt32, type: String, state: String, createdAt: Int64, changedAt: Int64) {
            self.id = id
            self.type = type
            self.state = state
            self.createdAt = createdAt
            self.changedAt = changedAt
        }
    }

    public var name: String
    public var sendKey: UInt32
    public var acceptedKeys: [UInt32]
    /// From the state database; empty while the configuration still decides this sibling's keys.
    public var stored: [Stored]

    public init(name: String, sendKey: UInt32, acceptedKeys: [UInt32], stored: [Stored]) {
        self.name = name
        self.sendKey = sendKey
        self.acceptedKeys = acceptedKeys
        self.stored = stored
    }
}

/// A certificate as an operator checks it.
public struct CertificateDetails: Codable, Sendable, Equatable {
    public var subject: String
    public var issuer: String
    /// Subject alternative names: "DNS:name", "IP:address".
    public var subjectAlternativeNames: [String]
    /// Unix seconds.
    public var notBefore: Int64
    public var notAfter: Int64
    /// SHA-256 of the DER encoding, lower-case hex.
    public var sha256: String
    /// Certificates in the chain after the leaf.
    public var intermediates: Int

    public init(subject: String, issuer: String, subjectAlternativeNames: [String], notBefore: Int64, notAfter: Int64, sha256: String, intermediates: Int) {
        self.subject = subject
        self.issuer = issuer
        self.subjectAlternativeNames = subjectAlternativeNames
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.sha256 = sha256
        self.intermediates = intermediates
    }
}

/// `GET /v1/certificates`: the NTS-KE certificate in service and the admin API's own.
public struct AdminCertificates: AdminBody {
    public var nts: CertificateDetails?
    /// NTS-KE certificate swaps since start.
    public var ntsSwaps: Int?
    public var admin: CertificateDetails?

    public init(nts: CertificateDetails?, ntsSwaps: Int?, admin: CertificateDetails?) {
        self.nts = nts
        self.ntsSwaps = ntsSwaps
        self.admin = admin
    }
}

/// `GET /v1/overview`: health, tracking, sources, keys and certificates in one answer, so a fleet sweep
/// costs one TLS handshake per node instead of five.
public struct AdminOverview: AdminBody {
    public var health: AdminHealth
    public var tracking: AdminTracking
    public var sources: AdminSources
    public var keys: AdminKeys
    public var certificates: AdminCertificates

    public init(health: AdminHealth, tracking: AdminTracking, sources: AdminSources, keys: AdminKeys, certificates: AdminCertificates) {
        self.health = health
        self.tracking = tracking
        self.sources = sources
        self.keys = keys
        self.certificates = certificates
    }
}

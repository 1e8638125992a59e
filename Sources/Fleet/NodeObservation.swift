import NodeModels

/// Everything one sweep saw of one node, from inside (its admin API) and from outside (an NTP exchange, an
/// NTS-KE handshake and an NTS-protected exchange, its cookies presented to its site's other nodes). The
/// admin tool's edges fill it in; `HealthRules` judges it. Each part is either what was seen or why not.
public struct NodeObservation: Sendable, Codable, Equatable {
    public var node: String
    public var site: String
    /// What the admin API said (nil when no read succeeded: see `adminFailure`).
    public var admin: AdminView?
    public var adminFailure: ProbeFailure?
    public var ntp: NTPProbe?
    public var ntpFailure: ProbeFailure?
    /// nil, with no failure, for a node the inventory gives no NTS-KE service.
    public var nts: NTSProbe?
    public var ntsFailure: ProbeFailure?
    /// This node's cookies presented to the other nodes of its site.
    public var cookieChecks: [CookieCheck]
    /// Seconds the node's checks took (wall clock of the sweeping host).
    public var elapsed: Double

    public init(node: String, site: String) {
        self.node = node
        self.site = site
        cookieChecks = []
        elapsed = 0
    }
}

/// Why a probe has no result, sorted into what an operator does about it.
public struct ProbeFailure: Error, Sendable, Codable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Codable, Equatable {
        /// Nothing answered: connection refused, no route, no reply.
        case unreachable
        /// It did not finish within the sweep's per-node deadline.
        case timeout
        /// The admin API refused our client certificate at the handshake.
        case refusedCredentials
        /// The node's certificate did not verify (chain, name, expiry).
        case certificate
        /// It answered, but not as the protocol says (NTS NAK, bad record, unauthenticated reply).
        case protocolError
        /// Our side could not even try (unreadable credential file).
        case local
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

/// The admin API's reads of one node.
public struct AdminView: Sendable, Codable, Equatable {
    public var health: AdminHealth
    public var tracking: AdminTracking
    public var sources: [SourceReportView]
    public var keys: AdminKeys?
    public var certificates: AdminCertificates?

    public init(health: AdminHealth, tracking: AdminTracking, sources: [SourceReportView], keys: AdminKeys? = nil, certificates: AdminCertificates? = nil) {
        self.health = health
        self.tracking = tracking
        self.sources = sources
        self.keys = keys
        self.certificates = certificates
    }
}

/// The parts of a node's source report the sweep judges (kept small so history rows stay small).
public struct SourceReportView: Sendable, Codable, Equatable {
    public var name: String
    /// "gpsd", "shm", "pps", "server", "sibling".
    public var kind: String
    public var isReferenceClock: Bool
    /// chronyc's state symbol name: "selected", "falseticker", ...
    public var state: String
    public var reach: Int
    public var offset: Double?
    public var note: String?
    /// A reference clock's time jump held right now (seconds), nil when none (or from an older node).
    public var heldJump: Double?
    /// True while a reference clock's newest sample named a time below the node's floor.
    public var belowFloor: Bool?
    /// Samples dropped since start as part of a held jump, and as below the floor.
    public var droppedJumped: UInt64?
    public var droppedBelowFloor: UInt64?

    public init(
        name: String, kind: String, isReferenceClock: Bool, state: String, reach: Int, offset: Double?, note: String?,
        heldJump: Double? = nil, belowFloor: Bool? = nil, droppedJumped: UInt64? = nil, droppedBelowFloor: UInt64? = nil
    ) {
        self.name = name
        self.kind = kind
        self.isReferenceClock = isReferenceClock
        self.state = state
        self.reach = reach
        self.offset = offset
        self.note = note
        self.heldJump = heldJump
        self.belowFloor = belowFloor
        self.droppedJumped = droppedJumped
        self.droppedBelowFloor = droppedBelowFloor
    }
}

/// One plain NTP exchange from the sweeping host.
public struct NTPProbe: Sendable, Codable, Equatable {
    public var stratum: Int
    public var leap: Int
    public var referenceID: String
    /// The node's offset from the sweeping host's clock (only differences between nodes mean anything).
    public var offset: Double
    public var delay: Double
    public var rootDistance: Double

    public init(stratum: Int, leap: Int, referenceID: String, offset: Double, delay: Double, rootDistance: Double) {
        self.stratum = stratum
        self.leap = leap
        self.referenceID = referenceID
        self.offset = offset
        self.delay = delay
        self.rootDistance = rootDistance
    }
}

/// An NTS-KE handshake (chain verified against the inventory's trust anchors and the node's NTS name) and
/// one NTS-authenticated exchange.
public struct NTSProbe: Sendable, Codable, Equatable {
    /// The certificate actually served (the leaf).
    public var certificate: ServedCertificate
    /// Where NTS-KE sent NTP ("host:port").
    public var ntpServer: String
    public var aead: Int
    public var stratum: Int
    public var offset: Double

    public init(certificate: ServedCertificate, ntpServer: String, aead: Int, stratum: Int, offset: Double) {
        self.certificate = certificate
        self.ntpServer = ntpServer
        self.aead = aead
        self.stratum = stratum
        self.offset = offset
    }
}

/// A certificate as a node served it in a handshake.
public struct ServedCertificate: Sendable, Codable, Equatable {
    public var subject: String
    public var subjectAlternativeNames: [String]
    /// Unix seconds.
    public var notAfter: Int64
    /// SHA-256 of the DER, lower-case hex.
    public var sha256: String

    public init(subject: String, subjectAlternativeNames: [String], notAfter: Int64, sha256: String) {
        self.subject = subject
        self.subjectAlternativeNames = subjectAlternativeNames
        self.notAfter = notAfter
        self.sha256 = sha256
    }

    /// Days (fractional) from `now` (Unix seconds) to the end of validity; negative once expired. The one
    /// place the health rules and `fleetctl certs status` compute it.
    public func daysLeft(at now: Double) -> Double {
        (Double(notAfter) - now) / 86_400
    }
}

/// A cookie that `issuer` sealed, presented by the sweep to `verifier`, another node of the same site.
/// Every node of a site must open every other's cookies (RFC 8915 §6: the site shares its master keys).
public struct CookieCheck: Sendable, Codable, Equatable {
    public enum Outcome: String, Sendable, Codable, Equatable {
        /// An authenticated answer: the verifier opened the cookie.
        case accepted
        /// NTS NAK: the verifier could not open it.
        case rejected
        /// No verdict: the verifier did not answer.
        case failed
    }

    public var issuer: String
    public var verifier: String
    public var outcome: Outcome
    public var message: String?

    public init(issuer: String, verifier: String, outcome: Outcome, message: String? = nil) {
        self.issuer = issuer
        self.verifier = verifier
        self.outcome = outcome
        self.message = message
    }
}

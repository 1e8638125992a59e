import NodeModels

/// The fleet as fleetctl knows it (`fleet.toml`): its sites, its nodes and how to reach each side of them
/// (admin API, NTP, NTS-KE), the operator's credentials, the trust anchors NTS clients use, and the
/// thresholds the health sweep judges by. Pure data: `InventoryReader` makes it from TOML, the admin tool's
/// edges use it.
public struct Inventory: Sendable, Equatable {
    public struct Site: Sendable, Equatable {
        public var name: String
        public init(name: String) { self.name = name }
    }

    public struct Node: Sendable, Equatable {
        public var name: String
        public var site: String
        /// The admin API (mutual TLS), `host:port`.
        public var admin: SocketEndpoint
        /// The name the admin certificate carries, when `admin` is an address it does not.
        public var adminServerName: String?
        /// The NTP service, `host:port` (port 123 unless given).
        public var ntp: SocketEndpoint
        /// The NTS-KE service, `host:port` (port 4460 unless given); nil for a node without NTS.
        public var ntsKE: SocketEndpoint?
        /// The name NTS clients verify the certificate against (default: `ntsKE`'s host).
        public var ntsServerName: String?
        /// The names of the nodes it peers with (symmetric-key authenticated NTP).
        public var siblings: [String]

        public init(
            name: String, site: String, admin: SocketEndpoint, adminServerName: String? = nil, ntp: SocketEndpoint,
            ntsKE: SocketEndpoint? = nil, ntsServerName: String? = nil, siblings: [String] = []
        ) {
            self.name = name
            self.site = site
            self.admin = admin
            self.adminServerName = adminServerName
            self.ntp = ntp
            self.ntsKE = ntsKE
            self.ntsServerName = ntsServerName
            self.siblings = siblings
        }

        /// The name an NTS client checks the served certificate against.
        public var ntsName: String? { ntsServerName ?? ntsKE?.host }
    }

    /// The operator's side of the admin API's mutual TLS, and the anchors NTS clients trust.
    public struct Credentials: Sendable, Equatable {
        /// The operator's client certificate and key, issued by the fleet's admin CA.
        public var certificate: String?
        public var privateKey: String?
        /// The fleet's admin CA: it signs the nodes' admin API certificates.
        public var adminCA: String?
        /// PEM file of the CAs NTS clients trust (a site CA or a public one); nil: the system store.
        public var ntsTrustAnchors: String?

        public init(certificate: String? = nil, privateKey: String? = nil, adminCA: String? = nil, ntsTrustAnchors: String? = nil) {
            self.certificate = certificate
            self.privateKey = privateKey
            self.adminCA = adminCA
            self.ntsTrustAnchors = ntsTrustAnchors
        }
    }

    /// What the sweep calls WARN and CRIT, and how it runs. The defaults are what an operator of chrony
    /// would pick: certbot renews at 30 days, so 14 days left means renewal has failed for two weeks.
    public struct Thresholds: Sendable, Equatable {
        public var certificateWarningDays: Double = 14
        public var certificateCriticalDays: Double = 3
        /// A node's offset from the fleet's median (seconds).
        public var offsetWarning: Double = 0.001
        public var offsetCritical: Double = 0.010
        /// Holdover: any holdover is worth a look; this long is an outage in the making (seconds).
        public var holdoverWarning: Double = 0
        public var holdoverCritical: Double = 3_600
        /// Per node: every check of one node must finish within this (seconds).
        public var sweepDeadline: Double = 5
        /// Nodes swept at once.
        public var sweepConcurrency: Int = 16
        /// Rotations: how long a client may still hold a cookie sealed under the previous NTS cookie master
        /// key after the site switched (seconds). A chrony client spends one cookie per poll and gets a new
        /// one back, so eight polls at maxpoll 1024 s (about 2.3 h) renew its jar; a day covers clients that
        /// were offline meanwhile. The previous key is retired only after this.
        public var cookieLifetime: Double = 86_400
        /// Rotations: how long a verification step (keys staged, sibling pairs authenticating, a new
        /// certificate served) may take before the rotation stops there (seconds).
        public var rotationVerifyTimeout: Double = 300

        public init() {}
    }

    public var sites: [Site]
    public var nodes: [Node]
    public var credentials: Credentials
    public var thresholds: Thresholds
    /// The admin host's own SQLite database (sweep history, rotation journal); nil: the default place.
    public var database: String?

    public init(sites: [Site], nodes: [Node], credentials: Credentials = .init(), thresholds: Thresholds = .init(), database: String? = nil) {
        self.sites = sites
        self.nodes = nodes
        self.credentials = credentials
        self.thresholds = thresholds
        self.database = database
    }

    public func node(named name: String) -> Node? { nodes.first { $0.name == name } }

    /// The nodes of `site`, in inventory order.
    public func nodes(in site: String) -> [Node] { nodes.filter { $0.site == site } }

    /// The nodes a command addresses: `names` (each must exist), or every node of `site`, or all.
    public func select(names: [String], site: String?) throws(InventoryError) -> [Node] {
        if let site {
            guard sites.contains(where: { $0.name == site }) else {
                throw InventoryError("no site \"\(site)\" in the inventory (sites: \(sites.map(\.name).joined(separator: ", ")))")
            }
            let chosen = nodes(in: site)
            return names.isEmpty ? chosen : try names.map { name throws(InventoryError) in
                guard let node = chosen.first(where: { $0.name == name }) else { throw InventoryError("no node \"\(name)\" in site \(site)") }
                return node
            }
        }
        if names.isEmpty { return nodes }
        return try names.map { name throws(InventoryError) in
            guard let node = node(named: name) else {
                throw InventoryError("no node \"\(name)\" in the inventory (nodes: \(nodes.map(\.name).joined(separator: ", ")))")
            }
            return node
        }
    }
}

/// A command that names something the inventory does not have.
public struct InventoryError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

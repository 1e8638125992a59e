/// A rotation as planned: what changes on which node, and the steps in order. Made once by
/// `RotationPlanner` from the inventory and the nodes' observed keys, journaled before the first step, and
/// never changed afterwards (a resume follows the same plan). Holds no key material: the new keys' secrets
/// are kept beside it in the admin host's database and only travel to the nodes.
public struct RotationPlan: Sendable, Codable, Equatable {
    /// One site's key change (symmetric or cookie).
    public struct KeyChange: Sendable, Codable, Equatable {
        public var site: String
        public var newID: UInt32
        /// chrony's type name for symmetric keys; "AES-SIV-CMAC-256" for cookie keys.
        public var type: String
        /// Keys retired at the end (symmetric: every old key the siblings accept; cookie: the old current key).
        public var oldIDs: [UInt32]
        public var nodes: [String]

        public init(site: String, newID: UInt32, type: String, oldIDs: [UInt32], nodes: [String]) {
            self.site = site
            self.newID = newID
            self.type = type
            self.oldIDs = oldIDs
            self.nodes = nodes
        }
    }

    /// One node's certificate change: files on the admin host (never their contents).
    public struct CertificateChange: Sendable, Codable, Equatable {
        public struct Files: Sendable, Codable, Equatable {
            public var chain: String
            public var key: String
            /// SHA-256 of the leaf, lower-case hex.
            public var sha256: String
            public init(chain: String, key: String, sha256: String) {
                self.chain = chain
                self.key = key
                self.sha256 = sha256
            }
        }

        public var node: String
        public var new: Files
        /// The certificate in service before, when fleetctl holds its chain and key (else a push cannot be undone).
        public var previous: Files?
        /// The SAN entries the node's clients check ("DNS:ntp1.example.net", "IP:192.0.2.1").
        public var requiredNames: [String]
        /// What the node served when the plan was made.
        public var servedSha256: String?

        public init(node: String, new: Files, previous: Files?, requiredNames: [String], servedSha256: String?) {
            self.node = node
            self.new = new
            self.previous = previous
            self.requiredNames = requiredNames
            self.servedSha256 = servedSha256
        }
    }

    public var kind: RotationKind
    /// The site asked for (nil: every site).
    public var site: String?
    /// The nodes, in inventory order, and the site of each.
    public var nodes: [String]
    public var nodeSites: [String: String]
    /// Unix seconds.
    public var created: Double
    public var keyChanges: [KeyChange]
    /// Symmetric: each node's send key before, for an abort to switch back.
    public var previousSendKeys: [String: UInt32]
    public var certificates: [CertificateChange]
    /// Cookie: seconds between the last activation and the retirement of the previous key.
    public var cookieLifetime: Double
    public var steps: [RotationStep]

    public init(
        kind: RotationKind, site: String?, nodes: [String], nodeSites: [String: String], created: Double, keyChanges: [KeyChange] = [],
        previousSendKeys: [String: UInt32] = [:], certificates: [CertificateChange] = [], cookieLifetime: Double = 0, steps: [RotationStep]
    ) {
        self.kind = kind
        self.site = site
        self.nodes = nodes
        self.nodeSites = nodeSites
        self.created = created
        self.keyChanges = keyChanges
        self.previousSendKeys = previousSendKeys
        self.certificates = certificates
        self.cookieLifetime = cookieLifetime
        self.steps = steps
    }

    public func keyChange(forNode node: String) -> KeyChange? {
        guard let site = nodeSites[node] else { return nil }
        return keyChanges.first { $0.site == site }
    }

    public func certificate(for node: String) -> CertificateChange? { certificates.first { $0.node == node } }

    /// "key 7", or "the new keys (7 in a, 9 in b)" across several sites.
    public var newKeyText: String {
        if keyChanges.count == 1 { return "key \(keyChanges[0].newID)" }
        return "the new keys (" + keyChanges.map { "\($0.newID) in \($0.site)" }.joined(separator: ", ") + ")"
    }

    /// Index of the first step that cannot be undone (nil: every step can).
    public var firstIrreversibleStep: Int? { steps.indices.first { !steps[$0].isReversible(in: self) } }
}

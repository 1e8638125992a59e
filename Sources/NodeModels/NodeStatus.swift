/// A node's state as it reports it (the local status socket and the admin API). Shared by the node,
/// which fills it, and the admin tool, which reads it.
public struct NodeStatus: Codable, Sendable, Equatable {
    public struct Clock: Codable, Sendable, Equatable {
        /// "software": served time is the system clock plus `offsetSeconds` and `frequencyPPM`.
        public var driver: String
        public var offsetSeconds: Double
        public var frequencyPPM: Double
        /// log2 seconds.
        public var precision: Int
        public init(driver: String, offsetSeconds: Double, frequencyPPM: Double, precision: Int) {
            self.driver = driver
            self.offsetSeconds = offsetSeconds
            self.frequencyPPM = frequencyPPM
            self.precision = precision
        }
    }

    /// What the node tells clients (RFC 5905 system variables).
    public struct Serving: Codable, Sendable, Equatable {
        public var synchronized: Bool
        /// The selected source's name (or the last one's, in holdover), "local" when serving under a
        /// `[local] stratum` setting, "none" when unsynchronised.
        public var source: String
        public var leap: Int
        public var stratum: Int
        public var referenceID: String
        public var rootDelaySeconds: Double
        public var rootDispersionSeconds: Double
        public init(synchronized: Bool, source: String, leap: Int, stratum: Int, referenceID: String, rootDelaySeconds: Double, rootDispersionSeconds: Double) {
            self.synchronized = synchronized
            self.source = source
            self.leap = leap
            self.stratum = stratum
            self.referenceID = referenceID
            self.rootDelaySeconds = rootDelaySeconds
            self.rootDispersionSeconds = rootDispersionSeconds
        }
    }

    public struct Listener: Codable, Sendable, Equatable {
        public var address: String
        public var port: Int
        /// SO_REUSEPORT sockets, one receive loop each.
        public var sockets: Int
        /// "SO_TIMESTAMPING", "SO_TIMESTAMPNS" or "none".
        public var timestamping: String
        /// Each socket's receive buffer as the kernel reports it (Linux: twice the usable bytes), which
        /// `[ntp] socket_buffer` asks for; nil from nodes that did not report it.
        public var receiveBuffer: Int?
        public init(address: String, port: Int, sockets: Int, timestamping: String, receiveBuffer: Int? = nil) {
            self.address = address
            self.port = port
            self.sockets = sockets
            self.timestamping = timestamping
            self.receiveBuffer = receiveBuffer
        }
    }

    public struct Client: Codable, Sendable, Equatable {
        public var address: String
        public var requests: UInt64
        public var limited: UInt64
        public init(address: String, requests: UInt64, limited: UInt64) {
            self.address = address
            self.requests = requests
            self.limited = limited
        }
    }

    /// NTS (RFC 8915): the NTS-KE server, its certificate and the cookie master keys (never their bytes).
    public struct NTS: Codable, Sendable, Equatable {
        public struct Certificate: Codable, Sendable, Equatable {
            public var subject: String
            /// Unix seconds.
            public var notAfter: Int64
            public var sha256: String
            public init(subject: String, notAfter: Int64, sha256: String) {
                self.subject = subject
                self.notAfter = notAfter
                self.sha256 = sha256
            }
        }

        public struct CookieKey: Codable, Sendable, Equatable {
            public var id: UInt32
            /// Unix seconds.
            public var createdAt: Int64
            public var current: Bool
            public init(id: UInt32, createdAt: Int64, current: Bool) {
                self.id = id
                self.createdAt = createdAt
                self.current = current
            }
        }

        /// The cookie key file and whether it can be written now (failed writes since the last one that got
        /// through; the keys in memory stay in use meanwhile).
        public struct KeyFile: Codable, Sendable, Equatable {
            public var path: String
            /// Unix seconds since writes have been failing; nil while they get through.
            public var failingSince: Int64?
            public var writeFailures: UInt64
            public var lastError: String?
            public init(path: String, failingSince: Int64? = nil, writeFailures: UInt64 = 0, lastError: String? = nil) {
                self.path = path
                self.failingSince = failingSince
                self.writeFailures = writeFailures
                self.lastError = lastError
            }
        }

        public var listeners: [String]
        public var certificate: Certificate?
        public var certificateSwaps: Int
        public var cookieKeys: [CookieKey]
        public var rotateIntervalSeconds: Int64
        public var ntske: NTSKECounters
        /// NTS-KE connections in progress now.
        public var activeConnections: Int
        /// Optional so that status from older nodes still decodes.
        public var keyFile: KeyFile?
        public init(listeners: [String], certificate: Certificate?, certificateSwaps: Int, cookieKeys: [CookieKey], rotateIntervalSeconds: Int64, ntske: NTSKECounters, activeConnections: Int, keyFile: KeyFile? = nil) {
            self.listeners = listeners
            self.certificate = certificate
            self.certificateSwaps = certificateSwaps
            self.cookieKeys = cookieKeys
            self.rotateIntervalSeconds = rotateIntervalSeconds
            self.ntske = ntske
            self.activeConnections = activeConnections
            self.keyFile = keyFile
        }
    }

    public var name: String
    public var version: String
    public var uptimeSeconds: Double
    public var clock: Clock
    public var serving: Serving
    public var listeners: [Listener]
    public var ntp: ServerCounters
    public var busiestClients: [Client]
    public var rateLimiting: Bool
    /// Load shedding's bound (`[ntp] max_queue_delay`) in seconds, nil when the node answers whatever the wait.
    public var maxQueueDelaySeconds: Double?
    /// How replies leave (`[ntp] send`): "each" (a send call per reply, stamped just before it) or "batch".
    public var sendMode: String?
    public var configReloads: Int
    public var nts: NTS?
    /// Sources, selection, discipline, holdover and leap seconds; nil when the node has no time source.
    public var timekeeping: TimekeepingStatus?

    /// A symmetric NTP key as status shows it: never its material.
    public struct SymmetricKey: Codable, Sendable, Equatable {
        public var id: UInt32
        /// chrony's type name: MD5, SHA1, SHA256, SHA384, SHA512, AES128, AES256.
        public var type: String
        public var bits: Int
        public init(id: UInt32, type: String, bits: Int) {
            self.id = id
            self.type = type
            self.bits = bits
        }
    }

    /// The keys of `[keys] file`, empty without one.
    public var symmetricKeys: [SymmetricKey] = []
    /// "address:port" of the Prometheus listener, nil without `[metrics]`.
    public var metricsListener: String?
    /// `[[sibling]]` peering, both directions.
    public var siblings: [Sibling] = []
    /// "host:port" new NTS-KE clients are pointed at (Server Negotiation) while this node cannot serve good
    /// time, nil while it serves them itself.
    public var ntsSteeredTo: String?
    /// The state database (`[state]`), nil without one.
    public var stateStore: StateStoreStatus?
    /// "address:port" of the admin API (HTTPS, mutual TLS), nil without `[admin]`.
    public var adminListener: String?
    /// Open descriptors, the limit and failed accepts; nil from nodes that did not report it.
    public var descriptors: DescriptorStatus?

    public init(name: String, version: String, uptimeSeconds: Double, clock: Clock, serving: Serving, listeners: [Listener], ntp: ServerCounters, busiestClients: [Client], rateLimiting: Bool, configReloads: Int, nts: NTS? = nil, timekeeping: TimekeepingStatus? = nil, symmetricKeys: [SymmetricKey] = [], metricsListener: String? = nil, siblings: [Sibling] = [], ntsSteeredTo: String? = nil, stateStore: StateStoreStatus? = nil, adminListener: String? = nil, descriptors: DescriptorStatus? = nil, maxQueueDelaySeconds: Double? = nil, sendMode: String? = nil) {
        self.name = name
        self.version = version
        self.uptimeSeconds = uptimeSeconds
        self.clock = clock
        self.serving = serving
        self.listeners = listeners
        self.ntp = ntp
        self.busiestClients = busiestClients
        self.rateLimiting = rateLimiting
        self.configReloads = configReloads
        self.nts = nts
        self.timekeeping = timekeeping
        self.symmetricKeys = symmetricKeys
        self.metricsListener = metricsListener
        self.siblings = siblings
        self.ntsSteeredTo = ntsSteeredTo
        self.stateStore = stateStore
        self.adminListener = adminListener
        self.descriptors = descriptors
        self.maxQueueDelaySeconds = maxQueueDelaySeconds
        self.sendMode = sendMode
    }
}

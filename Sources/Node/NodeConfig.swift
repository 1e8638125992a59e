import Fleet
import Logging
import NTPCore

/// The node's configuration, from one TOML file (see deploy/examples/fleetnode.toml for every key).
public struct NodeConfig: Sendable, Equatable {
    public struct NTP: Sendable, Equatable {
        /// Addresses to serve NTP on (default port 123).
        public var listen: [SocketEndpoint] = [
            SocketEndpoint(host: "0.0.0.0", port: 123), SocketEndpoint(host: "::", port: 123),
        ]
        /// Receive loops per address, each on its own SO_REUSEPORT socket; 0 means one per core.
        public var threads: Int = 0
        /// Datagrams taken per recvmmsg/sendmmsg call.
        public var batch: Int = 32
    }

    /// NTS (RFC 8915): the NTS-KE server and NTS-protected NTP. Present when the `[nts]` table is.
    public struct NTS: Sendable, Equatable {
        /// NTS-KE addresses (TCP, default port 4460).
        public var listen: [SocketEndpoint] = [
            SocketEndpoint(host: "0.0.0.0", port: 4460), SocketEndpoint(host: "::", port: 4460),
        ]
        /// PEM certificate chain (leaf first) and private key; reloaded when the files change and on SIGHUP.
        public var certificate: String = ""
        public var privateKey: String = ""
        /// Cookie master keys, shared by every node of a site (mode 0600; created if missing).
        public var keyFile: String = "/var/lib/fleetnode/nts-cookie-keys"
        /// Seconds between master-key rotations done by this node; 0 = never (the fleet tool rotates).
        public var rotateInterval: Int64 = 604_800
        /// Master keys kept: cookies sealed under the newest `keyHistory` keys still open.
        public var keyHistory: Int = 3
        /// Server and Port Negotiation records sent to clients (RFC 8915 §4.1.7, §4.1.8); nil: none for the
        /// server, and for the port: the node's first NTP port when it is not 123.
        public var ntpServer: String?
        public var ntpPort: UInt16?
        public var maximumConnections: Int = 100
        /// Event-loop threads for NTS-KE (TLS handshakes); 0 = one per core.
        public var threads: Int = 0
        /// Seconds allowed for handshake plus request.
        public var timeout: Double = 2
        /// New NTS-KE sessions per client address (`[nts.ratelimit]`, as chrony's `ntsratelimit`); nil: off.
        public var sessionRate: RateLimitPolicy?
        /// Seconds between checks of the certificate files for a renewal.
        public var certificateCheckInterval: Double = 10
    }

    /// How the node keeps time. Only the software clock exists yet: it serves the system clock plus the
    /// node's own correction and never touches the kernel clock.
    public enum ClockDriver: String, Sendable, Equatable, CaseIterable {
        case software
    }

    public var name: String = "fleetnode"
    public var logLevel: Logger.Level = .info
    /// Local status socket (JSON), readable by the owner and group only.
    public var statusSocket: String = "/run/fleetnode/status.sock"
    public var clockDriver: ClockDriver = .software
    /// Like chrony's `local stratum N`: serve the node's clock as synchronised at this stratum while no
    /// time source exists. nil: the node answers as unsynchronised (leap 3) until a source is selected.
    public var localStratum: UInt8?
    public var ntp = NTP()
    public var policy = ServerPolicy()
    public var nts: NTS?
    /// Capacity of the per-client rate-limit table (bounded memory, however many clients).
    public var rateLimitClients: Int = 65_536

    public init() {}
}

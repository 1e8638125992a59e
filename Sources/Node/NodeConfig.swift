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
    /// Capacity of the per-client rate-limit table (bounded memory, however many clients).
    public var rateLimitClients: Int = 65_536

    public init() {}
}

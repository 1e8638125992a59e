import NodeModels
import Logging
import NTPCore
import TimeCore

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
        /// Receive and send buffer of each socket, in bytes (0 = the kernel's default, about 208 KiB on
        /// Linux: some 200 queued requests, which a few milliseconds of scheduling delay at a busy site
        /// overflow). Granted up to net.core.rmem_max, or beyond it when the node runs with CAP_NET_ADMIN.
        public var socketBuffer: Int = 4 << 20
        /// How replies leave (`[ntp] send`): `.each` in a system call of its own, stamped immediately before
        /// it, as chronyd does; `.batch` all of a batch in one sendmmsg.
        public var send: SendMode = .each
        /// With `send = "batch"`: basic-mode transmit timestamps written for when each reply is expected to
        /// leave (its place in the sendmmsg batch, learned from kernel transmit timestamps); false: the clock
        /// as each reply is written.
        public var predictTransmit = true

        /// Requests are always read in batches (recvmmsg); this says how the replies go out.
        public enum SendMode: String, Sendable, Equatable, CaseIterable {
            /// One send call per reply, its basic-mode T3 (RFC 5905 §8) read just before that call: late
            /// only by the system call's entry, which is learned from kernel transmit timestamps and added.
            /// A reply never waits for the others of its batch, nor for a preemption between a batch's
            /// stamping and its send.
            case each
            /// One sendmmsg per batch, every T3 predicted for the reply's place in it (`predictTransmit`):
            /// fewer system calls, a wider spread of the basic-mode error.
            case batch
        }
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
        /// Steering (RFC 8915 §4.1.7): while this node is unsynchronised, or in holdover for longer than
        /// `steerHoldover` seconds, new NTS-KE clients are pointed at a synchronised sibling's NTP service
        /// (the site shares its cookie keys, so the sibling opens the cookies). Off when `steer` is false or
        /// the node has no siblings.
        public var steer = true
        public var steerHoldover: Double = 3_600
        /// Unfinished NTS-KE connections at once (`max_connections`); when all are taken the oldest unfinished
        /// one is evicted for a newcomer. 256: an attacker on 100 addresses, renewing connections at the rate
        /// allowed under pressure (1 a second per address), holds about 200 within the 2 s deadline.
        public var maximumConnections: Int = 256
        /// Unfinished NTS-KE connections at once from one IPv4 address or IPv6 /64 (`max_connections_per_source`).
        public var maximumConnectionsPerSource: Int = 8
        /// Event-loop threads for NTS-KE (TLS handshakes); 0 = one per core.
        public var threads: Int = 0
        /// Keyed ciphers of recent NTS clients' own keys kept per NTP receive loop (`key_cache`, 0 = none):
        /// a client polling again costs no AES key schedule (`NTSKeyCipherCache`, about 600 bytes a slot).
        public var keyCache: Int = NTSKeyCipherCache.defaultCapacity
        /// Seconds from accept to a complete request: the handshake and the request both within it.
        public var timeout: Double = 2
        /// New NTS-KE sessions per client address (`[nts.ratelimit]`, as chrony's `ntsratelimit`); nil: off.
        /// Over the limit a connection is refused outright: `leak` is read for chrony compatibility but does not
        /// apply to TCP, whose sources cannot be spoofed.
        public var sessionRate: RateLimitPolicy?
        /// Seconds between checks of the certificate files for a renewal.
        public var certificateCheckInterval: Double = 10
    }

    /// How the node keeps time. The software clock serves the local timescale plus the discipline's model and
    /// never touches the kernel clock; the system clock driver steers the kernel with adjtimex and needs
    /// CAP_SYS_TIME, so it is used only when configured.
    public enum ClockDriver: String, Sendable, Equatable, CaseIterable {
        case software
        case system
    }

    /// How a leap second reaches served time.
    public enum LeapMode: String, Sendable, Equatable, CaseIterable {
        /// 23:59:59 is served twice (or skipped): what the kernel and most servers do.
        case step
        /// The second is spread linearly over `leapSmearHours` centred on the leap; no leap indicator is served.
        case smear
    }

    /// `[clock]`: the discipline, holdover and leap seconds.
    public struct Clock: Sendable, Equatable {
        public var driver: ClockDriver = .software
        /// Frequency persisted here hourly and at shutdown, restored at start (chrony's `driftfile`).
        public var driftFile: String?
        /// Seconds of holdover after which the node answers as unsynchronised (leap 3).
        public var holdoverLimit: Double = 86_400
        /// Growth of the error bound after the last update, ppm, on top of three standard errors of the
        /// measured frequency: how far the oscillator may wander unnoticed (chrony's `maxclockerror`, 1 ppm).
        public var holdoverRatePPM: Double = 1
        /// Step instead of slew above this offset (seconds), during the first `stepLimit` updates; -1: always.
        public var stepThreshold: Double = 0.1
        public var stepLimit: Int = -1
        /// The largest first step taken without an operator while the system clock is synchronised (seconds, 0: no
        /// limit): `TimeKeeperConfiguration.maxFirstStep`.
        public var maxFirstStep: Double = 1000
        /// leap-seconds.list (IETF/NIST, hash checked) or a TZif file such as right/UTC; nil: only the sources' vote.
        public var leapFile: String?
        public var leapMode: LeapMode = .step
        public var leapSmearHours: Double = 24
        /// Selection (chrony's `minsources`, `maxdistance`, `combinelimit`).
        public var minSources: Int = 1
        public var maxDistance: Double = 3
        public var combineLimit: Double = 3
    }

    /// `[[refclock]]`: a reference clock.
    public struct Refclock: Sendable, Equatable {
        public enum Driver: String, Sendable, Equatable, CaseIterable {
            /// gpsd through libgps: TPV time (and TOFF where gpsd sends it), fix and satellites.
            case gpsd
            /// gpsd's NTP shared-memory segment `unit` (chrony `refclock SHM`).
            case shm
            /// A Linux PPS device, pulses numbered by `lock`.
            case pps
        }

        public var name: String
        public var driver: Driver
        /// gpsd: "host:port" (default 127.0.0.1:2947).
        public var gpsd: String = "127.0.0.1:2947"
        /// shm: the segment unit, 0-7 (key 0x4E545030 + unit).
        public var unit: Int = 0
        /// pps: the device.
        public var device: String = "/dev/pps0"
        /// pps: the refclock whose time numbers the pulses.
        public var lock: String?
        /// Seconds between reachability shifts (chrony `poll`, as seconds here).
        public var poll: Double = 16
        /// prefer, noselect, trust, require, offset (seconds added to every sample).
        public var options = SourceOptions()
    }

    /// `[[server]]`: an upstream NTP or NTS server polled in client mode.
    public struct Server: Sendable, Equatable {
        public var host: String
        public var port: UInt16 = 123
        /// NTS: key establishment at `host`:`kePort`, the certificate checked against `ca` (PEM) or the system store.
        public var nts = false
        public var kePort: UInt16 = 4460
        public var ca: String?
        /// Four quick requests at start (2 s apart) instead of one (chrony `iburst`).
        public var iburst = true
        /// Interleaved client mode (RFC 9769 §2, chrony's `xleave`): requests name the previous answer, so
        /// the server can send the kernel's transmit timestamp of that answer. Off unless asked, as in chrony;
        /// with a server that does not interleave, answers simply stay basic.
        public var xleave = false
        /// Poll interval bounds, log2 seconds (chrony `minpoll`/`maxpoll`).
        public var minPoll: Int = 6
        public var maxPoll: Int = 10
        /// Symmetric key id from `[keys] file` (chrony's `key N`): requests carry a MAC, responses must too.
        public var key: UInt32?
        public var options = SourceOptions()

        /// The source id: the host, with the port when it is not 123.
        public var name: String { NodeConfig.sourceName(host: host, port: port) }
    }

    /// How status and logs name a network source: "host", or "host:port" off the NTP port.
    static func sourceName(host: String, port: UInt16) -> String { port == 123 ? host : "\(host):\(port)" }

    /// `[[sibling]]`: another node of the same site, polled in client mode with a symmetric-key MAC on every
    /// request and reply (RFC 5905 §7.5, RFC 8573). Siblings are sources like any other; with a healthy
    /// reference clock they only cross-check it (see `SourceSelection`, step 7), without one the node follows
    /// the best of them at its stratum + 1.
    ///
    /// Client/server mode rather than symmetric active/passive: each node measures each sibling on its own
    /// schedule with the same stateless server code every client gets, so a lost packet or a restarted node
    /// never leaves a peer association half-synchronised, replayed or spoofed symmetric-mode packets cannot
    /// disturb it (RFC 5905 symmetric mode has had several such holes), and a key change needs no
    /// coordination beyond the key sets below. ntpd-rs does the same (it implements no symmetric mode) and
    /// chrony recommends `server` over `peer` when both ends are servers.
    public struct Sibling: Sendable, Equatable {
        public var host: String
        public var port: UInt16 = 123
        /// The key this node's requests to the sibling carry (the sibling answers under the same key).
        public var key: UInt32
        /// The keys accepted on requests *from* this sibling's address; always includes `key`. A key change:
        /// stage the new key in every node's `accept`, switch `key`, then drop the old key from `accept`.
        public var accept: Set<UInt32>
        public var iburst = true
        /// Interleaved client mode (RFC 9769 §2, chrony's `xleave`): requests name the previous answer, so
        /// the server can send the kernel's transmit timestamp of that answer. Off unless asked, as in chrony;
        /// with a server that does not interleave, answers simply stay basic.
        public var xleave = false
        /// Poll interval bounds, log2 seconds; siblings sit on one LAN, so they are polled more often than
        /// upstream servers.
        public var minPoll: Int = 4
        public var maxPoll: Int = 6
        public var options = SourceOptions()

        public init(host: String, port: UInt16 = 123, key: UInt32, accept: Set<UInt32>? = nil) {
            self.host = host
            self.port = port
            self.key = key
            self.accept = (accept ?? []).union([key])
        }

        /// The source id: the address, with the port when it is not 123.
        public var name: String { NodeConfig.sourceName(host: host, port: port) }
    }

    /// `[state]`: the node's state database (keys, drift, measurement history, event journal).
    public struct State: Sendable, Equatable {
        /// SQLite file (mode 0600, created with its directory if missing).
        public var database: String
        /// Seconds of measurement history kept (a week by default); the journal and keys are kept.
        public var retention: Double
        /// Seconds between batched writes of measurements and events.
        public var flushInterval: Double

        public init(database: String = "/var/lib/fleetnode/state.sqlite", retention: Double = 604_800, flushInterval: Double = 5) {
            self.database = database
            self.retention = retention
            self.flushInterval = flushInterval
        }
    }

    public var name: String = "fleetnode"
    public var logLevel: Logger.Level = .info
    /// Local status socket (JSON), readable by the owner and group only.
    public var statusSocket: String = "/run/fleetnode/status.sock"
    /// `[node] user`: started as root, the node binds its ports, then runs as this user with no capability
    /// but CAP_SYS_TIME for the system clock driver (chronyd's `-u`; see `PrivilegeDrop`). nil: no drop.
    public var user: String?
    public var clock = Clock()
    public var refclocks: [Refclock] = []
    /// `[keys] file`: symmetric NTP keys in chrony's key file format (mode 0600; reloaded on SIGHUP).
    public var keyFile: String?
    /// `[metrics] listen`: Prometheus text format over HTTP (GET /metrics); nil without the table.
    public var metricsListen: SocketEndpoint?
    /// `[state]`: nil without the table (no database: keys and drift live only in their files).
    public var state: State?
    /// `[admin]`: the HTTPS admin API with mutual TLS (Admin/AdminConfig.swift); nil without the table.
    public var admin: Admin?
    public var servers: [Server] = []
    public var siblings: [Sibling] = []
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

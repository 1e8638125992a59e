import ConfigFile
import Dispatch
import FleetCrypto
import NodeModels
import Foundation
import Logging
import NTPCore
import ServiceLifecycle
import NIOConcurrencyHelpers
import Synchronization

/// What every receive loop of the server shares. The rules are read once per batch; the rate limiter is
/// the only state written on the packet path, so it has a lock of its own, held briefly once per batch.
final class ServerShared: Sendable {
    let rules: NIOLockedValueBox<NTPServerRules>
    /// Counts changes of `rules` and `cookieKeys` (`updateRules`, `serveNTS`), each counted after it is made:
    /// loops keep their `LoopRules` until it moves.
    let rulesGeneration = Atomic<UInt64>(0)
    /// NTS's cookie master keys, shared with NTS-KE; nil when the node serves no NTS. Read once per batch.
    let cookieKeys = NIOLockedValueBox<CookieKeyProvider?>(nil)
    let limiter: NIOLockedValueBox<RateLimiter>
    /// Our responses' timestamps for interleaved mode (RFC 9769 §2): written after each batch is sent and
    /// when kernel transmit timestamps come back, read for requests in the interleaved form. Shared by all
    /// loops: a client's successive requests (chrony opens a new source port for each) reach any socket.
    let timestamps: NIOLockedValueBox<ServerTimestampTable>
    let serving: ServingState
    let clock: any NodeClock
    let statistics: ServerStatistics
    let siblingTraffic = SiblingTraffic()
    let stopping = Atomic<Bool>(false)
    let logger: Logger
    /// `[ntp] send`: a send call per reply, or one per batch.
    let send: NodeConfig.NTP.SendMode
    /// `[ntp] predict_transmit` (batch sends): see `TransmitTimePredictor`.
    let predictTransmit: Bool
    /// `[nts] key_cache`: slots of each loop's `NTSKeyCipherCache`.
    let ntsKeyCache: Int

    init(
        rules: NTPServerRules, rateLimitCapacity: Int, serving: ServingState, clock: any NodeClock, statistics: ServerStatistics,
        logger: Logger, send: NodeConfig.NTP.SendMode = .each, predictTransmit: Bool = true,
        ntsKeyCache: Int = NTSKeyCipherCache.defaultCapacity
    ) {
        self.ntsKeyCache = ntsKeyCache
        self.send = send
        self.predictTransmit = predictTransmit
        self.rules = NIOLockedValueBox(rules)
        self.limiter = NIOLockedValueBox(RateLimiter(policy: rules.policy.rateLimit ?? .chronyDefault, capacity: rateLimitCapacity))
        self.timestamps = NIOLockedValueBox(ServerTimestampTable(capacity: rateLimitCapacity))
        self.serving = serving
        self.clock = clock
        self.statistics = statistics
        self.logger = logger
    }

    /// Changes the rules; the loops read them again from their next batch on (`LoopRules`).
    func updateRules(_ change: (inout NTPServerRules) -> Void) {
        rules.withLockedValue { change(&$0) }
        rulesGeneration.add(1, ordering: .releasing)
    }

    /// Serves NTS with the keys `provider` holds (nil: no NTS), from the loops' next batch on.
    func serveNTS(from provider: CookieKeyProvider?) {
        cookieKeys.withLockedValue { $0 = provider }
        rulesGeneration.add(1, ordering: .releasing)
    }
}

/// The node's NTP server (RFC 5905 server mode): for every configured address, one SO_REUSEPORT socket and
/// receive loop per core. Sockets are bound when the server is created, so a bad address or a port in use
/// stops the node at start with a clear message; loops run from `run()` until graceful shutdown.
public final class NTPServer: Service, Sendable {
    private let sockets: [UDPSocket]
    private let shared: ServerShared
    private let batchSize: Int

    public init(
        config: NodeConfig, clock: any NodeClock, serving: ServingState, statistics: ServerStatistics, logger: Logger
    ) throws(NodeStartError) {
        let perAddress = config.ntp.threads > 0 ? config.ntp.threads : ProcessInfo.processInfo.activeProcessorCount
        var sockets: [UDPSocket] = []
        do {
            for endpoint in config.ntp.listen {
                let first = try UDPSocket.bind(endpoint, reusePort: true, buffer: config.ntp.socketBuffer)
                sockets.append(first)
                // Port 0 asks the kernel for a port: the other sockets of this address join the one it chose.
                let bound = SocketEndpoint(host: endpoint.host, port: UInt16(first.boundPort))
                for _ in 1..<max(1, perAddress) {
                    sockets.append(try UDPSocket.bind(bound, reusePort: true, buffer: config.ntp.socketBuffer))
                }
            }
        } catch {
            for socket in sockets { socket.close() }
            throw error
        }
        self.sockets = sockets
        self.batchSize = config.ntp.batch
        self.shared = ServerShared(
            rules: NTPServerRules(policy: config.policy), rateLimitCapacity: config.rateLimitClients,
            serving: serving, clock: clock, statistics: statistics, logger: logger, send: config.ntp.send,
            predictTransmit: config.ntp.predictTransmit, ntsKeyCache: config.nts?.keyCache ?? 0)
    }

    /// `[ntp] send`, for status.
    var sendMode: NodeConfig.NTP.SendMode { shared.send }

    /// The listeners as bound, for status.
    public var listeners: [NodeStatus.Listener] {
        var result: [NodeStatus.Listener] = []
        for socket in sockets {
            let port = socket.boundPort
            if let index = result.firstIndex(where: { $0.address == socket.endpoint.host && $0.port == port }) {
                result[index].sockets += 1
            } else {
                result.append(.init(
                    address: socket.endpoint.host, port: port, sockets: 1, timestamping: socket.timestamping.rawValue,
                    receiveBuffer: socket.receiveBuffer))
            }
        }
        return result
    }

    /// Applies a reloaded access list and rate limit without touching the sockets.
    public func update(policy: ServerPolicy) {
        shared.updateRules { $0.policy = policy }
        if let rateLimit = policy.rateLimit { shared.limiter.withLockedValue { $0.policy = rateLimit } }
    }

    public var policy: ServerPolicy { shared.rules.withLockedValue { $0.policy } }

    /// Serves NTS with the keys `provider` holds, from the next batch on; each batch reads the provider's
    /// current keys, so rotations, reloads and admin changes reach the packet path without a call here.
    public func serveNTS(from provider: CookieKeyProvider?) {
        shared.serveNTS(from: provider)
    }

    /// Accepts requests under these symmetric keys from the next packet on (start, key file reload).
    public func update(symmetric: SymmetricServerConfiguration?) {
        shared.updateRules { $0.symmetric = symmetric }
    }

    public var symmetricConfiguration: SymmetricServerConfiguration? { shared.rules.withLockedValue { $0.symmetric } }

    /// Siblings' authenticated requests as this server saw them.
    var siblingTraffic: SiblingTraffic { shared.siblingTraffic }

    public func busiestClients(limit: Int) -> [ClientActivity] {
        shared.limiter.withLockedValue { $0.busiestClients(limit: limit) }
    }

    public func run() async throws {
        let group = DispatchGroup()
        var loops: [ReceiveLoop] = []
        for socket in sockets {
            loops.append(try ReceiveLoop(socket: socket, shared: shared, batchSize: batchSize))
        }
        for (index, loop) in loops.enumerated() {
            group.enter()
            let thread = Thread {
                // Run in place: the loop's state is this thread's local variable (see ReceiveLoop).
                var loop = loop
                loop.run()
                // Before the node may go on to exit: see OpenSSLThreadState.
                OpenSSLThreadState.release()
                group.leave()
            }
            thread.name = "ntp-rx-\(index)"
            thread.start()
        }
        shared.logger.info("serving NTP", metadata: ["listeners": "\(listeners.map { "\($0.address):\($0.port)" })", "sockets": "\(sockets.count)"])

        // Until SIGTERM (graceful shutdown) or cancellation.
        try? await gracefulShutdown()

        shared.stopping.store(true, ordering: .relaxed)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            group.notify(queue: .global()) { continuation.resume() }
        }
        for socket in sockets { socket.close() }
        shared.logger.info("NTP server stopped")
    }
}

import ConfigFile
import NetworkEdges
import NodeModels
import Foundation
import Logging
import Prometheus
import NTPCore
import ServiceLifecycle
import NIOConcurrencyHelpers
import Synchronization
import UnixSignals

/// The node process: its configuration, clock, NTP server and status socket, run as a ServiceGroup that
/// stops cleanly on SIGTERM/SIGINT and reloads what can change at run time on SIGHUP.
public final class NodeDaemon: Sendable {
    public let configPath: String
    private let config: NIOLockedValueBox<NodeConfig>
    private let clock: SoftwareClock
    private let serving: ServingState
    private let statistics = ServerStatistics()
    private let server: NTPServer
    let nts: NodeNTS?
    private let time: TimeService
    let keys: SymmetricKeyRing?
    let siblings: SiblingRegistry?
    /// Sibling key sets changed through the API, persisted (nil without `[state]`).
    let siblingKeyStore: SiblingKeyStore?
    private let metricsServer: MetricsServer?
    /// The state database's writer (`[state]`), nil without one.
    let recorder: StoreRecorder?
    /// `[admin]`: the HTTPS admin API (Admin/NodeDaemon+Admin.swift has its routes).
    let adminServer: AdminServer?
    private let controlPlaneMetrics = ControlPlaneMetrics()
    private let healthMonitor: HealthMonitor
    private let logger: Logger
    private let startedMonotonic = ContinuousClock.now
    private let reloads = Atomic<Int>(0)
    private let logLevel: LogLevelControl
    /// `[node] user` or `--user`, when started as root (see `PrivilegeDrop`); nil: no drop.
    private let privilegeDrop: PrivilegeDrop?
    /// The user asked for, even when not root (logged: the drop is then skipped).
    private let requestedUser: String?

    /// Loads the configuration and binds the sockets; throws a message meant for the operator.
    /// `logLevel` is the control the process's log handlers consult (see `ControlledLogHandler`).
    /// `metrics`: the Prometheus registry swift-metrics was bootstrapped onto (`NodeMetrics.bootstrap`), served
    /// when the configuration has a `[metrics]` table.
    /// `user`: `fleetnode run --user`, over `[node] user`.
    public init(
        configPath: String, logger baseLogger: Logger, logLevel: LogLevelControl, metrics: PrometheusCollectorRegistry? = nil,
        user: String? = nil
    ) throws {
        let config = try ConfigLoader.load(file: configPath)
        logLevel.current = config.logLevel
        // The user is looked up before anything is opened: one that does not exist stops the node at once.
        let requestedUser = user ?? config.user
        self.requestedUser = requestedUser
        if let requestedUser, geteuid() == 0 {
            privilegeDrop = PrivilegeDrop(account: try PrivilegeDrop.account(named: requestedUser), driver: config.clock.driver)
        } else {
            privilegeDrop = nil
        }
        var logger = baseLogger
        logger[metadataKey: "node"] = "\(config.name)"
        self.logLevel = logLevel
        self.configPath = configPath
        self.config = NIOLockedValueBox(config)
        self.logger = logger
        self.healthMonitor = HealthMonitor(logger: logger)
        self.clock = SoftwareClock(driverName: config.clock.driver.rawValue)
        self.serving = ServingState(source: Self.source(for: config), precision: clock.precision)
        do {
            self.keys = try config.keyFile.map { try SymmetricKeyRing(path: $0) }
        } catch {
            throw ConfigError(file: configPath, line: nil, key: "keys.file", message: "\(error)")
        }
        if let endpoint = config.metricsListen, let metrics {
            self.metricsServer = MetricsServer(endpoint: endpoint, registry: metrics, logger: logger)
        } else {
            self.metricsServer = nil
        }
        let siblings = config.siblings.isEmpty ? nil : SiblingRegistry(config.siblings)
        self.siblings = siblings
        self.recorder = try Self.openStore(config.state, configPath: configPath, logger: logger)
        self.siblingKeyStore = siblings != nil ? recorder.map { SiblingKeyStore(store: $0.store) } : nil
        if let siblingKeyStore, let siblings, let keys {
            do {
                let (sets, material) = try siblingKeyStore.load(config.siblings)
                keys.addManaged(material)
                siblings.restore(sets)
                if !sets.isEmpty {
                    logger.notice("sibling keys restored from the state database", metadata: ["siblings": "\(sets.keys.sorted())"])
                }
            } catch {
                throw ConfigError(file: configPath, line: nil, key: "state.database", message: "sibling keys: \(error)")
            }
        }
        self.time = try TimeService(
            configuration: config, clock: clock, serving: serving, keys: keys, siblings: siblings, recorder: recorder, logger: logger)
        let server = try NTPServer(config: config, clock: clock, serving: serving, statistics: statistics, logger: logger)
        self.server = server
        if let keys {
            server.update(symmetric: keys.serverConfiguration(restrictions: siblings?.restrictions ?? [:]))
            logger.info("symmetric keys loaded", metadata: ["file": "\(keys.path)", "keys": "\(keys.all.map { "\($0.id) \($0.type.rawValue)" })"])
        }
        self.nts = try config.nts.map {
            try NodeNTS(configuration: $0, ntpServer: server, ntpPort: server.listeners.first?.port, logger: logger)
        }
        self.adminServer = try config.admin.map { try AdminServer(configuration: $0, logger: logger) }
        adminServer?.install(routes: adminRoutes())
        // Upstream servers that do not resolve or name a missing key start anyway (DNS may come later), but not silently.
        for problem in ConfigPreflight.problems(config) where problem.key.hasPrefix("server[") {
            logger.warning("\(problem.key): \(problem.message)")
        }
    }

    /// A sibling key operation (stage, activate, retire; see `SiblingRegistry`) for the admin API: validated,
    /// then persisted in the state database (when the node has one), then applied to the pollers from their
    /// next request and to the server from its next packet. Repeating it changes nothing. `newKey`: a key
    /// that is not in the key file, installed with the operation (the fleet tool distributes new keys so).
    @discardableResult
    public func changeSiblingKeys(
        _ operation: SiblingKeyOperation, siblings names: [String]? = nil, newKey: SymmetricKey? = nil
    ) throws(SiblingKeyError) -> Bool {
        guard let siblings, let keys else { throw .noSiblings }
        if let newKey, let held = keys.key(newKey.id), held != newKey { throw .keyConflict(newKey.id) }
        let lookup = { (id: UInt32) -> SymmetricKey? in id == newKey?.id ? newKey : keys.key(id) }
        let known = Set(keys.all.map(\.id)).union(newKey.map { [$0.id] } ?? [])
        let store = siblingKeyStore
        let recorder = self.recorder
        let changed = try siblings.change(operation, siblings: names, knownKeys: known, persistent: store != nil) { sibling throws(SiblingKeyError) in
            do throws(SiblingKeyError) {
                try store?.persist(operation, sibling: sibling, lookup: lookup)
            } catch {
                // An admin write the database refused counts with the recorder's failed writes (status, health).
                if case .notPersisted(let reason) = error { recorder?.failedWrite(reason) }
                throw error
            }
        }
        if let newKey { keys.addManaged([newKey]) }
        server.update(symmetric: keys.serverConfiguration(restrictions: siblings.restrictions))
        if changed {
            logger.notice("sibling keys changed", metadata: ["operation": "\(operation)", "siblings": "\(names ?? ["all"])"])
        }
        return changed
    }

    /// NTS steering, checked every couple of seconds: see `NTSSteering`.
    private func steerNTS() {
        guard let nts else { return }
        guard let settings = config.withLockedValue({ $0.nts }), settings.steer, let siblings else {
            nts.steer(to: nil)
            return
        }
        nts.steer(to: NTSSteering.target(
            timekeeping: time.hasSources ? time.status() : nil, siblings: siblings.siblings, steerHoldover: settings.steerHoldover))
    }

    /// A database that cannot be opened stops the node: it holds the keys, and a node that silently started
    /// without them (or with an empty store) could serve unauthenticated or rotate onto keys no peer has.
    private static func openStore(_ state: NodeConfig.State?, configPath: String, logger: Logger) throws -> StoreRecorder? {
        guard let state else { return nil }
        do {
            let store = try NodeStore(path: state.database)
            logger.info("state database opened", metadata: ["file": "\(state.database)", "bytes": "\(store.sizeOnDisk())"])
            return try StoreRecorder(store: store, retention: state.retention, flushInterval: state.flushInterval, logger: logger)
        } catch {
            throw ConfigError(file: configPath, line: nil, key: "state.database", message: "\(error)")
        }
    }

    private static func source(for config: NodeConfig) -> ServingState.Source {
        config.localStratum.map { .local(stratum: $0) } ?? .unsynchronized
    }

    /// Runs until SIGTERM or SIGINT.
    public func run() async throws {
        let statusPath = config.withLockedValue { $0.statusSocket }
        let status = StatusServer(path: statusPath, logger: logger) { [self] in self.status() }
        let reload = ReloadOnHangup { [self] in _ = try? self.reload() }
        typealias Entry = ServiceGroupConfiguration.ServiceConfiguration
        var services: [Entry] = [.init(service: server)]
        // The store's services are listed before `time`: stopped after it, so its last samples and drift are written.
        if let recorder {
            services.append(Entry(service: recorder))
            services.append(Entry(service: PeriodicTask(interval: .seconds(2)) { [self] in recorder.observe(node: self.status()) }))
        }
        services.append(Entry(service: time))
        if let metricsServer {
            services.append(Entry(service: metricsServer))
            services.append(Entry(service: PeriodicTask(interval: .seconds(2)) { [self] in
                self.controlPlaneMetrics.record(self.status())
            }))
        }
        // Every fault logged once when it appears and once when it clears, with or without [metrics].
        services.append(Entry(service: PeriodicTask(interval: .seconds(2)) { [self] in self.healthMonitor.observe(self.status()) }))
        services += [Entry(service: status), Entry(service: reload)]
        services.append(Entry(service: ConfirmStepOnSignal { [time] in _ = time.confirmStep() }))
        if let adminServer { services.append(Entry(service: adminServer)) }
        services += (nts?.services ?? []).map { Entry(service: $0) }
        if nts != nil, siblings != nil {
            services.append(Entry(service: PeriodicTask(interval: .seconds(1)) { [self] in self.steerNTS() }))
        }
        // Every privileged bind happens before the drop: NTP and NTS-KE (in init), metrics and admin here. The
        // status socket is bound afterwards, as the user, in the directory prepared for it.
        try await metricsServer?.bind()
        try await adminServer?.bind()
        try dropPrivileges()
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        logger.info("open-file limit", metadata: ["descriptors": "\(DescriptorLimit.current.description)"])
        if case .local(let stratum) = serving.current {
            logger.notice("serving the local clock at stratum \(stratum) ([local] stratum): no time source is configured")
        }
        try await group.run()
        logger.info("stopped")
    }

    /// Started as root with a user: refclocks opened, directories given to the user, root dropped on every
    /// thread (see `PrivilegeDrop`). Otherwise nothing changes; either way the credentials are logged.
    private func dropPrivileges() throws(NodeStartError) {
        let credentials = ProcessCredentials.current().map { "\($0)" } ?? "unknown (/proc/self/status unreadable)"
        guard let drop = privilegeDrop else {
            if geteuid() == 0 {
                logger.warning("running as root: set [node] user (or --user) to run unprivileged once the ports are bound", metadata: ["credentials": "\(credentials)"])
            } else if let requestedUser {
                logger.info("not started as root: no privilege drop to user \"\(requestedUser)\" needed", metadata: ["credentials": "\(credentials)"])
            } else {
                logger.info("running unprivileged", metadata: ["credentials": "\(credentials)"])
            }
            return
        }
        time.openRefclocksBeforeDrop()
        try drop.prepare(self.config.withLockedValue { $0 }, configPath: configPath, logger: logger)
        try drop.apply()
        logger.notice("root privileges dropped", metadata: [
            "user": "\(drop.account.name)",
            "credentials": "\(ProcessCredentials.current().map { "\($0)" } ?? "unknown")",
        ])
    }

    /// Re-reads the configuration file and applies the access list, rate limit, local stratum and log level.
    /// Listen addresses need a restart; a bad file changes nothing (and is thrown). Returns the reload count.
    @discardableResult
    func reload() throws(ConfigError) -> Int {
        let next: NodeConfig
        do {
            next = try ConfigLoader.load(file: configPath)
        } catch {
            logger.error("configuration reload failed, keeping the running configuration", metadata: ["error": "\(error)"])
            throw error
        }
        let previous = config.withLockedValue { old in
            defer { old = next }
            return old
        }
        if next.ntp != previous.ntp || next.statusSocket != previous.statusSocket || next.rateLimitClients != previous.rateLimitClients
            || next.nts != previous.nts
        {
            logger.warning("[ntp], [nts], [node] status_socket and [ratelimit] clients change only at restart; the rest is applied (NTS certificate and key files are re-read)")
        }
        nts?.reload()
        if let keys {
            do {
                try keys.reload()
                logger.notice("symmetric keys reloaded", metadata: ["keys": "\(keys.all.map { "\($0.id) \($0.type.rawValue)" })"])
            } catch {
                logger.error("symmetric key file reload failed, keeping the keys in use", metadata: ["error": "\(error)"])
            }
        }
        if let siblings {
            let (changed, needRestart, managed) = siblings.applyKeys(from: next.siblings)
            if !managed.isEmpty {
                logger.warning("these siblings' keys are managed through the admin API (state database); their key and accept settings were not applied", metadata: ["siblings": "\(managed)"])
            }
            if !changed.isEmpty { logger.notice("sibling keys reloaded", metadata: ["siblings": "\(changed)"]) }
            if !needRestart.isEmpty { logger.warning("siblings added or removed take effect at restart", metadata: ["siblings": "\(needRestart)"]) }
        }
        if let keys {
            server.update(symmetric: keys.serverConfiguration(restrictions: siblings?.restrictions ?? [:]))
        }
        if next.state != previous.state {
            logger.warning("[state] changes only at restart")
        }
        if next.keyFile != previous.keyFile {
            logger.warning("[keys] file changes only at restart; the current file was re-read")
        }
        server.update(policy: next.policy)
        serving.setLocal(stratum: next.localStratum)
        if next.refclocks != previous.refclocks || next.servers != previous.servers || next.clock != previous.clock {
            logger.warning("[clock], [[refclock]] and [[server]] change only at restart")
        }
        if next.admin != previous.admin {
            logger.warning("[admin] changes only at restart")
        }
        logLevel.current = next.logLevel
        let count = reloads.add(1, ordering: .relaxed).newValue
        logger.notice("configuration reloaded", metadata: ["access.rules": "\(next.policy.access.rules.count)", "ratelimit": "\(next.policy.rateLimit != nil)"])
        return count
    }

    /// The node's status now.
    public func status() -> NodeStatus {
        let now = clock.now()
        let state = serving.snapshot(at: NTPTimestamp(now))
        let correction = clock.correction
        let source: String
        switch serving.current {
        case .unsynchronized: source = "none"
        case .local: source = "local"
        case .disciplined(let name, _): source = name
        }
        let uptime = ContinuousClock.now - startedMonotonic
        return NodeStatus(
            name: config.withLockedValue { $0.name },
            version: ProductVersion.current,
            uptimeSeconds: Double(uptime.components.seconds) + Double(uptime.components.attoseconds) / 1e18,
            clock: .init(
                driver: clock.driverName, offsetSeconds: correction.offset, frequencyPPM: correction.frequencyPPM,
                precision: Int(clock.precision)),
            serving: .init(
                synchronized: state.isSynchronized, source: source, leap: Int(state.leap.rawValue),
                stratum: Int(state.stratum), referenceID: state.referenceID.description,
                rootDelaySeconds: state.rootDelay, rootDispersionSeconds: state.rootDispersion(at: NTPTimestamp(now))),
            listeners: server.listeners,
            ntp: statistics.snapshot,
            busiestClients: server.busiestClients(limit: 10).map {
                .init(address: $0.address.description, requests: $0.requests, limited: $0.limited)
            },
            rateLimiting: server.policy.rateLimit != nil,
            configReloads: reloads.load(ordering: .relaxed),
            nts: nts?.status,
            timekeeping: time.hasSources ? time.status() : nil,
            symmetricKeys: keys?.summary ?? [],
            metricsListener: metricsServer?.listener,
            siblings: siblings?.status(traffic: server.siblingTraffic) ?? [],
            ntsSteeredTo: nts?.steeredTo?.description,
            stateStore: recorder?.status(),
            adminListener: adminServer?.listener,
            descriptors: descriptorStatus(),
            maxQueueDelaySeconds: server.policy.maximumQueueDelay?.seconds, sendMode: server.sendMode.rawValue)
    }

    /// Open descriptors, the limit, and the accepts that failed for want of one on the TCP listeners (NTS-KE,
    /// admin, metrics).
    private func descriptorStatus() -> DescriptorStatus {
        let failures = [adminServer?.acceptFailures, metricsServer?.acceptFailures, nts?.acceptFailures].compactMap { $0 }
        let limit = DescriptorLimit.current.soft
        return DescriptorStatus(
            open: AcceptFailures.openDescriptors(limit: limit), limit: limit == UInt64.max ? nil : limit,
            acceptFailures: failures.map(\.count).reduce(0, +), lastAcceptFailure: failures.compactMap(\.last).max())
    }
}

/// Calls `action` on every SIGHUP until graceful shutdown.
struct ReloadOnHangup: Service {
    let action: @Sendable () -> Void

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            for await _ in signals { action() }
        }
    }
}

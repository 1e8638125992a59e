import ConfigFile
import CFleetShim
import NodeModels
import FleetCrypto
import Foundation
import Logging
import NTPCore
import Refclock
import ServiceLifecycle
import NIOConcurrencyHelpers
import TimeCore

/// Runs the node's timekeeping: the sources' edges (gpsd, SHM, PPS, upstream servers) file samples, and once
/// a second the `TimeKeeper` core filters, selects and disciplines; the resulting clock model goes to the
/// software clock and the system variables to the NTP server.
public final class TimeService: Service, Sendable {
    let clock: SoftwareClock
    let serving: ServingState
    let logger: Logger
    let configuration: NodeConfig
    private let keeper: NIOLockedValueBox<TimeKeeper>
    private let notes = NIOLockedValueBox<[SourceID: String]>([:])
    /// How the answers of sources polled with `xleave` came, for status.
    private let interleaving = NIOLockedValueBox<[SourceID: InterleavedClient.Statistics]>([:])
    let refclockStatus: NIOLockedValueBox<[String: TimekeepingStatus.Refclock]>
    /// Local time of each refclock's last report, for the age shown in status.
    let refclockLastReport = NIOLockedValueBox<[String: LocalTime]>([:])
    private let driftFile: DriftFile?
    let leap: LeapPlan
    private let lastReference = NIOLockedValueBox<(SourceID?, Bool)>((nil, false))
    private let leapIndicator = NIOLockedValueBox<LeapIndicator>(.noWarning)
    private let systemDriver: SystemClockDriver?
    /// PPS devices and shared-memory segments opened before the privilege drop (`openRefclocksBeforeDrop`),
    /// taken by their refclock's loop when it starts.
    let preopenedPPS = NIOLockedValueBox<[String: PPSDevice]>([:])
    let preopenedSHM = NIOLockedValueBox<[String: SHMRefclock]>([:])
    private let metrics = TimekeepingMetrics()
    private let previousStates = NIOLockedValueBox<[SourceID: SourceState]>([:])

    let keys: SymmetricKeyRing?
    let siblings: SiblingRegistry?

    /// The state database's recorder (`[state]`), nil without one.
    let recorder: StateRecorder?

    /// Throws when `[clock] driver = "system"` lacks CAP_SYS_TIME.
    public init(
        configuration: NodeConfig, clock: SoftwareClock, serving: ServingState, keys: SymmetricKeyRing? = nil,
        siblings: SiblingRegistry? = nil, recorder: StateRecorder? = nil, logger: Logger
    ) throws {
        self.keys = keys
        self.siblings = siblings
        self.recorder = recorder
        systemDriver = configuration.clock.driver == .system ? try SystemClockDriver(configuration: configuration.clock, logger: logger) : nil
        self.configuration = configuration
        self.clock = clock
        self.serving = serving
        self.logger = logger
        var keeperConfiguration = TimeKeeperConfiguration()
        keeperConfiguration.precision = clock.precision
        keeperConfiguration.holdoverLimit = configuration.clock.holdoverLimit
        keeperConfiguration.discipline.holdoverRate = configuration.clock.holdoverRatePPM * 1e-6
        keeperConfiguration.discipline.stepThreshold = configuration.clock.stepThreshold
        keeperConfiguration.discipline.stepLimit = configuration.clock.stepLimit
        keeperConfiguration.selection.minSources = configuration.clock.minSources
        keeperConfiguration.selection.maxDistance = configuration.clock.maxDistance
        keeperConfiguration.selection.combineLimit = configuration.clock.combineLimit
        keeperConfiguration.ownReferenceIDs = Set(LocalAddresses.forNode(configuration).map { Self.referenceID(forHost: $0.description) })
        var frequency = 0.0
        var skew: Double?
        driftFile = configuration.clock.driftFile.map(DriftFile.init(path:))
        if let stored = recorder?.storedDrift() {
            frequency = stored.frequencyPPM * 1e-6
            skew = max(stored.skewPPM * 1e-6, 1e-9)
            logger.info("frequency restored from the state database", metadata: ["ppm": "\(stored.frequencyPPM)"])
        } else if let driftFile {
            do {
                if let contents = try driftFile.read() {
                    frequency = contents.frequencyPPM * 1e-6
                    skew = max(contents.skewPPM * 1e-6, 1e-9)
                    logger.info("frequency restored from the drift file", metadata: ["ppm": "\(contents.frequencyPPM)", "file": "\(driftFile.path)"])
                }
            } catch {
                logger.warning("ignoring the drift file", metadata: ["error": "\(error)"])
            }
        }
        let definitions = Self.definitions(configuration)
        let leap = LeapPlan(configuration: configuration.clock, start: SoftwareClock.systemNow().seconds, logger: logger)
        self.leap = leap
        // Start exactly where the clock is now (served = system), so starting the service moves nothing;
        // unless that is below the floor (a Pi without RTC boots at 1970): then start at the floor.
        let local = clock.localNow()
        var base = clock.model.served(at: local) &- local
        let floor = TimeFloor(candidates: NodeFloor.candidates(leapFile: leap.loadedTable, lastStored: recorder?.lastStoredTime()), local: local)
        if let floor {
            logger.info("floor", metadata: ["floor": "\(floor.description)"])
            if local &+ base < floor.nanoseconds(at: local) {
                logger.warning("the system clock is before the floor: the node's clock starts at the floor", metadata: [
                    "system": "\(UTCText.iso(nanoseconds: local &+ base))", "floor": "\(floor.description)"])
                base = floor.nanoseconds(at: local) &- local
            }
        }
        keeperConfiguration.maxFirstStep = configuration.clock.maxFirstStep
        var timeKeeper = TimeKeeper(configuration: keeperConfiguration, sources: definitions, frequency: frequency, skew: skew, base: base)
        timeKeeper.floor = floor
        timeKeeper.leapTableValidUntil = leap.loadedTable?.expires
        keeper = NIOLockedValueBox(timeKeeper)
        refclockStatus = NIOLockedValueBox(Dictionary(uniqueKeysWithValues: configuration.refclocks.map {
            ($0.name, TimekeepingStatus.Refclock(name: $0.name, driver: $0.driver.rawValue))
        }))
    }

    static func definitions(_ configuration: NodeConfig) -> [SourceDefinition] {
        var list: [SourceDefinition] = []
        for refclock in configuration.refclocks {
            let kind: SourceKind = switch refclock.driver {
            case .gpsd: .gps
            case .shm: .shm
            case .pps: .pps
            }
            list.append(SourceDefinition(
                id: SourceID(refclock.name), kind: kind, options: refclock.options,
                referenceID: ReferenceID(ascii: String(refclock.name.prefix(4))),
                lock: refclock.lock.map(SourceID.init), poll: refclock.poll))
        }
        for server in configuration.servers {
            list.append(SourceDefinition(
                id: sourceID(server), kind: server.nts ? .nts : .ntp, options: server.options,
                referenceID: referenceID(forHost: server.host),
                poll: ClientExchange.precisionSeconds(Int8(clamping: server.minPoll))))
        }
        for sibling in configuration.siblings {
            list.append(SourceDefinition(
                id: SourceID(sibling.name), kind: .sibling, options: sibling.options,
                referenceID: referenceID(forHost: sibling.host),
                poll: ClientExchange.precisionSeconds(Int8(clamping: sibling.minPoll))))
        }
        return list
    }

    /// RFC 5905 §7.3: an upstream's IPv4 address, or the first four bytes of the MD5 digest of its IPv6
    /// address (as chrony and ntpd do, so loop detection works across implementations); a host name that is
    /// not an address is hashed the same way.
    static func referenceID(forHost host: String) -> ReferenceID {
        switch IPAddress(host)?.unmapped {
        case .v4(let value):
            return ReferenceID(rawValue: value)
        case .v6(let high, let low):
            var bytes: [UInt8] = []
            for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: high >> UInt64(shift))) }
            for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: low >> UInt64(shift))) }
            return ReferenceID(digestPrefix: Digest.md5.hash(bytes))
        case nil:
            return ReferenceID(digestPrefix: Digest.md5.hash(Array(host.utf8)))
        }
    }

    static func sourceID(_ server: NodeConfig.Server) -> SourceID {
        SourceID(server.name)
    }

    public var hasSources: Bool {
        !configuration.refclocks.isEmpty || !configuration.servers.isEmpty || !configuration.siblings.isEmpty
    }

    public func run() async throws {
        guard hasSources else {
            try? await gracefulShutdown()
            return
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.updateLoop() }
            for server in configuration.servers {
                let poller = UpstreamPoller(server: PollTarget(server), service: self, logger: logger)
                group.addTask { await poller.run() }
            }
            if let siblings {
                for sibling in siblings.siblings {
                    var logger = logger
                    logger[metadataKey: "peer.id"] = "\(sibling.name)"
                    let target = PollTarget(sibling, registry: siblings, localAddress: LocalAddresses.sourceAddress(toward: sibling.host, configuration))
                    let poller = UpstreamPoller(server: target, service: self, logger: logger)
                    group.addTask { await poller.run() }
                }
            }
            for refclock in configuration.refclocks {
                group.addTask { await self.runRefclock(refclock) }
            }
            try? await gracefulShutdown()
            group.cancelAll()
        }
        saveDrift()
    }

    private func updateLoop() async {
        var lastDriftSave = ContinuousClock.now
        while !Task.isCancelled {
            update()
            let status = status()
            metrics.record(status)
            logTransitions(status.sources)
            recordObservation(status)
            if ContinuousClock.now - lastDriftSave > .seconds(3_600) {
                saveDrift()
                lastDriftSave = .now
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    /// One update: selection and discipline, then publish the model and the system variables.
    func update() {
        let local = clock.localNow()
        let kernelSynchronized = Self.kernelClockSynchronized()
        let (model, state, reference, synchronized, outcome, adjustments, events) = keeper.withLockedValue { keeper in
            keeper.systemClockSynchronized = kernelSynchronized
            let outcome = keeper.update(now: local)
            let utc = UnixTime(nanosecondsSinceEpoch: keeper.utc(at: local))
            let plan = leap.update(at: utc, sources: [keeper.selection?.leap ?? .noWarning])
            keeper.leap = plan.utc
            let state = keeper.serverState(at: local, precision: clock.precision, leap: plan.indicator)
            return (keeper.model, state, keeper.referenceSource, keeper.isSynchronized(at: local), outcome, plan, keeper.drainEvents())
        }
        for event in events {
            switch event {
            case .jumpReverted, .firstStepTaken: logger.notice("\(event)")
            default: logger.warning("\(event)")
            }
        }
        leapIndicator.withLockedValue { $0 = adjustments.indicator }
        clock.setLeap(utc: adjustments.utc, served: adjustments.served)
        if synchronized, let systemDriver, outcome != nil {
            systemDriver.steer(clock: clock, leap: adjustments.indicator, errorBound: state.rootDelay / 2 + state.rootDispersion)
        }
        clock.apply(model)
        serving.publish(name: reference?.name, state: synchronized ? state : nil)
        if case .stepped(let offset) = outcome {
            logger.notice("served time stepped", metadata: ["offset": "\(offset)", "source": "\(reference?.name ?? "-")"])
        }
        let previous = lastReference.withLockedValue { value in
            defer { value = (reference, synchronized) }
            return value
        }
        if previous.0 != reference || previous.1 != synchronized {
            if synchronized, let reference {
                logger.notice("synchronised", metadata: ["source": "\(reference)", "stratum": "\(state.stratum)"])
            } else if previous.1 {
                logger.warning("no selectable source: unsynchronised")
            }
        }
    }

    /// Logs a source becoming a falseticker, or usable again, with selection's reason: a reference clock
    /// outvoted by the siblings is the GPS cross-check firing and must be loud.
    private func logTransitions(_ sources: [SourceReport]) {
        let previous = previousStates.withLockedValue { states in
            defer { states = Dictionary(uniqueKeysWithValues: sources.map { ($0.id, $0.state) }) }
            return states
        }
        for source in sources {
            let before = previous[source.id]
            guard before != source.state else { continue }
            if source.state == .falseticker {
                logger.warning(
                    source.kind.isReferenceClock ? "reference clock outvoted: not served" : "source is a falseticker",
                    metadata: ["source": "\(source.id)", "reason": "\(source.note ?? "-")"])
            } else if before == .falseticker {
                logger.notice("source agrees with the majority again", metadata: ["source": "\(source.id)", "state": "\(source.state)"])
            }
        }
    }

    func saveDrift() {
        guard driftFile != nil || recorder != nil else { return }
        let (frequency, skew, updates) = keeper.withLockedValue { ($0.model.frequency, $0.discipline.skew, $0.discipline.updates) }
        guard updates > 2 else { return }
        let contents = DriftFile.Contents(frequencyPPM: frequency * 1e6, skewPPM: skew * 1e6)
        recorder?.saveDrift(contents)
        guard let driftFile else { return }
        do {
            try driftFile.write(contents)
        } catch {
            logger.warning("cannot write the drift file", metadata: ["error": "\(error)", "file": "\(driftFile.path)"])
        }
    }

    /// Whether the kernel clock is synchronised (adjtimex read with modes = 0: state not TIME_ERROR and
    /// STA_UNSYNC clear), the reference for the first step's size (`max_first_step`).
    static func kernelClockSynchronized() -> Bool {
        var state = cfs_kernel_clock()
        guard cfs_kernel_clock_read(&state) == 0 else { return false }
        let unsynchronized: Int32 = 0x0040  // STA_UNSYNC (<linux/timex.h>)
        return state.state != 5 && (state.status & unsynchronized) == 0
    }

    /// An operator confirms a held first step or a reference clock's held jump (SIGUSR1, `fleetnode
    /// confirm-step`). Returns what was confirmed, nil when nothing was held.
    @discardableResult
    public func confirmStep() -> String? {
        let confirmed = keeper.withLockedValue { $0.confirmStep() }
        if let confirmed {
            logger.notice("operator confirmed the \(confirmed)")
        } else {
            logger.notice("confirm-step: nothing is held")
        }
        return confirmed
    }

    // MARK: Edges


    func polled(_ id: SourceID) {
        keeper.withLockedValue { $0.polled(id) }
    }

    func sourceRestarted(_ id: SourceID) {
        keeper.withLockedValue { $0.sourceRestarted(id) }
    }

    func heardWithoutTime(_ id: SourceID) {
        keeper.withLockedValue { $0.heardWithoutTime(id) }
    }

    func interleaved(_ id: SourceID, _ statistics: InterleavedClient.Statistics) {
        interleaving.withLockedValue { $0[id] = statistics }
    }

    func note(_ id: SourceID, _ message: String?) {
        notes.withLockedValue { $0[id] = message }
    }

    /// An NTP measurement taken against the system clock (T1, T4 from CLOCK_REALTIME), re-expressed against
    /// served time. An interleaved measurement is of the previous exchange and is filed at its time.
    /// Returns false when the keeper refused it.
    @discardableResult
    func addNetworkSample(_ measurement: NTPMeasurement, from id: SourceID) -> Bool {
        let now = SoftwareClock.systemNow()
        let system = measurement.localReceive?.unixTime(near: now) ?? now
        let local = clock.local(fromSystem: system)
        let servedMinusSystem = Double(clock.utc(atLocal: local).nanoseconds(since: system)) * 1e-9
        let sample = SourceSample(
            localTime: local &- Int64(measurement.delay / 2 * 1e9), offset: measurement.offset - servedMinusSystem,
            delay: measurement.delay, dispersion: measurement.dispersion, rootDelay: measurement.rootDelay,
            rootDispersion: measurement.rootDispersion, stratum: measurement.stratum, leap: measurement.leap,
            referenceID: measurement.referenceID)
        let accepted = keeper.withLockedValue { $0.add(sample, from: id) }
        note(id, accepted ? nil : "sample refused")
        if accepted { recordSample(id, local: sample.localTime, offset: sample.offset, delay: sample.delay, dispersion: sample.dispersion) }
        return accepted
    }

    /// A reference clock's time: `reference` (what the clock says) at `system` (CLOCK_REALTIME when it was
    /// read or received).
    @discardableResult
    func addReferenceSample(reference: UnixTime, system: UnixTime, dispersion: Double, leap: LeapIndicator = .noWarning, from id: SourceID) -> Bool {
        let local = clock.local(fromSystem: system)
        let (accepted, offset) = keeper.withLockedValue { keeper in
            let offset = Double(reference.nanosecondsSinceEpoch &- keeper.utc(at: local)) * 1e-9
            return (keeper.add(SourceSample(localTime: local, offset: offset, dispersion: dispersion, leap: leap), from: id), offset)
        }
        if accepted { recordSample(id, local: local, offset: offset, dispersion: dispersion) }
        return accepted
    }

    /// A PPS assert edge stamped with CLOCK_REALTIME by the kernel.
    @discardableResult
    func addPulse(system: UnixTime, from id: SourceID) -> PulseOutcome {
        let local = clock.local(fromSystem: system)
        let outcome = keeper.withLockedValue { $0.addPulse(from: id, local: local) }
        if case .accepted(let offset) = outcome { recordSample(id, local: local, offset: offset, dispersion: 0) }
        return outcome
    }

    // MARK: Status

    public func status() -> TimekeepingStatus {
        let local = clock.localNow()
        let leapIndicator = leapIndicator.withLockedValue { $0 }
        let (tracking, sources) = keeper.withLockedValue { keeper in
            return (keeper.tracking(at: local, precision: clock.precision, leap: leapIndicator), keeper.sourceReports(at: local))
        }
        let notes = notes.withLockedValue { $0 }
        let interleaving = interleaving.withLockedValue { $0 }
        let annotated = sources.map { report in
            var report = report
            if let note = notes[report.id], report.state == .unusable || report.note != nil { report.note = note }
            if let statistics = interleaving[report.id] {
                report.interleaved = statistics.lastInterleaved ?? false
                report.interleavedSamples = statistics.interleavedSamples
                report.basicSamples = statistics.basicSamples
                report.bogusResponses = statistics.bogus
            }
            return report
        }
        let lastReports = refclockLastReport.withLockedValue { $0 }
        let refclocks = refclockStatus.withLockedValue { status in
            configuration.refclocks.compactMap { refclock -> TimekeepingStatus.Refclock? in
                guard var entry = status[refclock.name] else { return nil }
                entry.lastReportAge = lastReports[refclock.name].map { local.seconds(since: $0) }
                return entry
            }
        }
        return TimekeepingStatus(tracking: tracking, sources: annotated, refclocks: refclocks, leap: leap.status(at: clock.now()))
    }
}

extension ReferenceID {
    /// The first four bytes of a digest, most significant first.
    init(digestPrefix digest: [UInt8]) {
        var value: UInt32 = 0
        for byte in digest.prefix(4) { value = value << 8 | UInt32(byte) }
        self.init(rawValue: value)
    }
}

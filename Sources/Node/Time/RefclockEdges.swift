import ConfigFile
import NIOConcurrencyHelpers
import Dispatch
import NodeModels
import Logging
import NTPCore
import Refclock
import TimeCore

/// The reference clocks' edges: each turns its device's raw observations (stamped with CLOCK_REALTIME) into
/// samples or pulses for the time service, keeps its status for `fleetnode status`, and survives its device
/// going away (gpsd restarting, a segment vanishing, a PPS device unplugged) by retrying with backoff.
extension TimeService {
    func runRefclock(_ refclock: NodeConfig.Refclock) async {
        var logger = logger
        logger[metadataKey: "refclock"] = "\(refclock.name)"
        switch refclock.driver {
        case .gpsd: await runGPSD(refclock, logger: logger)
        case .shm: await runSHM(refclock, logger: logger)
        case .pps: await runPPS(refclock, logger: logger)
        }
    }

    /// Before the privilege drop: opens each PPS device (enabling assert capture needs CAP_SYS_TIME) and
    /// attaches each shared-memory segment (gpsd makes units 0 and 1 root-only), as chronyd opens its
    /// refclocks before it drops root. One that fails now is retried by its loop as the node's user, which
    /// then needs the device's group (`dialout` for /dev/pps0) or a unit gpsd makes world-readable (2 or more).
    func openRefclocksBeforeDrop() {
        for refclock in configuration.refclocks {
            var logger = logger
            logger[metadataKey: "refclock"] = "\(refclock.name)"
            switch refclock.driver {
            case .pps:
                if let device = try? PPSDevice(path: refclock.device, logger: logger) {
                    preopenedPPS.withLockedValue { $0[refclock.name] = device }
                }
            case .shm:
                let segment = SHMRefclock(unit: refclock.unit, logger: logger)
                if (try? segment.attach()) != nil {
                    preopenedSHM.withLockedValue { $0[refclock.name] = segment }
                }
            case .gpsd:
                break  // TCP to gpsd: nothing privileged
            }
        }
    }

    private func updateRefclock(_ name: String, report: Bool = false, _ change: (inout TimekeepingStatus.Refclock) -> Void) {
        refclockStatus.withLockedValue { status in
            if var entry = status[name] {
                change(&entry)
                if report { entry.reports += 1 }
                status[name] = entry
            }
        }
        if report {
            let now = clock.localNow()
            refclockLastReport.withLockedValue { $0[name] = now }
        }
    }

    // MARK: gpsd

    /// gpsd through libgps: which reports become samples is `GPSDSampleSelector`'s (the best of TPV, TOFF and
    /// PPS seen, never without a 2D/3D fix); here they are filed and the refclock's status kept.
    private func runGPSD(_ refclock: NodeConfig.Refclock, logger: Logger) async {
        let id = SourceID(refclock.name)
        let endpoint = (try? SocketEndpoint(parsing: refclock.gpsd, defaultPort: 2947)) ?? SocketEndpoint(host: "127.0.0.1", port: 2947)
        let client = GPSDClient(configuration: .init(host: endpoint.host, port: endpoint.port), logger: logger)
        client.start()
        defer { client.stop() }
        var selector = GPSDSampleSelector()
        var wasConnected = false
        for await event in client.events {
            if let sample = selector.sample(for: event) {
                addReferenceSample(reference: sample.reference, system: sample.system, dispersion: sample.dispersion, from: id)
            }
            switch event {
            case .connected(let server):
                logger.info("connected to gpsd", metadata: ["gpsd": "\(server.map { "\($0)" } ?? refclock.gpsd)"])
                updateRefclock(refclock.name) {
                    if wasConnected { $0.reconnects += 1 }
                    $0.connected = true
                    $0.note = nil
                }
                // A new connection is a new timescale: not a jump of the old one.
                if wasConnected { sourceRestarted(id) }
                wasConnected = true
            case .disconnected(let reason):
                logger.warning("gpsd connection lost; reconnecting", metadata: ["reason": "\(reason)"])
                updateRefclock(refclock.name) {
                    $0.connected = false
                    $0.note = "gpsd: \(reason)"
                }
            case .device(let device):
                logger.info("gpsd device", metadata: ["device": "\(device.path)", "driver": "\(device.driver)"])
            case .time(let time):
                updateRefclock(refclock.name, report: true) { $0.fixMode = time.mode.rawValue }
            case .fixWithoutTime(let fixMode, _):
                updateRefclock(refclock.name, report: true) { $0.fixMode = fixMode.rawValue }
            case .toff, .pps:
                // A report like a TPV: status's "last report" (and the silent-refclock health rule) must not
                // depend on which of gpsd's messages carries the time (the selector above takes the samples).
                updateRefclock(refclock.name, report: true) { _ in }
            case .sky(let used, let visible):
                updateRefclock(refclock.name) {
                    $0.satellitesUsed = used
                    $0.satellitesVisible = visible
                }
            case .gpsdError(let message):
                updateRefclock(refclock.name) {
                    $0.errors += 1
                    $0.note = "gpsd: \(message)"
                }
            }
        }
    }

    // MARK: SHM

    /// gpsd's NTP shared-memory segment, read once a second (gpsd writes it once per fix).
    private func runSHM(_ refclock: NodeConfig.Refclock, logger: Logger) async {
        let id = SourceID(refclock.name)
        let segment = preopenedSHM.withLockedValue { $0.removeValue(forKey: refclock.name) } ?? SHMRefclock(unit: refclock.unit, logger: logger)
        defer { segment.detach() }
        var lastProblem: String?
        while !Task.isCancelled {
            do {
                if let sample = try segment.pollIfNew() {
                    let precision = ClientExchange.precisionSeconds(Int8(clamping: min(0, sample.precision)))
                    let leap = LeapIndicator(rawValue: UInt8(clamping: max(0, min(3, sample.leap)))) ?? .noWarning
                    addReferenceSample(reference: sample.reference, system: sample.system, dispersion: precision, leap: leap, from: id)
                    updateRefclock(refclock.name, report: true) {
                        $0.connected = true
                        $0.note = nil
                    }
                    lastProblem = nil
                }
            } catch {
                let message = "\(error)"
                if message != lastProblem {
                    logger.warning("shared memory segment not usable", metadata: ["error": "\(message)"])
                    lastProblem = message
                }
                updateRefclock(refclock.name) {
                    $0.connected = false
                    $0.errors += 1
                    $0.note = message
                }
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    // MARK: PPS

    /// A Linux PPS device: assert edges, numbered by the `lock` refclock (see `TimeKeeper.addPulse`). Each
    /// fetch blocks in the kernel for up to two seconds, so it runs off the cooperative pool.
    private func runPPS(_ refclock: NodeConfig.Refclock, logger: Logger) async {
        let id = SourceID(refclock.name)
        var retry: Double = 1
        while !Task.isCancelled {
            let device: PPSDevice
            do {
                device = try preopenedPPS.withLockedValue { $0.removeValue(forKey: refclock.name) } ?? PPSDevice(path: refclock.device, logger: logger)
            } catch {
                logger.warning("PPS device not usable; retrying", metadata: ["error": "\(error)", "retry": "\(retry)"])
                updateRefclock(refclock.name) {
                    $0.connected = false
                    $0.errors += 1
                    $0.note = "\(error)"
                }
                try? await Task.sleep(for: .milliseconds(Int64(retry * 1000)))
                retry = min(retry * 2, 60)
                continue
            }
            retry = 1
            updateRefclock(refclock.name) {
                $0.connected = true
                $0.note = nil
            }
            var lastSequence: UInt32?
            while !Task.isCancelled {
                let result: Result<PPSPulse, PPSError> = await withCheckedContinuation { continuation in
                    DispatchQueue.global().async {
                        do throws(PPSError) {
                            continuation.resume(returning: .success(try device.fetch(timeout: .seconds(2))))
                        } catch {
                            continuation.resume(returning: .failure(error))
                        }
                    }
                }
                var reopen = false
                switch result {
                case .success(let pulse):
                    guard pulse.sequence != lastSequence else { continue }
                    lastSequence = pulse.sequence
                    let outcome = addPulse(system: pulse.assert, from: id)
                    updateRefclock(refclock.name, report: true) {
                        if case .accepted = outcome { $0.note = nil } else { $0.note = "pulse not used: \(outcome)" }
                    }
                case .failure(.timeout):
                    updateRefclock(refclock.name) { $0.note = "no pulse for 2 s" }
                case .failure(.interrupted):
                    continue
                case .failure(let error):
                    logger.warning("PPS device failed; reopening", metadata: ["error": "\(error)"])
                    updateRefclock(refclock.name) {
                        $0.connected = false
                        $0.errors += 1
                        $0.note = "\(error)"
                    }
                    reopen = true
                }
                if reopen { break }
            }
            device.close()
        }
    }
}

import NTPCore
import TimeCore

/// Runs a scenario second by second through the very `TimeKeeper` the node uses, and measures the served
/// clock against true time.
public struct SimulationRunner {
    public static let defaultStart: Int64 = 1_790_000_000 * 1_000_000_000
    /// 2027-01-01T00:00:00Z: leap scenarios end their leap second here.
    static let leapMidnight: Int64 = 1_798_761_600

    public let scenario: SimulationScenario
    public var configuration: TimeKeeperConfiguration
    /// Called once a second with (seconds since start, served − true, error bound, keeper) for tests that
    /// want more than the report.
    public var observer: ((Double, Double, Double, TimeKeeper) -> Void)?

    public init(scenario: SimulationScenario, configuration: TimeKeeperConfiguration = TimeKeeperConfiguration()) {
        self.scenario = scenario
        self.configuration = configuration
    }

    public func definitions() -> [SourceDefinition] {
        var list: [SourceDefinition] = []
        if let nmea = scenario.nmea {
            list.append(SourceDefinition(id: SourceID("GPS"), kind: .gps, options: SourceOptions(noselect: scenario.pps != nil, offset: nmea.delay + nmea.compensationError)))
        }
        if let pps = scenario.pps {
            list.append(SourceDefinition(id: SourceID("PPS"), kind: .pps, options: SourceOptions(offset: pps.compensation), lock: scenario.nmea != nil ? SourceID("GPS") : nil))
        }
        for (index, up) in scenario.upstreams.enumerated() {
            list.append(SourceDefinition(id: SourceID(up.name), kind: .ntp, referenceID: ReferenceID(rawValue: 0x7f00_0001 + UInt32(index)), poll: up.poll))
        }
        return list
    }

    public func run() -> SimulationReport {
        var noise = GaussianNoise(seed: scenario.seed)
        let start = scenario.leapSecondAt.map { (Self.leapMidnight - Int64($0)) * 1_000_000_000 } ?? Self.defaultStart
        var leapController: LeapController?
        if scenario.leapSecondAt != nil {
            let table = try? LeapSecondTable(
                entries: [.init(unix: 63_072_000, taiMinusUTC: 10), .init(unix: Self.leapMidnight, taiMinusUTC: 11)],
                expires: Self.leapMidnight + 180 * 86_400)
            leapController = table.map { LeapController(table: $0, mode: .step, since: start / 1_000_000_000) }
        }
        let leapNanos = Self.leapMidnight * 1_000_000_000
        // POSIX UTC at true (continuous) time t: after an inserted second it runs 1 s behind.
        func utc(_ t: Int64) -> Int64 { leapController != nil && t >= leapNanos ? t - 1_000_000_000 : t }
        var leapBefore: LeapIndicator?
        var leapAfter: LeapIndicator?
        var errorAroundLeap = 0.0
        var oscillator = SimulatedOscillator(start: start, phase: scenario.initialPhase, frequency: scenario.frequency, wander: scenario.wander)
        var keeper = TimeKeeper(configuration: configuration, sources: definitions())
        let seconds = Int(scenario.duration)
        var losses: [(Int, Int)] = []
        var frequencySteps: [(Int, Double)] = []
        var systemSteps: [(Double, Double)] = []
        for event in scenario.events {
            switch event {
            case .gpsLost(let at, let duration): losses.append((Int(at), Int(at + duration)))
            case .temperatureStep(let at, let frequency): frequencySteps.append((Int(at), frequency))
            case .systemClockStep(let at, let step): systemSteps.append((at, step))
            }
        }
        func inLoss(_ k: Int) -> Bool { losses.contains { k >= $0.0 && k < $0.1 } }
        func settling(_ k: Int) -> Bool { losses.contains { k >= $0.1 && k < $0.1 + 600 } }

        var errors: [Double] = []
        errors.reserveCapacity(seconds)
        var steadyErrors: [(Int, Double)] = []
        var holdoverEnd: [Double] = []
        var holdoverMax = 0.0
        var violations = 0
        var worstRatio = 0.0
        var stateCounts: [String: [Character: Int]] = [:]
        var strataDuringLoss: [UInt8] = []
        let firstLoss = losses.map(\.0).min() ?? seconds

        for k in 0..<seconds {
            let t = start + Int64(k) * 1_000_000_000
            for (at, delta) in frequencySteps where at == k { oscillator.stepFrequency(by: delta) }
            oscillator.advance(to: t, noise: &noise)
            let gpsUp = !inLoss(k)

            if let pps = scenario.pps, gpsUp {
                let edge = t + Int64(((pps.delay + noise.normal(pps.jitter)) * 1e9).rounded())
                var local = oscillator.local(at: edge)
                // A system clock step between the kernel's stamp and the node's conversion misplaces the edge.
                for (at, step) in systemSteps where Double(k) < at && at < Double(k) + 0.01 {
                    local -= Int64(step * 1e9)
                }
                _ = keeper.addPulse(from: SourceID("PPS"), local: local)
            }
            if let nmea = scenario.nmea, gpsUp {
                let received = t + Int64(((nmea.delay + noise.normal(nmea.jitter)) * 1e9).rounded())
                let local = oscillator.local(at: received)
                let offset = Double(utc(t) - keeper.utc(at: local)) * 1e-9
                keeper.add(SourceSample(localTime: local, offset: offset, dispersion: 1e-3), from: SourceID("GPS"))
            }
            for (index, up) in scenario.upstreams.enumerated() where k % max(1, Int(up.poll)) == index % max(1, Int(up.poll)) {
                let id = SourceID(up.name)
                keeper.polled(id)
                let t1 = t + 500_000_000
                let l1 = oscillator.local(at: t1)
                let s1 = keeper.utc(at: l1)
                let t2 = t1 + Int64(((up.outbound + noise.exponential(up.queueing)) * 1e9).rounded())
                let s2 = utc(t2) + Int64((up.error * 1e9).rounded())
                let t3 = t2 + 20_000
                let s3 = s2 + 20_000
                let t4 = t3 + Int64(((up.inbound + noise.exponential(up.queueing)) * 1e9).rounded())
                let l4 = oscillator.local(at: t4)
                let s4 = keeper.utc(at: l4)
                let offset = (Double(s2 - s1) + Double(s3 - s4)) / 2 * 1e-9
                let delay = Double((s4 - s1) - (s3 - s2)) * 1e-9
                keeper.add(
                    SourceSample(
                        localTime: l1 + (l4 - l1) / 2, offset: offset, delay: delay, dispersion: 1e-6,
                        rootDelay: 0, rootDispersion: 5e-6, stratum: up.stratum, referenceID: ReferenceID(ascii: "GPS")),
                    from: id)
            }

            let measure = t + 950_000_000
            let local = oscillator.local(at: measure)
            keeper.update(now: local)
            if var controller = leapController {
                let indicator = controller.update(atUnix: keeper.utc(at: local) / 1_000_000_000, sourceLeaps: [])
                keeper.leap = controller.utc
                leapController = controller
                if measure / 1_000_000_000 == Self.leapMidnight - 3_600 { leapBefore = indicator }
                if measure / 1_000_000_000 == Self.leapMidnight + 3_600 { leapAfter = indicator }
            }
            let error = Double(keeper.utc(at: local) - utc(measure)) * 1e-9
            if leapController != nil, abs(measure / 1_000_000_000 - Self.leapMidnight) <= 10 {
                errorAroundLeap = max(errorAroundLeap, abs(error))
            }
            let bound = keeper.errorBound(at: local)
            errors.append(error)
            observer?(Double(k), error, bound, keeper)
            if keeper.isSynchronized(at: local) {
                if abs(error) > bound { violations += 1 }
                if bound.isFinite, bound > 0 { worstRatio = max(worstRatio, abs(error) / bound) }
            }
            if !inLoss(k) && !settling(k) { steadyErrors.append((k, error)) }
            if inLoss(k) {
                holdoverMax = max(holdoverMax, abs(error))
                if losses.contains(where: { $0.1 == k + 1 }) { holdoverEnd.append(abs(error)) }
                if losses.contains(where: { ($0.0 + $0.1) / 2 == k }) {
                    strataDuringLoss.append(keeper.serverState(at: local, precision: -20).stratum)
                }
            }
            for report in keeper.sourceReports(at: local) {
                stateCounts[report.id.name, default: [:]][report.state.symbol, default: 0] += 1
            }
        }

        // Lock: the first second from which |error| stays under the threshold for ten minutes (or until the
        // first loss of GPS, if that comes sooner).
        var lockTime: Double?
        let window = Array(errors.prefix(firstLoss))
        var runStart = 0
        for (index, error) in window.enumerated() {
            if abs(error) >= scenario.lockThreshold {
                runStart = index + 1
            } else if index - runStart + 1 >= 600 || index == window.count - 1 {
                lockTime = Double(runStart)
                break
            }
        }
        let locked = steadyErrors.filter { entry in lockTime.map { Double(entry.0) >= $0 } ?? false }.map(\.1)
        let rms = locked.isEmpty ? .infinity : (locked.reduce(0) { $0 + $1 * $1 } / Double(locked.count)).squareRoot()
        let maxError = locked.map(abs).max() ?? .infinity
        let endLocal = oscillator.local(at: start + Int64(seconds) * 1_000_000_000)
        var dropped: UInt64 = 0
        for report in keeper.sourceReports(at: endLocal) { dropped += report.dropped }
        return SimulationReport(
            scenario: scenario.name, lockTime: lockTime, rmsError: rms, maxError: maxError,
            holdoverErrors: holdoverEnd, holdoverMaxError: holdoverMax, boundViolations: violations,
            worstBoundRatio: worstRatio,
            stateShares: stateCounts.mapValues { counts in counts.mapValues { Double($0) / Double(max(1, seconds)) } },
            strataDuringLoss: strataDuringLoss,
            finalStratum: keeper.serverState(at: endLocal, precision: -20).stratum,
            finalFrequencyPPM: keeper.model.frequency * 1e6,
            trueFrequencyPPM: -oscillator.frequency / (1 + oscillator.frequency) * 1e6,
            samplesDropped: dropped,
            leapIndicators: leapBefore.flatMap { before in leapAfter.map { (before, $0) } },
            errorAroundLeap: leapController != nil ? errorAroundLeap : nil)
    }
}

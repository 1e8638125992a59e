import TimeCore
import TimeSimulation

/// The regression discipline (`ClockDiscipline`) against an RFC 5905 §11.3 PLL/FLL (`PLLDiscipline`), in one
/// closed loop, on the very same oscillator and the very same PPS edges: the figures the README's choice of a
/// regression over NTP's loop rests on, as ratios against that peer measured in the same run.
///
/// No `TimeKeeper`: edges go straight in as offsets (true second − served time at the edge's local time), so the
/// comparison measures the disciplines and nothing else. The oscillator is the PPS scenario's: +20 ppm, wander
/// 1e-11/√s, a +0.05 ppm temperature step after an hour, the clock 0.25 s off at start, edges with 200 ns jitter.
/// Timeline: lock and steady state for an hour, the temperature step at 1 h, an hour to follow it, then an hour
/// of holdover (no pulses; each discipline keeps its frequency). Several seeds, every discipline on each.
///
/// - The regression is fed as `TimeKeeper` feeds it from a PPS: the source's filter fits a line to the newest
///   8 pulse offsets (re-expressed against the current served clock) and evaluates it at the newest; one such
///   estimate a second until the discipline holds `minPoints` points, then one every 8 s (non-overlapping windows).
/// - The PLL is fed either every pulse or, as ntpd's refclock driver does, the mean of the pulses of each poll
///   interval (2^poll s). A sweep over the time constant, both feeds and the startup is printed; the main table
///   holds the sweep's best PLL and the one ntpd would run (see `best` and `ntpd`).
enum DisciplineComparison {
    static let seeds: [UInt64] = Array(1...100)
    static let start: Int64 = SimulationRunner.defaultStart
    static let temperatureStepAt = 3_600
    /// Steady state: the half hour before the temperature step, whether locked or not.
    static let steadyFrom = 1_800
    static let holdoverFrom = 7_200
    static let holdoverUntil = 10_800
    static let lockThreshold = 1e-6
    /// |error| must stay under `lockThreshold` this long to count as locked, seconds.
    static let lockHold = 600

    /// The PLL peers in the main table. `best` is the sweep's best: the shortest time constant (2^0 s) fed every
    /// pulse, with ntpd's startup clamp held until the offset is under 1 µs rather than 0.5 ms, so the type II
    /// loop's integrator does not wind up on the startup residual (from ntpd's 0.5 ms floor that transient takes
    /// 20 min to settle at poll 0 and over an hour at poll 4). It has the lowest RMS and maximum errors of every
    /// setting tried and locks within 15 % of the fastest; longer time constants average the 200 ns jitter no
    /// better (white phase noise meets this oscillator's random-walk frequency after a couple of hundred seconds)
    /// and follow the temperature step and the wander worse. `ntpd` is what ntpd runs with a PPS refclock (`minpoll 4 maxpoll 4`, its own
    /// startup), fed every pulse, which suits it better than its refclock's 16 s mean (see the sweep).
    static let best = PLLLoop(poll: 0, feed: .everyPulse, startupFloor: 1e-6)
    static let ntpd = PLLLoop(poll: 4, feed: .everyPulse)

    static func run() {
        let clock = ContinuousClock.now
        var sweep: [PLLLoop] = []
        for poll in 0...5 { sweep.append(PLLLoop(poll: poll, feed: .everyPulse)) }
        for poll in 2...5 { sweep.append(PLLLoop(poll: poll, feed: .pollMean)) }
        sweep.append(PLLLoop(poll: 4, maxPoll: 10, feed: .pollMean))
        for poll in 0...4 { sweep.append(PLLLoop(poll: poll, feed: .everyPulse, startupFloor: 1e-6)) }
        sweep.append(PLLLoop(poll: 4, feed: .pollMean, startupFloor: 1e-6))
        var contenders: [any ComparedDiscipline] = [RegressionLoop(), best, ntpd]
        contenders += sweep.map { $0 as any ComparedDiscipline }

        var figures = Array(repeating: [Figures](), count: contenders.count)
        for seed in seeds {
            let errors = simulate(seed: seed, contenders)
            for (index, series) in errors.enumerated() { figures[index].append(Figures(series)) }
        }
        let summaries = figures.map(Summary.init)

        print("discipline comparison: regression (ClockDiscipline) vs RFC 5905 §11.3 PLL/FLL, same oscillator and pulses")
        print("  +20 ppm, wander 1e-11/√s, +0.05 ppm step at \(temperatureStepAt) s, 200 ns PPS jitter, 0.25 s initial error;")
        print("  holdover \(holdoverFrom)–\(holdoverUntil) s; \(seeds.count) seeds (lock: median; RMS: pooled; max: worst seed; holdover: RMS over seeds)")
        print("  PLL best = \(contenders[1].label); PLL ntpd = \(contenders[2].label), ntpd's startup")
        print("")
        let rows: [(String, KeyPath<Summary, Double?>, (Double?) -> String)] = [
            ("lock time (<1 µs for 10 min)", \.lockTime, seconds),
            ("RMS error once locked", \.lockedRMS, nanos),
            ("max error once locked", \.lockedMax, nanos),
            ("  steady-state RMS (30–60 min)", \.steadyRMS, nanos),
            ("  steady-state max (30–60 min)", \.steadyMax, nanos),
            ("  max error after the +0.05 ppm step", \.stepMax, nanos),
            ("  back under 1 µs after the step", \.relock, seconds),
            ("error after 1 h of holdover", \.holdoverEnd, nanos),
        ]
        print(pad("figure", 38) + pad("regression", 12) + pad("PLL best", 10) + pad("best/reg", 10) + pad("PLL ntpd", 10) + "ntpd/reg")
        for (title, path, format) in rows {
            let regression = summaries[0][keyPath: path]
            let bestValue = summaries[1][keyPath: path], ntpdValue = summaries[2][keyPath: path]
            print(pad(title, 38) + pad(format(regression), 12) + pad(format(bestValue), 10) + pad(ratio(bestValue, regression), 10)
                + pad(format(ntpdValue), 10) + ratio(ntpdValue, regression))
        }
        print("")
        print("PLL sweep (time constant 2^poll s; feed; same runs):")
        print(pad("PLL", 40) + pad("lock", 9) + pad("RMS", 10) + pad("max", 10) + pad("step max", 10) + pad("relock", 9) + "holdover")
        for (index, contender) in contenders.enumerated().dropFirst(3) {
            let s = summaries[index]
            print(pad(contender.label, 40) + pad(seconds(s.lockTime), 9) + pad(nanos(s.lockedRMS), 10) + pad(nanos(s.lockedMax), 10)
                + pad(nanos(s.stepMax), 10) + pad(seconds(s.relock), 9) + nanos(s.holdoverEnd))
        }
        print("  (compared in \(ContinuousClock.now - clock))\n")
    }

    /// One seed's run: served − true time each second for every contender (all fed the same edges).
    static func simulate(seed: UInt64, _ prototypes: [any ComparedDiscipline]) -> [[Double]] {
        var contenders = prototypes
        var noise = GaussianNoise(seed: seed)
        var oscillator = SimulatedOscillator(start: start, phase: 0.25, frequency: 20e-6, wander: 1e-11)
        var errors = Array(repeating: [Double](), count: contenders.count)
        for index in errors.indices { errors[index].reserveCapacity(holdoverUntil) }
        for k in 0..<holdoverUntil {
            let t = start + Int64(k) * 1_000_000_000
            if k == temperatureStepAt { oscillator.stepFrequency(by: 0.05e-6) }
            oscillator.advance(to: t, noise: &noise)
            if k < holdoverFrom {
                let edge = t + Int64((noise.normal(200e-9) * 1e9).rounded())
                let local = oscillator.local(at: edge)
                for index in contenders.indices { contenders[index].pulse(local: local, second: t) }
            }
            let measure = t + 500_000_000
            let local = oscillator.local(at: measure)
            for index in contenders.indices {
                errors[index].append(Double(contenders[index].served(at: local) - measure) * 1e-9)
            }
        }
        return errors
    }

    // MARK: Figures

    /// One run's figures for one discipline.
    struct Figures {
        var lockTime: Double?
        var locked: [Double]
        var steady: [Double]
        var stepMax: Double
        var relock: Double?
        var holdoverEnd: Double

        init(_ errors: [Double]) {
            let present = Array(errors[0..<holdoverFrom])
            let lock = DisciplineComparison.lock(in: present, from: 0)
            lockTime = lock.map(Double.init)
            locked = lock.map { Array(present[$0...]) } ?? []
            steady = Array(present[steadyFrom..<temperatureStepAt])
            stepMax = present[temperatureStepAt...].map(abs).max() ?? 0
            relock = DisciplineComparison.lock(in: present, from: temperatureStepAt).map { Double($0 - temperatureStepAt) }
            holdoverEnd = abs(errors[holdoverUntil - 1])
        }
    }

    /// The first second at or after `from` from which |error| stays under the threshold for `lockHold` seconds.
    static func lock(in errors: [Double], from: Int) -> Int? {
        var runStart = from
        for index in from..<errors.count {
            if abs(errors[index]) >= lockThreshold {
                runStart = index + 1
            } else if index - runStart + 1 >= lockHold {
                return runStart
            }
        }
        return nil
    }

    /// Figures over the seeds; nil where a figure does not exist (never locked).
    struct Summary {
        var lockTime: Double?
        var lockedRMS: Double?
        var lockedMax: Double?
        var steadyRMS: Double?
        var steadyMax: Double?
        var stepMax: Double?
        var relock: Double?
        var holdoverEnd: Double?

        init(_ runs: [Figures]) {
            func median(_ values: [Double?]) -> Double? {
                // A run that never locked counts as later than every one that did.
                let sorted = values.map { $0 ?? .infinity }.sorted()
                let middle = sorted.count / 2
                let value = sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
                return value.isFinite ? value : nil
            }
            func rms(_ values: [Double]) -> Double? {
                values.isEmpty ? nil : (values.reduce(0) { $0 + $1 * $1 } / Double(values.count)).squareRoot()
            }
            lockTime = median(runs.map(\.lockTime))
            lockedRMS = rms(runs.flatMap(\.locked))
            lockedMax = runs.flatMap(\.locked).map(abs).max()
            steadyRMS = rms(runs.flatMap(\.steady))
            steadyMax = runs.flatMap(\.steady).map(abs).max()
            stepMax = runs.map(\.stepMax).max()
            relock = median(runs.map(\.relock))
            holdoverEnd = rms(runs.map(\.holdoverEnd))
        }
    }

    static func seconds(_ value: Double?) -> String { value.map { "\(Int($0.rounded())) s" } ?? "never" }
    static func nanos(_ value: Double?) -> String { value.map { "\(Int(($0 * 1e9).rounded())) ns" } ?? "n/a" }
    static func ratio(_ value: Double?, _ reference: Double?) -> String {
        guard let value, let reference else { return "n/a" }
        guard reference > 0 else { return value > 0 ? "∞" : "1.00" }
        let r = value / reference
        return r >= 100 ? "\(Int(r.rounded()))×" : "\((r * 100).rounded() / 100)×"
    }
    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}

/// A discipline in the comparison's closed loop: told of each PPS edge, asked for served time.
protocol ComparedDiscipline {
    var label: String { get }
    /// A PPS edge stamped `local` on the oscillator that marks the true second `second` (Unix ns).
    mutating func pulse(local: LocalTime, second: Int64)
    /// Served time at `local`, ns.
    mutating func served(at local: LocalTime) -> Int64
}

extension ClockModel {
    /// Offset of true time `second` (ns) from this served clock at `local`, seconds, without rounding served time
    /// to a nanosecond first.
    func offset(of second: Int64, at local: LocalTime) -> Double {
        Double(second &- local &- base) * 1e-9 - correction(at: local)
    }
}

/// `ClockDiscipline` fed the way `TimeKeeper` feeds it from a PPS source.
struct RegressionLoop: ComparedDiscipline {
    var label: String { "regression" }
    var discipline = ClockDiscipline()
    /// The newest edges as (local, true second): like `TimeKeeper`'s raw offsets, re-expressed against the served
    /// clock of the moment whenever the filter runs.
    private var edges: [(local: LocalTime, second: Int64)] = []
    private var lastFed: LocalTime?
    /// `SourceDefinition.filterCapacity` and `poll` of a reference clock.
    static let window = 8
    static let poll = 16.0
    /// `TimeKeeperConfiguration.precision` (2^-20 s): the least sigma an update gets.
    static let precision = 1.0 / Double(1 << 20)

    mutating func pulse(local: LocalTime, second: Int64) {
        edges.append((local, second))
        if edges.count > Self.window { edges.removeFirst(edges.count - Self.window) }
        // TimeKeeper.update: every estimate until `minPoints` points, then windows that do not overlap.
        let spacing: Int64 = discipline.points.count >= discipline.configuration.minPoints
            ? Int64(min(Self.poll, Double(Self.window)) * 1e9) - 500_000_000 : 1
        guard lastFed.map({ local &- $0 >= spacing }) ?? true else { return }
        lastFed = local
        let model = discipline.model
        let estimate = Self.endpointFit(edges.map { (x: $0.local.seconds(since: local), y: model.offset(of: $0.second, at: $0.local)) })
        _ = discipline.update(local: local, offset: estimate.offset, sigma: max(estimate.jitter, Self.precision))
    }

    mutating func served(at local: LocalTime) -> Int64 { discipline.model.served(at: local) }

    /// What `RegressionFilter` makes of clean samples (x: seconds relative to the newest, ≤ 0): with 4 or more a
    /// least-squares line evaluated at the newest sample and the residuals' standard deviation; with fewer the
    /// newest offset and the RMS difference to it. (The filter's MAD outlier cut is left out: the jitter here is
    /// Gaussian, with no glitches to cut.)
    static func endpointFit(_ points: [(x: Double, y: Double)]) -> (offset: Double, jitter: Double) {
        guard let newest = points.last else { return (0, 0) }
        let n = Double(points.count)
        guard points.count >= 4 else {
            let squares = points.reduce(0) { $0 + ($1.y - newest.y) * ($1.y - newest.y) }
            return (newest.y, points.count > 1 ? (squares / (n - 1)).squareRoot() : 0)
        }
        let meanX = points.reduce(0) { $0 + $1.x } / n
        let meanY = points.reduce(0) { $0 + $1.y } / n
        var sxx = 0.0, sxy = 0.0
        for p in points {
            sxx += (p.x - meanX) * (p.x - meanX)
            sxy += (p.x - meanX) * (p.y - meanY)
        }
        let slope = sxx > 0 ? sxy / sxx : 0
        var squares = 0.0
        for p in points {
            let r = p.y - (meanY + slope * (p.x - meanX))
            squares += r * r
        }
        return (meanY + slope * (newest.x - meanX), (squares / (n - 2)).squareRoot())
    }
}

/// `PLLDiscipline` fed every pulse, or (as ntpd's refclock drivers do) the mean offset of each poll interval.
struct PLLLoop: ComparedDiscipline {
    enum Feed {
        case everyPulse
        case pollMean
    }

    var discipline: PLLDiscipline
    let feed: Feed
    private var pending: [Double] = []

    init(poll: Int, maxPoll: Int? = nil, feed: Feed, startupFloor: Double? = nil) {
        var configuration = PLLDiscipline.Configuration(minPoll: poll, maxPoll: maxPoll)
        if let startupFloor { configuration.startupFloor = startupFloor }
        discipline = PLLDiscipline(configuration: configuration)
        self.feed = feed
    }

    var label: String {
        let configuration = discipline.configuration
        let poll = configuration.minPoll == configuration.maxPoll ? "poll \(configuration.minPoll)" : "poll \(configuration.minPoll)…\(configuration.maxPoll)"
        let startup = configuration.startupFloor == 0.0005 ? "" : ", clamp to \(Int((configuration.startupFloor * 1e6).rounded())) µs"
        return "PLL \(poll), " + (feed == .everyPulse ? "1 s" : "2^poll mean") + startup
    }

    mutating func pulse(local: LocalTime, second: Int64) {
        discipline.advance(to: local)
        let offset = discipline.model.offset(of: second, at: local)
        switch feed {
        case .everyPulse:
            _ = discipline.update(local: local, offset: offset, sigma: 200e-9)
        case .pollMean:
            pending.append(offset)
            guard pending.count >= Int(discipline.timeConstant) else { return }
            let count = Double(pending.count)
            let mean = pending.reduce(0, +) / count
            pending.removeAll()
            _ = discipline.update(local: local, offset: mean, sigma: 200e-9 / count.squareRoot())
        }
    }

    mutating func served(at local: LocalTime) -> Int64 {
        discipline.advance(to: local)
        return discipline.model.served(at: local)
    }
}

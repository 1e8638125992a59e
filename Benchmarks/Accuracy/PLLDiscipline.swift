import TimeCore

/// An RFC 5905 §11.3 clock discipline: the hybrid phase/frequency-lock loop of NTPv4, kept here only as the peer
/// the accuracy benchmark measures `ClockDiscipline` against (the node never uses it).
///
/// It takes the same input as `ClockDiscipline.update(local:offset:sigma:)` (an offset of true time from served
/// time measured at a local time) and serves a clock the same way, through a `ClockModel`. What differs is how
/// that model moves, and the point of the comparison is exactly that difference:
///
/// - The loop is a type II PLL (RFC 5905 §11.3, Figure 29; the `local_clock()` routine of Appendix A.5.5.6): each
///   update replaces the residual phase `offset` that the clock-adjust process (Appendix A.5.6.1,
///   `clock_adjust()`) then slews out once a second with time constant `pllGain · 2^poll`, and nudges the
///   frequency by `offset · min(µ, 2^poll) / (4 · pllGain · 2^poll)²` (the integral path).
/// - Above half the Allan intercept the FLL contribution `(offset − residual) / (max(µ, ALLAN) · max(FLL − poll,
///   AVG))` joins in: at long poll intervals the frequency is better measured than phase-tracked.
/// - The state machine (NSET, FSET, FREQ, SYNC, SPIK) steps offsets beyond `stepThreshold` (STEPT, 128 ms), at
///   start measures the frequency directly over the stepout interval (FREQ state), and treats a single large
///   offset in SYNC as a spike.
/// - The frequency is clamped to ±500 ppm (MAXFREQ), and so is the total slew per second (as `adj_host_clock()`
///   in ntpd does).
///
/// The served clock is a kernel-like clock: it is never jumped except by a step; between the once-a-second
/// clock-adjust ticks it runs at `frequency + slew`. `model` is therefore piecewise linear, valid from the last
/// tick to the next: call `advance(to:)` before reading it.
///
/// Constants follow the RFC's appendix except the PLL gain and the stepout, where they follow ntpd 4.2.8
/// (`ntp_loopfilter.c`), which is what runs in the field: the appendix's `PLL 65536` would make the phase time
/// constant 65536 · 2^poll s (12 days at poll 4); ntpd's `CLOCK_PLL` is 16. ntpd's 300 s stepout
/// (`CLOCK_MINSTEP`) replaces the appendix's `WATCH` of 900 s, and ntpd's startup clamp (`freq_cnt`: a phase time
/// constant of 32 s and no frequency updates until an offset under 0.5 ms, for at most 300 s) is on by default.
/// Both choices shorten the PLL's lock; the comparison wants the PLL at its best.
///
/// `sigma` is accepted for parity with `ClockDiscipline` and ignored: RFC 5905's loop weights every update alike
/// (its clock filter and combine algorithm, §10–11.2, are where sample quality counts).
struct PLLDiscipline {
    struct Configuration {
        /// Range of the time-constant exponent (ntpd's `sys_poll`, τ = 2^poll s). Equal bounds: a fixed time
        /// constant (ntpd's `minpoll N maxpoll N`); otherwise the RFC's poll-adjust (Appendix A.5.5.6, `LIMIT`
        /// and `PGATE`) moves it between them.
        var minPoll = 4
        var maxPoll = 4
        /// Offsets beyond this are steps, not slews (STEPT, ntpd `CLOCK_MAX`), seconds.
        var stepThreshold = 0.128
        /// Seconds a FREQ or SPIK state waits before believing a large offset (RFC `WATCH` 900 s; ntpd 4.2.8's
        /// `CLOCK_MINSTEP` 300 s, used here).
        var stepout = 300.0
        /// Offsets beyond this are refused outright (PANICT), seconds.
        var panicThreshold = 1000.0
        /// PLL loop gain (ntpd `CLOCK_PLL` 16; the RFC appendix's 65536 is not what any implementation runs).
        var pllGain = 16.0
        /// FLL loop gain (RFC `FLL` = MAXPOLL + 1).
        var fllGain = 18.0
        /// Exponential averaging constant for jitter and wander, and the FLL gain floor (RFC `AVG`).
        var averaging = 4.0
        /// The compromise Allan intercept, seconds (RFC `ALLAN`): where white phase noise and random-walk
        /// frequency noise cross, and so where the FLL starts to help and phase averaging stops to.
        var allanIntercept = 1500.0
        /// Frequency tolerance (RFC `MAXFREQ`, 500 ppm): clamp on the frequency and on the slew per second.
        var maxFrequency = 500e-6
        /// Poll-adjust hysteresis (RFC `LIMIT`) and gate (RFC `PGATE`).
        var pollLimit = 30
        var pollGate = 4.0
        /// ntpd's startup clamp (`freq_cnt`): seconds of SYNC during which the phase is slewed with time constant
        /// `pllGain · 2` and the frequency left alone, ended early by an offset under `startupFloor`. 0: off.
        var startupClamp = 300
        /// ntpd `CLOCK_FLOOR`, seconds.
        var startupFloor = 0.0005
        /// Clock reading precision, seconds (floor of the jitter, RFC `s.precision`).
        var precision = 1.0 / Double(1 << 20)

        init(minPoll: Int = 4, maxPoll: Int? = nil) {
            self.minPoll = minPoll
            self.maxPoll = maxPoll ?? minPoll
        }
    }

    /// RFC 5905 Appendix A.5.5.6's clock states.
    enum State: Sendable, Equatable {
        /// Never set, no frequency known.
        case nset
        /// Frequency known (a drift file), time not yet set.
        case fset
        /// Measuring the frequency directly over the stepout interval after the first step.
        case freq
        /// Normal operation.
        case sync
        /// A large offset seen in SYNC; ignored until the stepout interval says it persists.
        case spike
    }

    /// What an update did.
    enum Outcome: Sendable, Equatable {
        /// Served time jumped by this many seconds.
        case stepped(Double)
        /// Phase to slew replaced by `phase`, frequency moved by `frequency`.
        case adjusted(phase: Double, frequency: Double)
        /// The state machine waits (FREQ or SPIK before the stepout).
        case ignored(String)
        /// Not finite, or beyond the panic threshold.
        case rejected(String)
    }

    let configuration: Configuration
    /// The served clock from the last clock-adjust tick to the next.
    private(set) var model: ClockModel
    private(set) var state: State
    /// Frequency correction (RFC `c.freq`, ntpd `drift_comp`), dimensionless.
    private(set) var frequency: Double
    /// Phase still to be slewed (RFC `c.offset`), seconds.
    private(set) var residual = 0.0
    /// Time-constant exponent in use (RFC `s.poll`).
    private(set) var poll: Int
    /// RMS of exponentially weighted offset differences (RFC `c.jitter`), seconds.
    private(set) var jitter: Double
    /// RMS of exponentially weighted frequency (RFC `c.wander`).
    private(set) var wander = 0.0
    private(set) var updates = 0
    private(set) var steps = 0
    /// Local time of the last update that reset the loop (RFC `s.t`, ntpd `clock_epoch`).
    private(set) var epoch: LocalTime?
    private var lastOffset = 0.0
    private var pollCounter = 0
    private var startupRemaining: Int
    private var nextTick: LocalTime?

    /// `frequency`: a restored drift (starts in FSET, as ntpd does with a drift file); nil starts in NSET.
    init(configuration: Configuration = Configuration(), frequency: Double? = nil, base: Int64 = 0) {
        self.configuration = configuration
        self.frequency = frequency ?? 0
        self.state = frequency == nil ? .nset : .fset
        self.poll = configuration.minPoll
        self.jitter = configuration.precision
        self.startupRemaining = configuration.startupClamp
        self.model = ClockModel(base: base, phase: 0, frequency: frequency ?? 0, reference: 0)
    }

    /// The PLL time constant in seconds (RFC 5905 §11.3: τ = 2^poll, the phase slewed over `pllGain · τ`).
    var timeConstant: Double { Double(1 << max(0, poll)) }

    /// Runs the once-a-second clock-adjust process (RFC 5905 Appendix A.5.6.1, `clock_adjust()`; ntpd
    /// `adj_host_clock()`) for every whole second of local time up to `local`. The first call starts the tick
    /// schedule.
    mutating func advance(to local: LocalTime) {
        guard var tick = nextTick else {
            nextTick = local &+ 1_000_000_000
            model = ClockModel(base: model.base, phase: model.phase, frequency: model.frequency, reference: local)
            return
        }
        while tick <= local {
            clockAdjust(at: tick)
            tick &+= 1_000_000_000
        }
        nextTick = tick
    }

    /// One second's phase and frequency adjustment: slew a fraction of the residual phase (none outside SYNC,
    /// as ntpd) on top of the frequency correction, the total bounded by `maxFrequency`.
    private mutating func clockAdjust(at tick: LocalTime) {
        var slew = 0.0
        if state == .sync {
            if startupRemaining > 0 {
                slew = residual / (configuration.pllGain * 2)
                startupRemaining -= 1
            } else {
                slew = residual / (configuration.pllGain * min(timeConstant, configuration.allanIntercept))
            }
        }
        let limit = configuration.maxFrequency
        slew = min(max(slew, -limit - frequency), limit - frequency)
        residual -= slew
        model = ClockModel(base: model.base, phase: model.correction(at: tick), frequency: frequency + slew, reference: tick)
    }

    /// The RFC 5905 `local_clock()` routine (Appendix A.5.5.6) for an offset of true time from served time
    /// measured at `local`.
    mutating func update(local: LocalTime, offset: Double, sigma: Double) -> Outcome {
        _ = sigma
        advance(to: local)
        guard offset.isFinite else { return .rejected("offset not finite") }
        guard abs(offset) <= configuration.panicThreshold else { return .rejected("offset beyond the panic threshold") }
        let mu = epoch.map { max(0, local.seconds(since: $0)) } ?? 0
        let oldFrequency = frequency
        var newFrequency = frequency
        let outcome: Outcome
        if abs(offset) > configuration.stepThreshold {
            switch state {
            case .sync:
                // A single large offset is a spike until it persists for the stepout interval.
                state = .spike
                return .ignored("spike")
            case .freq, .spike:
                guard mu >= configuration.stepout else { return .ignored("waiting for the stepout") }
                if state == .freq { newFrequency += offset / mu }
            case .nset, .fset:
                break
            }
            step(offset, at: local)
            if state == .nset {
                // The frequency is measured directly over the stepout interval that starts now.
                reset(to: .freq, offset: 0, at: local)
                updates += 1
                return .stepped(offset)
            }
            reset(to: .sync, offset: 0, at: local)
            outcome = .stepped(offset)
        } else {
            let difference = max(abs(offset - lastOffset), configuration.precision)
            jitter = (jitter * jitter + (difference * difference - jitter * jitter) / configuration.averaging).squareRoot()
            switch state {
            case .nset:
                // First update, small: take the phase (as a set, since nothing is served yet) and measure the
                // frequency over the stepout interval.
                model.phase += offset
                reset(to: .freq, offset: 0, at: local)
                updates += 1
                return .adjusted(phase: offset, frequency: 0)
            case .freq:
                guard mu >= configuration.stepout else { return .ignored("measuring the frequency") }
                // Nothing was slewed in FREQ: all the offset gathered since the epoch is frequency error.
                newFrequency += offset / mu
                // The PLL/FLL step below is skipped while the startup clamp runs (ntpd falls through to it).
                newFrequency += loopFilter(offset: offset, mu: mu)
            case .fset, .sync, .spike:
                newFrequency += loopFilter(offset: offset, mu: mu)
            }
            reset(to: .sync, offset: offset, at: local)
            if abs(offset) < configuration.startupFloor { startupRemaining = 0 }
            outcome = .adjusted(phase: offset, frequency: 0)
        }
        let limit = configuration.maxFrequency
        frequency = min(max(newFrequency, -limit), limit)
        let change = frequency - oldFrequency
        wander = (wander * wander + (change * change - wander * wander) / configuration.averaging).squareRoot()
        adjustPoll()
        updates += 1
        if case .adjusted(let phase, _) = outcome { return .adjusted(phase: phase, frequency: change) }
        return outcome
    }

    /// The frequency change from the FLL and PLL paths (RFC 5905 §11.3; Appendix A.5.5.6, the `default` case).
    private func loopFilter(offset: Double, mu: Double) -> Double {
        guard startupRemaining == 0 else { return 0 }
        var change = 0.0
        let tau = timeConstant
        if tau > configuration.allanIntercept / 2 {
            // FLL: the phase gathered since the last update, over the longer of the interval and the intercept.
            let gain = max(configuration.fllGain - Double(poll), configuration.averaging)
            change += (offset - residual) / (max(mu, configuration.allanIntercept) * gain)
        }
        // PLL: integrate the offset; the integration interval is capped at τ (oversampling, not undersampling).
        let denominator = 4 * configuration.pllGain * tau
        change += offset * min(mu, tau) / (denominator * denominator)
        return change
    }

    /// RFC `rstclock()` (Appendix A.5.5.7): enter `state` with `offset` as the phase to slew.
    private mutating func reset(to newState: State, offset: Double, at local: LocalTime) {
        state = newState
        residual = offset
        lastOffset = offset
        epoch = local
    }

    /// Steps served time by `offset` (RFC `step_time()`), into the exact integer base.
    private mutating func step(_ offset: Double, at local: LocalTime) {
        let nanos = Int64((offset * 1e9).rounded())
        model = ClockModel(base: model.base &+ nanos, phase: model.correction(at: local), frequency: model.frequency, reference: local)
        pollCounter = 0
        jitter = configuration.precision
        steps += 1
    }

    /// RFC 5905 Appendix A.5.5.6's poll-adjust: lengthen the time constant while offsets stay within `pollGate`
    /// jitters, shorten it (twice as fast) when they do not. Frozen during the startup clamp, as in ntpd.
    private mutating func adjustPoll() {
        guard configuration.minPoll < configuration.maxPoll else { return }
        if startupRemaining > 0 {
            pollCounter = 0
        } else if abs(residual) < configuration.pollGate * jitter {
            pollCounter += poll
            if pollCounter > configuration.pollLimit {
                pollCounter = configuration.pollLimit
                if poll < configuration.maxPoll {
                    pollCounter = 0
                    poll += 1
                }
            }
        } else {
            pollCounter -= poll << 1
            if pollCounter < -configuration.pollLimit {
                pollCounter = -configuration.pollLimit
                if poll > configuration.minPoll {
                    pollCounter = 0
                    poll -= 1
                }
            }
        }
    }
}

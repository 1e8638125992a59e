/// How the system clock driver moves the kernel clock onto the node's served time: chrony-style, by
/// frequency. The kernel runs at the discipline's frequency plus a correction that removes the phase
/// difference over `slewTime` (bounded by `maxSlew`); offsets beyond `stepThreshold` are stepped, but only
/// during the first `stepLimit` updates (chrony's `makestep 0.1 3`), so a running system never jumps.
public struct KernelSteering: Sendable, Equatable {
    public var slewTime: Double = 16
    public var maxSlew: Double = 500e-6
    public var stepThreshold: Double = 0.1
    public var stepLimit: Int = 3
    public private(set) var updates = 0

    public init(stepThreshold: Double = 0.1, stepLimit: Int = 3) {
        self.stepThreshold = stepThreshold
        self.stepLimit = stepLimit
    }

    public struct Adjustment: Sendable, Equatable {
        /// Seconds to step the kernel clock by, nil for none.
        public var step: Double?
        /// Kernel frequency offset to set, ppm (positive: the kernel clock runs faster).
        public var frequencyPPM: Double

        public init(step: Double?, frequencyPPM: Double) {
            self.step = step
            self.frequencyPPM = frequencyPPM
        }
    }

    /// `servedMinusSystem`: served time minus CLOCK_REALTIME now (s); `frequency`: the discipline's
    /// frequency of served time against the raw oscillator (dimensionless).
    public mutating func plan(servedMinusSystem offset: Double, frequency: Double) -> Adjustment {
        defer { updates += 1 }
        guard offset.isFinite, frequency.isFinite else { return Adjustment(step: nil, frequencyPPM: 0) }
        let mayStep = stepLimit < 0 || updates < stepLimit
        if mayStep && abs(offset) > stepThreshold {
            return Adjustment(step: offset, frequencyPPM: frequency * 1e6)
        }
        let slew = min(maxSlew, max(-maxSlew, offset / slewTime))
        return Adjustment(step: nil, frequencyPPM: (frequency + slew) * 1e6)
    }
}

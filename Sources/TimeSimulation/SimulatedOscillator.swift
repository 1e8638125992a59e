/// The node's free-running oscillator against true time: a frequency error, a random walk of that frequency
/// (wander) and steps (a temperature change). Local time = true time + `phase`, integrated second by second.
public struct SimulatedOscillator: Sendable {
    /// Local minus true time, seconds.
    public private(set) var phase: Double
    /// Local clock rate error, dimensionless (+20e-6: gains 20 µs per second).
    public private(set) var frequency: Double
    /// Standard deviation of the frequency's random walk per √second.
    public var wander: Double
    /// True time of the last advance, nanoseconds.
    public private(set) var time: Int64

    public init(start: Int64, phase: Double, frequency: Double, wander: Double) {
        self.time = start
        self.phase = phase
        self.frequency = frequency
        self.wander = wander
    }

    /// Moves true time forward to `t` (ns), integrating phase and letting the frequency wander.
    public mutating func advance(to t: Int64, noise: inout GaussianNoise) {
        let dt = Double(t - time) * 1e-9
        guard dt > 0 else { return }
        phase += frequency * dt
        frequency += noise.normal(wander * dt.squareRoot())
        time = t
    }

    public mutating func stepFrequency(by delta: Double) { frequency += delta }

    /// Local time at true time `t` (ns), at most a second or so past the last advance.
    public func local(at t: Int64) -> Int64 {
        let dt = Double(t - time) * 1e-9
        return t &+ Int64(((phase + frequency * dt) * 1e9).rounded())
    }
}

import Foundation
import NTPCore

/// Seeded normal and exponential deviates for the simulation (Box–Muller over `SeededRandom`), so every run
/// of a scenario is the same run.
public struct GaussianNoise: Sendable {
    private var random: SeededRandom
    private var spare: Double?

    public init(seed: UInt64) { random = SeededRandom(seed: seed) }

    /// A uniform deviate in (0, 1].
    public mutating func uniform() -> Double {
        Double(random.next() >> 11 &+ 1) / Double(1 << 53)
    }

    /// A normal deviate with mean 0 and standard deviation `sigma`.
    public mutating func normal(_ sigma: Double = 1) -> Double {
        if let spare {
            self.spare = nil
            return spare * sigma
        }
        let u = uniform(), v = uniform()
        let radius = (-2 * log(u)).squareRoot()
        spare = radius * sin(2 * .pi * v)
        return radius * cos(2 * .pi * v) * sigma
    }

    /// An exponential deviate with mean `mean` (queueing delay on a network path).
    public mutating func exponential(_ mean: Double) -> Double {
        -log(uniform()) * mean
    }
}

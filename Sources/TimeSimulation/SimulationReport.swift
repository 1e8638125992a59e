/// The figures of one scenario run: what the tests bound and the accuracy benchmark prints.
import NTPCore

public struct SimulationReport: Sendable, CustomStringConvertible {
    public var scenario: String
    /// Seconds from start until |error| stayed under the scenario's lock threshold (until the first loss of
    /// GPS or the end); nil when it never did.
    public var lockTime: Double?
    /// RMS and maximum |served − true| while locked with GPS present (from lock on, excluding losses and the
    /// 10 minutes after one), seconds.
    public var rmsError: Double
    public var maxError: Double
    /// |served − true| at the end of each GPS loss, and the largest during it, seconds.
    public var holdoverErrors: [Double]
    public var holdoverMaxError: Double
    /// Seconds (while synchronised) where the published error bound did not contain the true error, and the
    /// largest error-to-bound ratio seen.
    public var boundViolations: Int
    public var worstBoundRatio: Double
    /// Per source, the fraction of seconds spent in each state (by symbol).
    public var stateShares: [String: [Character: Double]]
    /// Stratum served at the middle of each GPS loss and at the end.
    public var strataDuringLoss: [UInt8]
    public var finalStratum: UInt8
    public var finalFrequencyPPM: Double
    public var trueFrequencyPPM: Double
    public var samplesDropped: UInt64
    /// Leap scenario: the leap indicator served an hour before and an hour after the leap.
    public var leapIndicators: (before: LeapIndicator, after: LeapIndicator)?
    /// Leap scenario: the largest |served − UTC| within ten seconds of the leap.
    public var errorAroundLeap: Double?

    public var description: String {
        func us(_ x: Double) -> String { x.isFinite ? String(Int((x * 1e9).rounded())) + " ns" : "n/a" }
        var lines = ["scenario \(scenario)"]
        lines.append("  lock time        \(lockTime.map { "\(Int($0)) s" } ?? "never")")
        lines.append("  error RMS / max  \(us(rmsError)) / \(us(maxError))")
        if !holdoverErrors.isEmpty {
            lines.append("  holdover end err \(holdoverErrors.map(us).joined(separator: ", ")) (max during \(us(holdoverMaxError)))")
            lines.append("  stratum in loss  \(strataDuringLoss.map(String.init).joined(separator: ", "))")
        }
        lines.append("  bound violations \(boundViolations) (worst |err|/bound \((worstBoundRatio * 1000).rounded() / 1000))")
        if let leap = leapIndicators {
            lines.append("  leap indicator   \(leap.before) an hour before, \(leap.after) an hour after; max error near the leap \(us(errorAroundLeap ?? .infinity))")
        }
        lines.append("  frequency        \(finalFrequencyPPM) ppm (oscillator needs \(trueFrequencyPPM))")
        for (source, shares) in stateShares.sorted(by: { $0.key < $1.key }) {
            let text = shares.sorted { $0.key < $1.key }.map { "\($0.key) \(Int(($0.value * 100).rounded()))%" }.joined(separator: " ")
            lines.append("  source \(source): \(text)")
        }
        return lines.joined(separator: "\n")
    }
}

/// Tunables of `ClockDiscipline`, with defaults chosen from the simulation figures (see README, "Accuracy").
public struct DisciplineConfiguration: Sendable, Equatable, Codable {
    /// Most points kept for the regression (chrony keeps up to 64 samples per source).
    public var maxPoints: Int = 64
    /// Points the regression may shrink to when the runs test says the frequency changed.
    public var minPoints: Int = 6
    /// Offsets larger than this step the clock instead of being followed smoothly (chrony `makestep`)...
    public var stepThreshold: Double = 0.1
    /// ...but only during the first `stepLimit` updates; -1: always (fine for the software clock, whose steps
    /// no process on the machine sees).
    public var stepLimit: Int = -1
    /// Largest frequency correction believed, dimensionless (chrony `maxdrift`, 500 ppm).
    public var maxFrequency: Double = 500e-6
    /// Dispersion growth while no source updates the clock (holdover), s/s on top of the frequency's own
    /// standard error. Chrony's `maxclockerror` default is 1 ppm; a GPS-disciplined TCXO does better.
    public var holdoverRate: Double = 1e-7

    public init() {}
}

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
    /// uncertainty: how far the oscillator's frequency may wander from the measured one unnoticed (temperature,
    /// ageing). Chrony's `maxclockerror` default, 1 ppm: a Raspberry Pi's crystal moves that much with a few
    /// degrees; RFC 5905's PHI (15 ppm) assumes a frequency nobody measured.
    public var holdoverRate: Double = 1e-6
    /// How many standard errors of the fit (offset and frequency) the published bound takes. The fit's
    /// standard errors are one sigma: a bound of one sigma is exceeded a third of the time, and in holdover
    /// after a short noisy lock the frequency error reached 3.4 of them. Three (99.7 % for a Gaussian) keeps
    /// the bound a bound (RFC 5905 §11.2: root distance is the maximum error, not a standard deviation).
    public var boundSigmas: Double = 3

    public init() {}
}

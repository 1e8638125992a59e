/// The knobs of source selection, named and defaulted like chrony's directives so an operator's chrony habits carry
/// over. Invalid values (NaN, negative) are replaced by the defaults when selection runs.
public struct SelectionPolicy: Hashable, Sendable, Codable {
    /// chrony `minsources` (default 1): at least this many sources must survive the intersection before anything
    /// is selected. Raising it guards against a single surviving source that nothing can cross-check.
    public var minSources: Int
    /// chrony `maxjitter` (default 1 s): a source whose jitter exceeds this is `~` and takes no part in selection.
    public var maxJitter: Double
    /// chrony `combinelimit` (default 3): a survivor is combined with the selected source only if its root distance
    /// is at most this many times the selected one's; farther survivors are `-`. 0 combines nothing.
    public var combineLimit: Double
    /// chrony `maxdistance` (default 3 s; RFC 5905's MAXDIST is 1.5 s): a source whose root distance exceeds this
    /// is `?`, too uncertain to vote.
    public var maxDistance: Double
    /// RFC 5905 PHI (15 ppm): how fast an estimate's dispersion grows with its age.
    public var dispersionRate: Double
    /// chrony `reselectdist` (default 100 µs): the currently selected source is kept unless another of the same
    /// stratum is closer by more than this, so selection does not flap between near-equal sources.
    public var reselectDistance: Double

    public init(
        minSources: Int = 1, maxJitter: Double = 1, combineLimit: Double = 3, maxDistance: Double = 3,
        dispersionRate: Double = 15e-6, reselectDistance: Double = 1e-4
    ) {
        self.minSources = minSources
        self.maxJitter = maxJitter
        self.combineLimit = combineLimit
        self.maxDistance = maxDistance
        self.dispersionRate = dispersionRate
        self.reselectDistance = reselectDistance
    }

    /// The policy with every invalid value replaced by its default.
    var sanitized: SelectionPolicy {
        let defaults = SelectionPolicy()
        // Limits may be infinite (no limit); rates and margins must be finite.
        func valid(_ value: Double, _ fallback: Double) -> Double { value.isNaN || value < 0 ? fallback : value }
        func finite(_ value: Double, _ fallback: Double) -> Double {
            value.isFinite ? valid(value, fallback) : fallback
        }
        return SelectionPolicy(
            minSources: max(1, minSources),
            maxJitter: valid(maxJitter, defaults.maxJitter),
            combineLimit: valid(combineLimit, defaults.combineLimit),
            maxDistance: valid(maxDistance, defaults.maxDistance),
            dispersionRate: finite(dispersionRate, defaults.dispersionRate),
            reselectDistance: finite(reselectDistance, defaults.reselectDistance))
    }
}

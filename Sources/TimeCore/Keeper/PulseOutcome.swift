/// What became of one PPS edge given to the keeper.
public enum PulseOutcome: Sendable, Equatable {
    /// Numbered and filed as a sample with this offset (seconds, source − served).
    case accepted(offset: Double)
    /// No time to number it: the lock source has no estimate and the served clock is not synchronised.
    case unnumbered
    /// The lock source (or the served clock) is this far from a whole second at the edge: too far to say which
    /// second the pulse marks.
    case ambiguous(fraction: Double)
    case unknownSource
}

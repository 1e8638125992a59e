/// A source's state after selection, with the symbols `chronyc sources` uses so operators read it at a glance.
public enum SourceState: String, Hashable, Sendable, Codable, CaseIterable {
    /// `*` the source the clock follows.
    case selected
    /// `+` a survivor combined with the selected one.
    case combined
    /// `-` a survivor left out of the combination.
    case notCombined
    /// `x` a falseticker: its interval does not intersect the majority's.
    case falseticker
    /// `~` too variable (jitter far above the others').
    case jittery
    /// `?` not usable: unreachable, too few samples, `noselect`, or a loop.
    case unusable

    public var symbol: Character {
        switch self {
        case .selected: "*"
        case .combined: "+"
        case .notCombined: "-"
        case .falseticker: "x"
        case .jittery: "~"
        case .unusable: "?"
        }
    }
}

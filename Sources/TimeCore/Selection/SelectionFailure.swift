/// Why selection chose no source; its description is the operator-facing reason, worded like chrony's
/// "Can't synchronise: ..." log messages.
public enum SelectionFailure: Hashable, Sendable, CustomStringConvertible {
    /// No sources were configured (or none were passed in).
    case noSources
    /// Every source is `?` or `~`; `unreachable` of them have an empty reachability register.
    case noSelectableSources(unreachable: Int)
    /// RFC 5905 §11.2.1: no point is inside the intervals of more than half of the candidates (or, when trusted
    /// sources exist, of more than half of the trusted ones). `agreeing` is the largest group that does agree.
    case noMajority(agreeing: Int, candidates: Int, trusted: Bool)
    /// Sources carry `require`, and none of them survived the intersection (chrony: "no required source in
    /// selectable sources").
    case requiredSourceNotSelectable
    /// Fewer survivors than `SelectionPolicy.minSources`.
    case fewerThanMinSources(survivors: Int, minSources: Int)

    public var description: String {
        switch self {
        case .noSources:
            "no sources"
        case .noSelectableSources(let unreachable):
            "no selectable sources (\(unreachable) unreachable)"
        case .noMajority(let agreeing, let candidates, let trusted):
            agreeing < 2
                ? "no majority (no agreement among \(candidates) \(trusted ? "trusted " : "")sources)"
                : "no majority (only \(agreeing) of \(candidates) \(trusted ? "trusted " : "")sources agree)"
        case .requiredSourceNotSelectable:
            "required source not selectable"
        case .fewerThanMinSources(let survivors, let minSources):
            "fewer than minSources (\(survivors) of \(minSources) needed)"
        }
    }
}

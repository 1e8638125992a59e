/// Selection's conclusion about one source: its `chronyc sources` state plus the numbers and the reason behind it,
/// so status pages and logs can say why a source is not used, not just that it is not.
public struct SourceVerdict: Hashable, Sendable {
    public var id: SourceID
    public var state: SourceState
    /// Root distance at selection time (RFC 5905 §11.2: the half-width of the source's correctness interval),
    /// seconds; `.infinity` for an estimate too broken to have one.
    public var distance: Double
    /// Share of the combined offset (RFC 5905 §11.2.3 weight 1/distance, normalised); 0 unless `*` or `+`.
    public var weight: Double
    /// Why the source is `?`, `~`, `x` or `-` (e.g. "unreachable", "noselect", "not preferred"); `nil` for `*`/`+`.
    public var note: String?

    public init(id: SourceID, state: SourceState, distance: Double, weight: Double = 0, note: String? = nil) {
        self.id = id
        self.state = state
        self.distance = distance
        self.weight = weight
        self.note = note
    }
}

/// Per-source selection options, named and behaving like chrony's `server`/`refclock` options.
public struct SourceOptions: Hashable, Sendable, Codable {
    /// Preferred among the survivors: selected whenever it survives (chrony `prefer`).
    public var prefer = false
    /// Measured and shown, never selected (chrony `noselect`).
    public var noselect = false
    /// Assumed correct: never a falseticker; when trusted sources disagree with others, they win (chrony `trust`).
    public var trust = false
    /// Selection happens only when this source survives (chrony `require`).
    public var require = false
    /// Seconds added to every sample (antenna cable and receiver delay: ntpd's `fudge time2`, chrony's `offset`).
    public var offset: Double = 0

    public init(prefer: Bool = false, noselect: Bool = false, trust: Bool = false, require: Bool = false, offset: Double = 0) {
        self.prefer = prefer
        self.noselect = noselect
        self.trust = trust
        self.require = require
        self.offset = offset
    }
}

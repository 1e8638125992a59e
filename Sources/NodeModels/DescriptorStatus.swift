/// The process's file descriptors as status reports them: how many are open, the limit (RLIMIT_NOFILE),
/// and the accepts that failed for want of one. Every TCP connection takes a descriptor, so a flood meets
/// this limit first; while it is reached NTS-KE, admin and metrics connections are refused.
public struct DescriptorStatus: Codable, Sendable, Equatable {
    public var open: Int
    /// The soft limit; nil when unlimited.
    public var limit: UInt64?
    /// Accepts that failed with EMFILE, ENFILE, ENOBUFS or ENOMEM since start, on every listener.
    public var acceptFailures: UInt64
    /// Unix seconds of the last such failure; nil before the first.
    public var lastAcceptFailure: Double?

    /// A failed accept within this many seconds counts as "at the limit now"; none for that long clears it
    /// (the listeners back off 1 s between tries, so a node still at its limit fails again well within it).
    public static let recentSeconds: Double = 10

    public init(open: Int, limit: UInt64?, acceptFailures: UInt64, lastAcceptFailure: Double?) {
        self.open = open
        self.limit = limit
        self.acceptFailures = acceptFailures
        self.lastAcceptFailure = lastAcceptFailure
    }

    /// Open descriptors at this fraction of the limit count as at the limit: the next few connections on
    /// any listener (NTS-KE's included, whose failed accepts are not counted here) will fail.
    public static let nearLimitFraction = 0.95

    /// Whether the limit is being hit at `now` (Unix seconds): an accept failed for want of a descriptor
    /// within `recentSeconds`, or nearly every descriptor is open.
    public func atLimit(now: Double) -> Bool {
        if let limit, limit > 0, Double(open) >= Double(limit) * Self.nearLimitFraction { return true }
        guard let last = lastAcceptFailure else { return false }
        return now - last < Self.recentSeconds
    }
}

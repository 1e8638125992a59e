/// The parts of the server's behaviour an operator can change at run time (reloaded on SIGHUP without
/// closing sockets): who may ask, and how often.
public struct ServerPolicy: Sendable, Equatable {
    public var access: AccessList
    /// nil disables rate limiting (chrony's default; enable it on public-facing nodes).
    public var rateLimit: RateLimitPolicy?
    /// Interleaved client/server mode (RFC 9769 §2, chrony's `xleave`): a client that names our previous
    /// response gets that response's kernel transmit timestamp. On by default, as in chrony.
    public var interleaved: Bool
    /// Load shedding: a request read more than this after its kernel receive timestamp is dropped as
    /// `tooOld` rather than answered late; nil answers whatever the wait.
    public var maximumQueueDelay: NTPDuration?

    public init(
        access: AccessList = .allowAll, rateLimit: RateLimitPolicy? = nil, interleaved: Bool = true,
        maximumQueueDelay: NTPDuration? = nil
    ) {
        self.access = access
        self.rateLimit = rateLimit
        self.interleaved = interleaved
        self.maximumQueueDelay = maximumQueueDelay
    }

    /// Whether a request received at `receivedAt` (kernel timestamp) and read at `now` has waited too long.
    public func isTooOld(receivedAt: NTPTimestamp, now: NTPTimestamp) -> Bool {
        guard let maximumQueueDelay else { return false }
        return now - receivedAt > maximumQueueDelay
    }
}

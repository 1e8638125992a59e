/// The parts of the server's behaviour an operator can change at run time (reloaded on SIGHUP without
/// closing sockets): who may ask, and how often.
public struct ServerPolicy: Sendable, Equatable {
    public var access: AccessList
    /// nil disables rate limiting (chrony's default; enable it on public-facing nodes).
    public var rateLimit: RateLimitPolicy?
    /// Interleaved client/server mode (RFC 9769 §2, chrony's `xleave`): a client that names our previous
    /// response gets that response's kernel transmit timestamp. On by default, as in chrony.
    public var interleaved: Bool
    /// Load shedding: under sustained overload (``ReceiveBacklog``), a request read more than this after its
    /// kernel receive timestamp is dropped as `tooOld` rather than answered late; nil answers whatever the wait.
    public var maximumQueueDelay: NTPDuration?
    /// The default bound. It must sit below the interval of the busiest clients (at 300k/s from 1,024
    /// clients, each asks every 3.4 ms: with 5 ms half the answers at twice the saturation rate came after
    /// the client's next request, with 2 ms none did), and above a scheduler's time slice, which the
    /// backlog rule absorbs: a loop must have been behind for longer than the bound before anything is shed.
    public static let defaultMaximumQueueDelay = NTPDuration(seconds: 0.002)

    public init(
        access: AccessList = .allowAll, rateLimit: RateLimitPolicy? = nil, interleaved: Bool = true,
        maximumQueueDelay: NTPDuration? = ServerPolicy.defaultMaximumQueueDelay
    ) {
        self.access = access
        self.rateLimit = rateLimit
        self.interleaved = interleaved
        self.maximumQueueDelay = maximumQueueDelay
    }

    /// Whether a request received at `receivedAt` (kernel timestamp) and read at `now` is shed: it waited
    /// longer than the bound and the loop's backlog is lasting (``ReceiveBacklog``: overload, not a burst or
    /// a descheduled thread).
    public func isTooOld(receivedAt: NTPTimestamp, now: NTPTimestamp, backlog: ReceiveBacklog) -> Bool {
        guard let maximumQueueDelay else { return false }
        return now - receivedAt > maximumQueueDelay && backlog.isLasting(longerThan: maximumQueueDelay, at: now)
    }
}

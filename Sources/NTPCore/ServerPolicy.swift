/// The parts of the server's behaviour an operator can change at run time (reloaded on SIGHUP without
/// closing sockets): who may ask, and how often.
public struct ServerPolicy: Sendable, Equatable {
    public var access: AccessList
    /// nil disables rate limiting (chrony's default; enable it on public-facing nodes).
    public var rateLimit: RateLimitPolicy?

    public init(access: AccessList = .allowAll, rateLimit: RateLimitPolicy? = nil) {
        self.access = access
        self.rateLimit = rateLimit
    }
}

// The knobs of per-client response rate limiting, exactly those of chrony's
// `ratelimit interval I burst B leak L kod K` directive (chrony.conf(5)), so an
// operator's chrony config carries over unchanged.

/// Per-client response rate limit, as chrony's `ratelimit` directive.
///
/// - `interval`: log2 of the minimum mean interval between responses to one
///   client address, in seconds. 3 (the default) allows one response per 8 s
///   on average. Allowed here: -4...12 (chrony accepts down to -19 with
///   coarser accounting; an NTP server has no use for such rates).
/// - `burst`: how many responses may be sent back to back before the mean
///   rate applies (default 8, 1...255).
/// - `leak`: when the limit is exceeded, a response is still sent with
///   probability 2^-leak (default 2, i.e. 1 in 4; 1...4), so that an attacker
///   spoofing a victim's address cannot cut the victim off completely.
/// - `kod`: of the requests that would be dropped, a Kiss-o'-Death RATE
///   response is sent instead with probability 2^-kod (RFC 5905 §7.4); 0
///   (the default) disables KoD, 1...4 enable it.
///
/// Values can only be created through the validating initializer, so a
/// ``RateLimiter`` never sees an out-of-range policy; the properties are
/// read-only for the same reason.
public struct RateLimitPolicy: Hashable, Sendable, CustomStringConvertible {
    public static let intervalRange = -4...12
    public static let burstRange = 1...255
    public static let leakRange = 1...4
    public static let kodRange = 0...4

    public private(set) var interval: Int
    public private(set) var burst: Int
    public private(set) var leak: Int
    public private(set) var kod: Int

    /// Validates every option against its range; the error names the option
    /// the operator must fix, e.g. "ratelimit leak must be between 1 and 4, got 7".
    public init(interval: Int = 3, burst: Int = 8, leak: Int = 2, kod: Int = 0) throws(RateLimitPolicyError) {
        try Self.validate("interval", interval, Self.intervalRange)
        try Self.validate("burst", burst, Self.burstRange)
        try Self.validate("leak", leak, Self.leakRange)
        try Self.validate("kod", kod, Self.kodRange)
        self.init(unchecked: interval, burst, leak, kod)
    }

    private init(unchecked interval: Int, _ burst: Int, _ leak: Int, _ kod: Int) {
        self.interval = interval
        self.burst = burst
        self.leak = leak
        self.kod = kod
    }

    /// chrony's defaults for a bare `ratelimit` line: interval 3, burst 8,
    /// leak 2, KoD off.
    public static let chronyDefault = RateLimitPolicy(unchecked: 3, 8, 2, 0)

    private static func validate(
        _ option: String, _ value: Int, _ range: ClosedRange<Int>
    ) throws(RateLimitPolicyError) {
        if !range.contains(value) {
            throw RateLimitPolicyError(option: option, value: value, allowed: range)
        }
    }

    /// The directive's arguments as chrony writes them:
    /// "interval 3 burst 8 leak 2 kod 0".
    public var description: String {
        "interval \(interval) burst \(burst) leak \(leak) kod \(kod)"
    }
}

/// A `ratelimit` option out of range.
public struct RateLimitPolicyError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The option's name as written in the config: "interval", "burst", "leak" or "kod".
    public var option: String
    public var value: Int
    public var allowed: ClosedRange<Int>

    public init(option: String, value: Int, allowed: ClosedRange<Int>) {
        self.option = option
        self.value = value
        self.allowed = allowed
    }

    /// "ratelimit leak must be between 1 and 4, got 7".
    public var description: String {
        "ratelimit \(option) must be between \(allowed.lowerBound) and \(allowed.upperBound), got \(value)"
    }
}

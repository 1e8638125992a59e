/// New connections per source, as token buckets in a table of bounded size. A source whose connections are
/// closed (by eviction or deadline) can otherwise reconnect as fast as the machine allows, and every new
/// connection evicts somebody's older one: capping the rate per source caps how fast an attacker can churn
/// the pool, which is what gives a well-behaved newcomer the time to finish its handshake.
public struct ConnectionRate: Sendable {
    public struct Limits: Sendable, Equatable {
        /// Tokens added per second (new connections per second, sustained).
        public var perSecond: Double
        /// Bucket size (new connections in a burst).
        public var burst: Double

        public init(perSecond: Double, burst: Double) {
            self.perSecond = perSecond
            self.burst = burst
        }
    }

    private struct Bucket {
        var tokens: Double
        var updated: UInt64
    }

    public let limits: Limits
    /// Sources remembered at once; more (a flood from very many addresses) and idle buckets are dropped,
    /// then the whole table (counted: `tableResets`), so memory stays bounded whatever the attacker does.
    public let capacity: Int
    private var buckets: [ConnectionSource: Bucket] = [:]
    public private(set) var tableResets = 0

    public init(limits: Limits, capacity: Int = 4096) {
        self.limits = limits
        self.capacity = capacity
    }

    /// Takes a token for a new connection from `source` at `now` (monotonic nanoseconds); false if none left.
    public mutating func take(_ source: ConnectionSource, now: UInt64) -> Bool {
        var bucket = buckets[source].map { refilled($0, now: now) } ?? Bucket(tokens: limits.burst, updated: now)
        guard bucket.tokens >= 1 else {
            buckets[source] = bucket
            return false
        }
        bucket.tokens -= 1
        if buckets[source] == nil && buckets.count >= capacity {
            buckets = buckets.filter { refilled($0.value, now: now).tokens < limits.burst }
            if buckets.count >= capacity {
                buckets.removeAll(keepingCapacity: true)
                tableResets += 1
            }
        }
        buckets[source] = bucket
        return true
    }

    /// Gives back the token of a connection that proved itself (an authenticated operator), so operators
    /// are never limited by their own request rate.
    public mutating func refund(_ source: ConnectionSource) {
        guard var bucket = buckets[source] else { return }
        bucket.tokens = min(limits.burst, bucket.tokens + 1)
        buckets[source] = bucket
    }

    private func refilled(_ bucket: Bucket, now: UInt64) -> Bucket {
        let elapsed = Double(now &- bucket.updated) / 1e9
        return Bucket(tokens: min(limits.burst, bucket.tokens + elapsed * limits.perSecond), updated: now)
    }
}

/// Whether a receive loop is overloaded, as opposed to briefly late.
///
/// Load shedding (``ServerPolicy/maximumQueueDelay``) must drop requests only when the node cannot keep up:
/// a request that waited because the thread was descheduled for a few milliseconds, or because a burst
/// arrived at once, is still worth answering (its receive timestamp is the kernel's, so the answer is exact;
/// only the client's round trip grows). Under sustained overload, answering the oldest requests first makes
/// every answer late, so there the stale ones are dropped. The two differ in how long the socket stays
/// non-empty and in how much it holds: the loop is behind from the first read that leaves requests waiting
/// (it filled its batch and the socket still holds more) until a read that empties the queue. A backlog is
/// lasting once it has lasted longer than the bound *and* the loop has read at least
/// ``minimumRequests`` requests without catching up: fewer than that take well under the bound to answer
/// (a few microseconds each), so answering them delays nothing, while a node on a shared machine, whose
/// thread waits tens of milliseconds for a CPU at a modest rate, finds a backlog that is old but small.
/// (Seen in the soak at 2,000 requests/s on two busy cores: a bound on time alone shed 32-64 of 72,000.)
///
/// Pure state: the loop passes in each read's size and time (no clock read here).
public struct ReceiveBacklog: Sendable, Equatable {
    /// Requests a loop must have read while behind before its backlog counts as overload.
    public static let minimumRequests = 256

    /// Time of the first read of the current run that left requests waiting; nil while the loop keeps up.
    public private(set) var behindSince: NTPTimestamp?
    /// Requests read since `behindSince`.
    public private(set) var readWhileBehind = 0

    public init() {}

    /// Records one read of `count` requests, made at `now`, after which requests were still waiting
    /// (`leftWaiting`) or not.
    public mutating func read(count: Int, leftWaiting: Bool, at now: NTPTimestamp) {
        if leftWaiting {
            if behindSince == nil { behindSince = now }
            readWhileBehind += count
        } else {
            caughtUp()
        }
    }

    /// Records a wake-up with nothing to read: the queue is empty.
    public mutating func caughtUp() {
        behindSince = nil
        readWhileBehind = 0
    }

    /// How long the loop has been behind at `now` (zero while it keeps up).
    public func behind(at now: NTPTimestamp) -> NTPDuration {
        guard let behindSince else { return .zero }
        return now - behindSince
    }

    /// Whether the backlog is overload at `now`: behind for longer than `bound`, with at least
    /// ``minimumRequests`` read meanwhile.
    public func isLasting(longerThan bound: NTPDuration, at now: NTPTimestamp) -> Bool {
        readWhileBehind >= Self.minimumRequests && behind(at: now) > bound
    }
}

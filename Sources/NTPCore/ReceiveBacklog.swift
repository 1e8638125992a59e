/// Whether a receive loop is overloaded, as opposed to briefly late.
///
/// Load shedding (``ServerPolicy/maximumQueueDelay``) must drop requests only when the node cannot keep up:
/// a request that waited because the thread was descheduled for a few milliseconds, or because a burst
/// arrived at once, is still worth answering (its receive timestamp is the kernel's, so the answer is exact;
/// only the client's round trip grows). Under sustained overload, answering the oldest requests first makes
/// every answer late, so there the stale ones are dropped. The two differ in how long the socket stays
/// non-empty: the loop is behind from the first read that leaves requests waiting (it filled its batch and
/// the socket still holds more) until a read that empties the queue. Only a backlog that has lasted longer
/// than the bound is overload.
///
/// Pure state: the loop passes in each read's size and time (no clock read here).
public struct ReceiveBacklog: Sendable, Equatable {
    /// Time of the first read of the current run of full batches; nil while the loop keeps up.
    public private(set) var behindSince: NTPTimestamp?

    public init() {}

    /// Records one read, made at `now`, after which requests were still waiting (`leftWaiting`) or not.
    public mutating func read(leftWaiting: Bool, at now: NTPTimestamp) {
        if leftWaiting {
            if behindSince == nil { behindSince = now }
        } else {
            behindSince = nil
        }
    }

    /// How long the loop has been behind at `now` (zero while it keeps up).
    public func behind(at now: NTPTimestamp) -> NTPDuration {
        guard let behindSince else { return .zero }
        return now - behindSince
    }
}

/// Whether a receive loop is overloaded, as opposed to briefly late.
///
/// Load shedding (``ServerPolicy/maximumQueueDelay``) must drop requests only when the node cannot keep up:
/// a request that waited because the thread was descheduled for a few milliseconds, or because a burst
/// arrived at once, is still worth answering (its receive timestamp is the kernel's, so the answer is exact;
/// only the client's round trip grows). Under sustained overload, answering the oldest requests first makes
/// every answer late, so there the stale ones are dropped. The two differ in how long the socket stays
/// non-empty: a read that fills the whole batch means more requests were waiting; the loop is behind from
/// the first such read until a read that does not fill the batch (the queue ran dry). Only a backlog that
/// has lasted longer than the bound is overload.
///
/// Pure state: the loop passes in each read's size and time (no clock read here).
public struct ReceiveBacklog: Sendable, Equatable {
    /// Time of the first read of the current run of full batches; nil while the loop keeps up.
    public private(set) var behindSince: NTPTimestamp?

    public init() {}

    /// Records one read of `count` datagrams into a batch of `capacity` slots, made at `now`.
    public mutating func read(count: Int, capacity: Int, at now: NTPTimestamp) {
        if count >= capacity {
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

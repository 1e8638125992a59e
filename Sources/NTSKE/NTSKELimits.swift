import NetworkEdges
import NIOCore
import NTPCore

/// Abuse limits of the NTS-KE server: TLS handshakes are the most expensive thing a client can make a time
/// server do, and each connection holds a descriptor, so connections are bounded in number, in time and per
/// source, within a ``ConnectionBudget`` (ISSUE 14) that an attacker holding connections cannot exhaust.
public struct NTSKELimits: Sendable, Equatable {
    /// Unfinished connections at once. When all are taken, the oldest unfinished one is evicted for a
    /// newcomer (a connection that holds its place without finishing loses it first), never the newcomer refused.
    public var maximumConnections: Int
    /// Unfinished connections at once from one source (an IPv4 address, an IPv6 /64); more are refused at accept.
    public var maximumConnectionsPerSource: Int
    /// From accept to a complete request: the TLS handshake and the request must both be done within it,
    /// however the bytes trickle in (not an idle timer).
    public var timeout: TimeAmount
    /// Largest request message accepted (bytes of records); a larger one gets Bad Request.
    public var maximumRequestLength: Int
    /// New sessions per client address (chrony's `ntsratelimit`, default interval 6: one per 64 s after a
    /// burst of 8); nil disables. Over the limit a connection is refused outright: the leak of NTP's rate
    /// limit exists for spoofed UDP sources, and a TCP source cannot be spoofed.
    public var sessionRate: RateLimitPolicy?
    /// New connections per source while the listener is under pressure (half its places taken): bounds how
    /// fast sources churn a full pool, so a newcomer keeps its place long enough to finish. A source whose
    /// session completes gets its token back, so clients that finish are never limited by it.
    public var connectionRate: ConnectionRate.Limits

    public init(maximumConnections: Int = 256, maximumConnectionsPerSource: Int = 8, timeout: TimeAmount = .seconds(2),
                maximumRequestLength: Int = 4096, sessionRate: RateLimitPolicy? = nil,
                connectionRate: ConnectionRate.Limits = .init(perSecond: 1, burst: 4)) {
        self.maximumConnections = maximumConnections
        self.maximumConnectionsPerSource = maximumConnectionsPerSource
        self.timeout = timeout
        self.maximumRequestLength = maximumRequestLength
        self.sessionRate = sessionRate
        self.connectionRate = connectionRate
    }

    /// The budget's limits: no places reserved (NTS-KE has no client authentication), one deadline for the
    /// handshake and the request.
    var budget: ConnectionBudget.Limits {
        ConnectionBudget.Limits(
            total: maximumConnections, reservedForAuthenticated: 0, perSource: maximumConnectionsPerSource,
            rate: connectionRate, handshakeDeadline: timeout, requestDeadline: timeout)
    }
}

import NIOCore
import NTPCore

/// Abuse limits of the NTS-KE server: TLS handshakes are the most expensive thing a client can make a time
/// server do, so they are bounded in number, in time and per client.
public struct NTSKELimits: Sendable, Equatable {
    /// Connections in progress at once; more are closed at accept.
    public var maximumConnections: Int
    /// Handshake plus request must complete within this.
    public var timeout: TimeAmount
    /// Largest request message accepted (bytes of records); a larger one gets Bad Request.
    public var maximumRequestLength: Int
    /// New sessions per client address (chrony's `ntsratelimit`, default interval 6: one per 64 s after a
    /// burst of 8); nil disables.
    public var sessionRate: RateLimitPolicy?

    public init(maximumConnections: Int = 100, timeout: TimeAmount = .seconds(2), maximumRequestLength: Int = 4096,
                sessionRate: RateLimitPolicy? = nil) {
        self.maximumConnections = maximumConnections
        self.timeout = timeout
        self.maximumRequestLength = maximumRequestLength
        self.sessionRate = sessionRate
    }
}

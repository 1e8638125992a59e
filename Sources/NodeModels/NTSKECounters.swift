/// What the NTS-KE server did, for status and metrics.
public struct NTSKECounters: Codable, Sendable, Equatable {
    /// Connections accepted and given a TLS session.
    public var connections: UInt64 = 0
    /// Sessions that ended with keys established and cookies sent.
    public var keysEstablished: UInt64 = 0
    /// Valid requests with no protocol or AEAD in common.
    public var noCommonAlgorithm: UInt64 = 0
    /// Requests answered with an Error record (bad request, unknown critical record, internal error).
    public var errorResponses: UInt64 = 0
    /// TLS handshakes that failed (wrong ALPN, TLS 1.2, garbage, certificate problems on the client side).
    public var handshakeFailures: UInt64 = 0
    /// Connections closed at the deadline (handshake plus request must finish within it).
    public var timeouts: UInt64 = 0
    /// Connections refused at accept: too many at once.
    public var refusedOverLimit: UInt64 = 0
    /// Connections refused at accept: the client opened sessions faster than its limit.
    public var refusedRateLimited: UInt64 = 0

    public init() {}
}

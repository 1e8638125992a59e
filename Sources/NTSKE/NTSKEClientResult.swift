import NTPCore

/// What an NTS-KE exchange gives a client (RFC 8915 §4.2): the two keys, the cookies, and where to send
/// NTP (the NTS-KE server's address and port 123 unless the server negotiated otherwise).
public struct NTSKEClientResult: Sendable, Equatable {
    public var keys: NTSKeys
    public var cookies: [[UInt8]]
    /// From a Server Negotiation record, if any.
    public var ntpServer: String?
    /// From a Port Negotiation record, if any.
    public var ntpPort: UInt16?
    public var warnings: [UInt16]
    public var tlsVersion: String
    /// The certificate chain the server sent (DER, leaf first), verified against the trust anchors.
    public var peerCertificates: [[UInt8]] = []
}

/// Fixed numbers of NTS-KE.
public enum NTSKEConstants {
    /// The ALPN protocol the client offers and the server accepts (§4).
    public static let alpnProtocol = "ntske/1"
    /// The TCP port of NTS-KE (§4).
    public static let tcpPort: UInt16 = 4460
    /// The NTP port a client assumes when the response has no Port Negotiation record (§4.1.8).
    public static let defaultNTPPort: UInt16 = 123
    /// How many New Cookie records a server SHOULD send (§4.1.6).
    public static let recommendedCookieCount = 8
    /// Servers MUST accept requests of at least this many octets (§4).
    public static let minimumRequestLimit = 1024
    /// Clients SHOULD accept responses of at least this many octets (§4).
    public static let recommendedResponseLimit = 65_536
    /// Record type chrony (4.4 and later) uses, outside RFC 8915, to negotiate the RFC-compliant exporter
    /// context for AEAD_AES_128_GCM_SIV (chrony's own exporter context for that AEAD carries id 15 instead of 30).
    /// Sent with the critical bit clear and an empty body. See ``NTSKERecord/compliantAES128GCMSIVExporterContext()``.
    public static let compliantAES128GCMSIVExporterRecordType: UInt16 = 1024
}

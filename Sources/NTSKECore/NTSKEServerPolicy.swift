/// What an NTS-KE server offers and says in its responses.
public struct NTSKEServerPolicy: Sendable, Hashable {
    /// The AEAD algorithms this server can key cookies and NTP traffic with. Only membership counts:
    /// the client's order decides (see ``NTSKENegotiation/decide(_:policy:)``). It MUST include
    /// AEAD_AES_SIV_CMAC_256 (15) (§4.1.5).
    public var supportedAEAD: [UInt16]
    /// How many New Cookie records a successful response carries: at least one, eight recommended (§4.1.6).
    /// The negotiation code does not make cookies; the caller makes this many and passes them in.
    public var cookieCount: Int
    /// The name or address for a Server Negotiation record (§4.1.7), or nil for none (the client then
    /// uses the NTS-KE server's address).
    public var ntpServer: String?
    /// The port for a Port Negotiation record (§4.1.8), or nil for none (the client then uses 123).
    public var ntpPort: UInt16?
    /// Whether Server and Port records go out with the critical bit set, which servers MAY do
    /// (§4.1.7, §4.1.8). Default true, as chrony does: a client that cannot read them should stop
    /// rather than take the cookies to the wrong server.
    public var criticalServerAndPort: Bool

    public init(
        supportedAEAD: [UInt16] = [NTSKEAEADAlgorithm.aesSIVCMAC256.rawValue],
        cookieCount: Int = NTSKEConstants.recommendedCookieCount,
        ntpServer: String? = nil,
        ntpPort: UInt16? = nil,
        criticalServerAndPort: Bool = true
    ) {
        self.supportedAEAD = supportedAEAD
        self.cookieCount = cookieCount
        self.ntpServer = ntpServer
        self.ntpPort = ntpPort
        self.criticalServerAndPort = criticalServerAndPort
    }

    /// What is wrong with this policy, for checking configuration at start-up; empty when it is usable.
    public var problems: [String] {
        var problems: [String] = []
        if !supportedAEAD.contains(NTSKEAEADAlgorithm.aesSIVCMAC256.rawValue) {
            problems.append("supported AEAD algorithms must include AEAD_AES_SIV_CMAC_256 (15) (RFC 8915 §4.1.5)")
        }
        if cookieCount < 1 {
            problems.append("cookie count must be at least 1 (RFC 8915 §4.1.6), 8 recommended")
        }
        if let ntpServer, !NTSKERecord.isValidServerName(ntpServer) {
            problems.append("NTP server name \"\(ntpServer)\" is not an ASCII host name or address without zone identifier (RFC 8915 §4.1.7)")
        }
        return problems
    }
}

/// The server's decision on a valid request.
public enum NTSKEAgreement: Hashable, Sendable {
    /// NTPv4 with this AEAD algorithm: keys are exported for it and cookies made.
    case ntpv4(aead: UInt16)
    /// The client offers NTPv4 but none of its AEAD algorithms is supported here.
    case noCommonAEAD
    /// The client does not offer NTPv4.
    case noCommonProtocol

    /// The chosen AEAD algorithm, if any.
    public var aead: UInt16? {
        if case .ntpv4(let aead) = self { return aead }
        return nil
    }
}

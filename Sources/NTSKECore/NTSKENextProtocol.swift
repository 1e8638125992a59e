/// Protocol IDs of the IANA "Network Time Security Next Protocols" registry (§7.5).
public enum NTSKENextProtocol {
    /// NTPv4, the only protocol RFC 8915 defines.
    public static let ntpv4: UInt16 = 0
}

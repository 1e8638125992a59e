/// Inputs to the TLS 1.3 keying-material exporter (RFC 8446 §7.5, RFC 5705) that turn an NTS-KE
/// session into the NTPv4 AEAD keys (RFC 8915 §4.3, §5.1). The TLS code calls the exporter
/// (OpenSSL: `SSL_export_keying_material` with a context) with these values.
public enum NTSKEExporter {
    /// The disambiguating label (§4.3, §5.1).
    public static let label = "EXPORTER-network-time-security"

    /// ``label`` as octets, for C APIs that take a buffer and length.
    public static var labelBytes: [UInt8] { Array(label.utf8) }

    /// The per-association context value (§5.1): five octets, the Protocol ID (big-endian; 0 for
    /// NTPv4), the negotiated AEAD algorithm's identifier (big-endian), then 0x00 for the
    /// client-to-server key or 0x01 for the server-to-client key.
    ///
    /// §4.3 requires every Next Protocol's context to begin with its two-octet Protocol ID; the rest
    /// is the NTPv4 layout of §5.1, which must not be extended for other purposes.
    public static func context(protocol protocolID: UInt16, aead: UInt16, serverToClient: Bool) -> [UInt8] {
        [
            UInt8(truncatingIfNeeded: protocolID >> 8), UInt8(truncatingIfNeeded: protocolID),
            UInt8(truncatingIfNeeded: aead >> 8), UInt8(truncatingIfNeeded: aead),
            serverToClient ? 0x01 : 0x00,
        ]
    }

    /// The client-to-server key's context for NTPv4 and `aead`.
    public static func clientToServerContext(aead: UInt16) -> [UInt8] {
        context(protocol: NTSKENextProtocol.ntpv4, aead: aead, serverToClient: false)
    }

    /// The server-to-client key's context for NTPv4 and `aead`.
    public static func serverToClientContext(aead: UInt16) -> [UInt8] {
        context(protocol: NTSKENextProtocol.ntpv4, aead: aead, serverToClient: true)
    }

    /// How many octets to export for each key of `aead`, or nil for an algorithm not listed in
    /// ``NTSKEAEADAlgorithm``.
    public static func keyLength(aead: UInt16) -> Int? {
        NTSKEAEADAlgorithm(rawValue: aead)?.keyLength
    }
}

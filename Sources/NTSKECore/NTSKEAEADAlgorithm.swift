/// AEAD identifiers from the IANA "AEAD Algorithms" registry that NTS deployments use (§4.1.5, §5.1).
public enum NTSKEAEADAlgorithm: UInt16, Sendable, CaseIterable, CustomStringConvertible {
    /// AEAD_AES_SIV_CMAC_256 (RFC 5297). Servers MUST support it (§4.1.5).
    case aesSIVCMAC256 = 15
    /// AEAD_AES_SIV_CMAC_384 (RFC 5297).
    case aesSIVCMAC384 = 16
    /// AEAD_AES_SIV_CMAC_512 (RFC 5297).
    case aesSIVCMAC512 = 17
    /// AEAD_AES_128_GCM_SIV (RFC 8452).
    case aes128GCMSIV = 30
    /// AEAD_AES_256_GCM_SIV (RFC 8452).
    case aes256GCMSIV = 31

    /// Key length in octets, i.e. how many octets to ask the TLS exporter for per direction (§5.1).
    public var keyLength: Int {
        switch self {
        case .aesSIVCMAC256: 32
        case .aesSIVCMAC384: 48
        case .aesSIVCMAC512: 64
        case .aes128GCMSIV: 16
        case .aes256GCMSIV: 32
        }
    }

    public var description: String {
        switch self {
        case .aesSIVCMAC256: "AEAD_AES_SIV_CMAC_256"
        case .aesSIVCMAC384: "AEAD_AES_SIV_CMAC_384"
        case .aesSIVCMAC512: "AEAD_AES_SIV_CMAC_512"
        case .aes128GCMSIV: "AEAD_AES_128_GCM_SIV"
        case .aes256GCMSIV: "AEAD_AES_256_GCM_SIV"
        }
    }
}

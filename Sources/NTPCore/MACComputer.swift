/// Computes the MACs of symmetric NTP keys. NTPCore has no cryptography of its own: the node passes
/// FleetCrypto's `OpenSSLMACComputer`, tests may pass a stand-in.
public protocol MACComputer: Sendable {
    /// The full MAC of `message` under `key` (RFC 5905: digest(key || message); RFC 8573:
    /// AES-CMAC(key, message)), NOT yet truncated: `key.type.fullMACLength` bytes.
    func mac(_ key: SymmetricKey, _ message: UnsafeRawBufferPointer) -> [UInt8]
}

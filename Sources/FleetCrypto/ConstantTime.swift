import CFleetCrypto

/// Comparisons whose time does not depend on where the inputs differ (CRYPTO_memcmp), for MACs, tags
/// and cookies received from the network.
public enum ConstantTime {
    /// True when `a` and `b` hold the same bytes. Different lengths give false at once: lengths are
    /// public (they are on the wire), only the contents are secret.
    public static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return a.withUnsafeBytes { x in b.withUnsafeBytes { y in equal(x, y) } }
    }

    /// The same for raw buffers (e.g. a MAC still inside a received packet).
    public static func equal(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        guard a.count > 0, let x = a.baseAddress, let y = b.baseAddress else { return true }
        return cfc_equal(x, y, a.count) == 1
    }
}

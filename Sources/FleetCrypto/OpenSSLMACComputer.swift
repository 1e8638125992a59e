import CFleetCrypto
import NTPCore

/// The MACs of symmetric NTP keys: digest(key || message) for MD5 and the SHA types through OpenSSL's
/// libcrypto (RFC 5905 §7.5 and Appendix A.2; the same bytes chrony and ntpd compute), and AES-CMAC
/// (RFC 4493 / RFC 8573) for AES128 and AES256 through `AESCMAC` (Nettle). Stateless, so it can be shared by
/// every receive loop.
public struct OpenSSLMACComputer: MACComputer {
    public init() {}

    /// The full, untruncated MAC (`key.type.fullMACLength` bytes). Traps only when OpenSSL lacks the
    /// digest or fails inside (a broken installation; `isSupported` checks ahead, e.g. when loading
    /// configuration).
    public func mac(_ key: SymmetricKey, _ message: UnsafeRawBufferPointer) -> [UInt8] {
        if key.type.isCMAC {
            let cmac: AESCMAC
            do {
                cmac = try AESCMAC(key: key.secret)
            } catch {
                // SymmetricKey guarantees 16 or 32 bytes for the AES types.
                fatalError("AES-CMAC key refused for \(key): \(error)")
            }
            return cmac.mac(message)
        }
        guard let digest = Self.digest(key, message) else {
            fatalError("OpenSSL cannot compute \(key.type.rawValue) (\(key))")
        }
        return digest
    }

    /// Whether `type` can be computed: the linked OpenSSL's digests (MD5 may be missing from a FIPS-only
    /// provider set); AES-CMAC (Nettle) always can.
    public static func isSupported(_ type: SymmetricKeyType) -> Bool {
        if type.isCMAC {
            return (try? AESCMAC(key: [UInt8](repeating: 0, count: type.requiredKeyLength ?? 16))) != nil
        }
        guard let key = try? SymmetricKey(id: 1, type: type, secret: [0]) else { return false }
        return digest(key, UnsafeRawBufferPointer(start: nil, count: 0)) != nil
    }

    /// digest(key || message) under the key's type, nil when OpenSSL cannot. The concatenation is made in
    /// a temporary buffer (on the stack for packet-sized inputs) that is wiped afterwards, as it holds the key.
    private static func digest(_ key: SymmetricKey, _ message: UnsafeRawBufferPointer) -> [UInt8]? {
        let keyLength = key.secret.count
        let total = keyLength + message.count
        var length: Int32 = -1
        let out = [UInt8](unsafeUninitializedCapacity: 64) { out, initialized in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: total) { buffer in
                let base = buffer.baseAddress!
                key.secret.withUnsafeBufferPointer { secret in
                    base.initialize(from: secret.baseAddress!, count: keyLength)
                }
                if let start = message.baseAddress, message.count > 0 {
                    UnsafeMutableRawPointer(base + keyLength).copyMemory(from: start, byteCount: message.count)
                }
                // The digest types' names are OpenSSL's (EVP_get_digestbyname).
                length = cfc_digest(key.type.rawValue, base, total, out.baseAddress, 64)
                // Wipe the copy of the key (best effort: the buffer is released right after).
                buffer.update(repeating: 0)
            }
            initialized = length == Int32(key.type.fullMACLength) ? Int(length) : 0
        }
        return length == Int32(key.type.fullMACLength) ? out : nil
    }
}

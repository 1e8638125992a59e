/// A cookie master key: an id, 32 random bytes under which cookies are sealed with
/// AEAD_AES_SIV_CMAC_256, and its creation time (Unix seconds).
///
/// `description` never shows the key bytes, so a value can be logged safely.
public struct CookieKey: Hashable, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// Master keys are AEAD_AES_SIV_CMAC_256 keys.
    public static let keyLength = 32
    /// The AEAD cookies are sealed with.
    public static let algorithm = AEADAlgorithm.aesSIVCMAC256

    /// Travels in clear at the start of every cookie so the server knows which key opens it.
    public var id: UInt32
    public var key: [UInt8]
    /// Unix seconds.
    public var createdAt: Int64

    public init(id: UInt32, key: [UInt8], createdAt: Int64) {
        self.id = id
        self.key = key
        self.createdAt = createdAt
    }

    /// A fresh key of `keyLength` bytes drawn from `random` (the node passes `SystemRandomNumberGenerator`).
    public static func generate(id: UInt32, createdAt: Int64, using random: inout some RandomNumberGenerator) -> CookieKey {
        CookieKey(id: id, key: NTSWire.randomBytes(keyLength, using: &random), createdAt: createdAt)
    }

    public var description: String { "CookieKey(id: \(id), createdAt: \(createdAt))" }

    public var debugDescription: String { description }
}

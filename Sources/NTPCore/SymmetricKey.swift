/// A symmetric NTP key (RFC 5905 §7.5, RFC 8573): a 32-bit key ID, the MAC algorithm and the secret.
///
/// `description`, `debugDescription` and the reflection mirror never show the secret, so a key can be
/// logged (and appears safely in test failure messages and `dump`).
public struct SymmetricKey: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// The longest secret accepted: the longest whose `ID TYPE HEX:...` line (ID up to 10 digits, type up
    /// to 6 characters) stays within chrony's limit of 2047 characters per key file line, so every key can
    /// be written to a file chrony reads.
    public static let maximumSecretLength = 1012
    /// chrony warns about keys shorter than 80 bits ("Key N is too short"); `chronyc keygen` never makes one.
    public static let minimumRecommendedLength = 10

    public let id: UInt32
    public let type: SymmetricKeyType
    public let secret: [UInt8]

    /// Checks that `id` is not 0 (RFC 5905 reserves key 0; on the wire it marks a crypto-NAK) and that the
    /// secret suits the type: exactly 16 or 32 bytes for AES128/AES256, 1...`maximumSecretLength` bytes
    /// for the digests. Errors carry no line and never the secret.
    public init(id: UInt32, type: SymmetricKeyType, secret: [UInt8]) throws(SymmetricKeyFileError) {
        guard id != 0 else {
            throw SymmetricKeyFileError(message: "key ID 0 is reserved (IDs are 1-4294967295)")
        }
        if let required = type.requiredKeyLength {
            guard secret.count == required else {
                throw SymmetricKeyFileError(
                    message: "key \(id): \(type.rawValue) needs a key of \(required * 8) bits, found \(secret.count * 8) bits")
            }
        } else {
            guard !secret.isEmpty else {
                throw SymmetricKeyFileError(message: "key \(id): the key is empty")
            }
            guard secret.count <= Self.maximumSecretLength else {
                throw SymmetricKeyFileError(
                    message: "key \(id): the key is longer than \(Self.maximumSecretLength) bytes (\(secret.count) bytes)")
            }
        }
        self.id = id
        self.type = type
        self.secret = secret
    }

    /// Shorter than the 80 bits chrony considers the minimum for a secure key.
    public var isShorterThanRecommended: Bool { secret.count < Self.minimumRecommendedLength }

    /// `key 5 (AES128, 128 bits)`: never the material.
    public var description: String { "key \(id) (\(type.rawValue), \(secret.count * 8) bits)" }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        Mirror(self, children: ["id": id, "type": type, "bits": secret.count * 8], displayStyle: .struct)
    }
}

import CFleetCrypto

/// AES-CMAC (RFC 4493 with an AES-128 key; NIST SP 800-38B with AES-192/256 keys): the 16-byte MAC of
/// RFC 8573 NTP symmetric keys ("AES128" in chrony and ntpd key files; chrony's "AES256" type is the
/// same construction with AES-256). Computed by GNU Nettle's cmac128 (through CFleetCrypto), as chrony does.
///
/// Immutable and safe to share between threads: the keyed Nettle context is only read, each call keeps its
/// running CMAC state on its own stack.
public struct AESCMAC: Sendable {
    /// The tag length in bytes.
    public static let tagLength = 16

    private let key: CMACKey

    /// A MAC key of 16 (AES-128), 24 (AES-192) or 32 (AES-256) bytes.
    public init(key: [UInt8]) throws(CryptoError) {
        guard [16, 24, 32].contains(key.count) else { throw .invalidKeyLength(key.count) }
        var error = [CChar](repeating: 0, count: 256)
        let made = key.withUnsafeBufferPointer { cfc_cmac_new($0.baseAddress, $0.count, &error, error.count) }
        guard let made else { throw .keyRefused(errorText(error)) }
        self.key = CMACKey(made)
    }

    /// The 16-byte tag of `message`.
    public func mac(_ message: [UInt8]) -> [UInt8] {
        message.withUnsafeBytes { mac($0) }
    }

    /// The 16-byte tag of the bytes in `message` (e.g. the start of a received packet, without a copy).
    public func mac(_ message: UnsafeRawBufferPointer) -> [UInt8] {
        withExtendedLifetime(key) {
            [UInt8](unsafeUninitializedCapacity: Self.tagLength) { tag, initialized in
                // Fails only for a missing buffer, which cannot happen here.
                let result = cfc_cmac_compute(key.pointer, message.baseAddress, message.count, tag.baseAddress)
                precondition(result == 1, "AES-CMAC refused its arguments")
                initialized = Self.tagLength
            }
        }
    }
}

/// Owns a cfc_cmac. The C object is immutable after creation and its functions only read it, so sharing it
/// across threads is safe (hence @unchecked).
final class CMACKey: @unchecked Sendable {
    let pointer: OpaquePointer
    init(_ pointer: OpaquePointer) { self.pointer = pointer }
    deinit { cfc_cmac_free(pointer) }
}

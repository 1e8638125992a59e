/// The legacy symmetric-key message authentication code that may end an NTP
/// packet (RFC 5905 §7.5 and Appendix A.2; RFC 8573): a 32-bit key identifier
/// followed by the digest of everything before it.
///
/// A crypto-NAK is the degenerate MAC with key ID 0 and no digest (4 zero bytes
/// on the wire), sent to say "I could not authenticate your request".
/// Verifying digests is not this type's job.
public struct MAC: Hashable, Sendable {
    /// Key identifier size on the wire.
    public static let keyIDLength = 4
    /// Digest sizes accepted in NTPv4 packets (MD5/AES-CMAC = 16, SHA-1 = 20), as in
    /// chrony; longer trailers are taken to be extension fields.
    public static let v4DigestLengths: ClosedRange<Int> = 16...20
    /// Digest sizes accepted in NTPv1-3 packets, which have no extension fields.
    public static let legacyDigestLengths: ClosedRange<Int> = 16...64

    public var keyID: UInt32
    public var digest: [UInt8]

    public init(keyID: UInt32, digest: [UInt8]) {
        self.keyID = keyID
        self.digest = digest
    }

    public static let cryptoNAK = MAC(keyID: 0, digest: [])

    public var isCryptoNAK: Bool { keyID == 0 && digest.isEmpty }

    /// Bytes on the wire: key ID plus digest.
    public var encodedLength: Int { Self.keyIDLength + digest.count }

    /// Appends the key ID (big-endian) and the digest.
    func write(into bytes: inout [UInt8]) {
        BigEndianBytes.append(keyID, to: &bytes)
        bytes.append(contentsOf: digest)
    }

    /// Takes all bytes from `offset` to the end as key ID + digest. The caller has
    /// already checked that at least `keyIDLength` bytes remain.
    init(parsing bytes: UnsafeRawBufferPointer, at offset: Int) {
        keyID = BigEndianBytes.load(UInt32.self, from: bytes, at: offset)
        digest = Array(UnsafeRawBufferPointer(rebasing: bytes[(offset + Self.keyIDLength)...]))
    }
}

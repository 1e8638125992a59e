/// Why an NTS Authenticator and Encrypted Extension Fields body could not be parsed.
public enum NTSError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Fewer than the 4 bytes of the two length fields.
    case authenticatorTooShort(bodyLength: Int)
    /// A nonce length of 0 (chrony rejects it too).
    case emptyNonce
    /// The padded nonce and ciphertext run past the end of the body.
    case authenticatorOverrun(nonceLength: Int, ciphertextLength: Int, bodyLength: Int)
    /// The nonce plus the additional padding is shorter than RFC 8915 §5.6 requires (16 bytes for AES-SIV).
    case missingNoncePadding(nonceLength: Int, bodyLength: Int)

    public var description: String {
        switch self {
        case .authenticatorTooShort(let length):
            return "authenticator body of \(length) bytes has no room for its length fields"
        case .emptyNonce:
            return "authenticator has an empty nonce"
        case .authenticatorOverrun(let nonce, let ciphertext, let body):
            return "authenticator nonce (\(nonce)) and ciphertext (\(ciphertext)) overrun its \(body)-byte body"
        case .missingNoncePadding(let nonce, let body):
            return "authenticator nonce of \(nonce) bytes lacks the additional padding (body \(body) bytes)"
        }
    }
}

/// The body of the NTS Authenticator and Encrypted Extension Fields extension field (RFC 8915 §5.6):
///
///     nonce length (2, BE) | ciphertext length (2, BE)
///     nonce, zero-padded to a multiple of 4
///     ciphertext, zero-padded to a multiple of 4
///     additional padding
///
/// The ciphertext is the AEAD output (for AES-SIV the 16-byte synthetic IV, then the encrypted extension
/// fields, if any). The additional padding makes room so that the nonce field plus the padding is at least
/// `minimumNonceSpace` (16) bytes even when the sender's nonce is shorter: the receiver can then always
/// answer with a full-length nonce without its response outgrowing the request.
///
/// Parsing never traps; padding bytes are not checked (they are outside both the associated data and
/// the ciphertext, so their value could not be trusted anyway).
public struct NTSAuthenticator: Hashable, Sendable {
    /// min(16, N_MAX) for the AES-SIV algorithms NTS uses (their N_MAX is unbounded): the nonce plus
    /// additional padding must be at least this long (RFC 8915 §5.6; chrony's NTS_MIN_UNPADDED_NONCE_LENGTH).
    public static let minimumNonceSpace = 16
    /// The nonce length we send (chrony sends and expects 16 for AES-SIV).
    public static let nonceLength = 16

    public var nonce: [UInt8]
    public var ciphertext: [UInt8]

    public init(nonce: [UInt8], ciphertext: [UInt8]) {
        self.nonce = nonce
        self.ciphertext = ciphertext
    }

    /// Parses an extension field body. `minimumNonceSpace` is min(16, N_MAX) of the AEAD (16 for AES-SIV).
    public init(parsing body: [UInt8], minimumNonceSpace: Int = NTSAuthenticator.minimumNonceSpace) throws(NTSError) {
        let (nonce, ciphertext) = try body.withUnsafeBytes { raw in
            Result { () throws(NTSError) in try Self.layout(of: raw, minimumNonceSpace: minimumNonceSpace) }
        }.get()
        self.nonce = Array(body[nonce])
        self.ciphertext = Array(body[ciphertext])
    }

    /// Where the nonce and the ciphertext lie in a body (the parsing rules of `init(parsing:)`, which uses
    /// it; the server reads them in place).
    static func layout(
        of body: UnsafeRawBufferPointer, minimumNonceSpace: Int = NTSAuthenticator.minimumNonceSpace
    ) throws(NTSError) -> (nonce: Range<Int>, ciphertext: Range<Int>) {
        guard body.count >= 4 else { throw .authenticatorTooShort(bodyLength: body.count) }
        let nonceLength = Int(body[0]) << 8 | Int(body[1])
        let ciphertextLength = Int(body[2]) << 8 | Int(body[3])
        guard nonceLength > 0 else { throw .emptyNonce }
        let nonceSpace = NTSWire.padded(nonceLength)
        let ciphertextSpace = NTSWire.padded(ciphertextLength)
        guard 4 + nonceSpace + ciphertextSpace <= body.count else {
            throw .authenticatorOverrun(nonceLength: nonceLength, ciphertextLength: ciphertextLength, bodyLength: body.count)
        }
        guard 4 + max(nonceSpace, minimumNonceSpace) + ciphertextSpace <= body.count else {
            throw .missingNoncePadding(nonceLength: nonceLength, bodyLength: body.count)
        }
        let start = 4 + nonceSpace
        return (4..<(4 + nonceLength), start..<(start + ciphertextLength))
    }

    /// Encodes the body: lengths, padded nonce, padded ciphertext, then zero padding so that the nonce
    /// field plus padding is at least `minimumNonceSpace` and the body at least `minimumLength` (rounded
    /// up to a multiple of 4). The result is always a multiple of 4.
    public func body(minimumLength: Int = 0) -> [UInt8] {
        let nonceSpace = NTSWire.padded(nonce.count)
        let ciphertextSpace = NTSWire.padded(ciphertext.count)
        let natural = 4 + max(nonceSpace, Self.minimumNonceSpace) + ciphertextSpace
        let length = max(natural, NTSWire.padded(max(0, minimumLength)))
        var bytes: [UInt8] = []
        bytes.reserveCapacity(length)
        BigEndianBytes.append(UInt16(truncatingIfNeeded: nonce.count), to: &bytes)
        BigEndianBytes.append(UInt16(truncatingIfNeeded: ciphertext.count), to: &bytes)
        bytes.append(contentsOf: nonce)
        bytes.append(contentsOf: repeatElement(0, count: nonceSpace - nonce.count))
        bytes.append(contentsOf: ciphertext)
        bytes.append(contentsOf: repeatElement(0, count: length - bytes.count))
        return bytes
    }

    /// The length `body(minimumLength: 0)` produces for these nonce and ciphertext lengths.
    public static func bodyLength(nonceLength: Int, ciphertextLength: Int) -> Int {
        4 + max(NTSWire.padded(nonceLength), minimumNonceSpace) + NTSWire.padded(ciphertextLength)
    }
}

/// Byte-level helpers of the NTS code.
enum NTSWire {
    /// `length` rounded up to a multiple of 4.
    @inline(__always)
    static func padded(_ length: Int) -> Int { (length &+ 3) & ~3 }

    /// `count` bytes from `random`, eight at a time.
    static func randomBytes(_ count: Int, using random: inout some RandomNumberGenerator) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            writeRandom(into: UnsafeMutableRawBufferPointer(buffer), using: &random)
            initialized = count
        }
    }

    /// Fills `buffer` from `random`, eight bytes at a time (nonces written in place).
    static func writeRandom(into buffer: UnsafeMutableRawBufferPointer, using random: inout some RandomNumberGenerator) {
        var offset = 0
        // Whole words stored directly (the slices and closures of a general copy cost more than the draw here).
        while buffer.count - offset >= 8 {
            buffer.storeBytes(of: random.next(), toByteOffset: offset, as: UInt64.self)
            offset += 8
        }
        if offset < buffer.count {
            var word = random.next()
            withUnsafeBytes(of: &word) {
                UnsafeMutableRawBufferPointer(rebasing: buffer[offset...])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[0..<(buffer.count - offset)]))
            }
        }
    }

    /// Writes an extension field header (type, length) at `offset`.
    static func writeFieldHeader(type: UInt16, length: Int, into buffer: UnsafeMutableRawBufferPointer, at offset: Int) {
        buffer.storeBytes(of: type.bigEndian, toByteOffset: offset, as: UInt16.self)
        buffer.storeBytes(of: UInt16(truncatingIfNeeded: length).bigEndian, toByteOffset: offset + 2, as: UInt16.self)
    }

    /// Appends an extension field with the RFC 7822 minimum of 16 bytes (for the clear part of a packet).
    static func appendField(type: UInt16, body: [UInt8], to bytes: inout [UInt8]) {
        ExtensionField(type: type, body: body).write(into: &bytes)
    }

    /// The length `appendField` writes for a body of `bodyLength` bytes.
    static func fieldLength(bodyLength: Int) -> Int {
        max(ExtensionField.minimumLength, ExtensionField.headerLength + padded(bodyLength))
    }

    /// The length of an encrypted extension field with a body of `bodyLength` bytes: no 16-byte minimum, as
    /// encrypted fields may be arbitrarily short (RFC 8915 §5.6), still a multiple of 4.
    static func encryptedFieldLength(bodyLength: Int) -> Int { 4 + padded(bodyLength) }

    /// Splits decrypted plaintext into extension fields: each a type, a length >= 4 that is a multiple of 4
    /// and within the plaintext, and a body. Nil when the plaintext is not a sequence of such fields.
    static func parseEncryptedFields(_ plaintext: [UInt8]) -> [ExtensionField]? {
        var fields: [ExtensionField] = []
        let wellFormed = plaintext.withUnsafeBytes { raw in
            forEachEncryptedField(in: raw) { type, body in fields.append(ExtensionField(type: type, body: Array(raw[body]))) }
        }
        return wellFormed ? fields : nil
    }

    /// How many encrypted fields of `type` decrypted plaintext holds, or nil when it is not a sequence of
    /// fields (the rules of `parseEncryptedFields`, without copying anything: the server's path).
    static func countEncryptedFields(of type: UInt16, in plaintext: UnsafeRawBufferPointer) -> Int? {
        var count = 0
        let wellFormed = forEachEncryptedField(in: plaintext) { fieldType, _ in if fieldType == type { count += 1 } }
        return wellFormed ? count : nil
    }

    /// Walks the encrypted fields of decrypted plaintext, passing each type and body range; false when the
    /// plaintext is not a sequence of fields (a length below 4, not a multiple of 4, or past the end).
    private static func forEachEncryptedField(
        in plaintext: UnsafeRawBufferPointer, _ body: (UInt16, Range<Int>) -> Void
    ) -> Bool {
        var offset = 0
        while offset < plaintext.count {
            guard plaintext.count - offset >= 4 else { return false }
            let type = UInt16(plaintext[offset]) << 8 | UInt16(plaintext[offset + 1])
            let length = Int(plaintext[offset + 2]) << 8 | Int(plaintext[offset + 3])
            guard length >= 4, length % 4 == 0, length <= plaintext.count - offset else { return false }
            body(type, (offset + 4)..<(offset + length))
            offset += length
        }
        return true
    }

    /// A stable copy of `bytes[range]` of a raw buffer.
    static func copy(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> [UInt8] {
        Array(UnsafeRawBufferPointer(rebasing: bytes[range]))
    }
}

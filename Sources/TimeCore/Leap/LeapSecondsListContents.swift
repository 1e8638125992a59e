/// What a leap-seconds.list file holds, before its hash is checked: the table, the bytes its hash covers and
/// the hash it declares. `LeapSecondsListParser.parse(_:sha1:)` checks the hash; this is for a caller that
/// wants to check it itself (or to show why it failed).
public struct LeapSecondsListContents: Hashable, Sendable {
    public var table: LeapSecondTable
    /// The ASCII digits the `#h` hash covers, in file order: the `#$` (last update) value, the `#@` (expiry)
    /// value, then both numbers of every data line; no whitespace, no comments. For the IERS file of
    /// 2025 this begins "39608352003991593600227206080010".
    public var hashInput: [UInt8]
    /// The 20-byte SHA-1 of the `#h` line (five big-endian 32-bit words), or nil if the file has none.
    public var declaredHash: [UInt8]?

    public init(table: LeapSecondTable, hashInput: [UInt8], declaredHash: [UInt8]?) {
        self.table = table
        self.hashInput = hashInput
        self.declaredHash = declaredHash
    }

    /// Checks the declared hash against `sha1(hashInput)`.
    ///
    /// The hash is SHA-1 because that is what the file carries (its header points to the IERS README for the
    /// details; ntpd checks it the same way, hashing the digits in file order). It detects damage and careless
    /// edits, not forgery: anyone can recompute it, so the file's authenticity rests on how it was obtained.
    public func verify(sha1: ([UInt8]) -> [UInt8]) throws(LeapSecondsListError) {
        guard let declaredHash else { throw .missingHash }
        let computed = sha1(hashInput)
        guard computed == declaredHash else { throw .hashMismatch(declared: declaredHash, computed: computed) }
    }
}

/// Why a TZif file gave no leap-second table.
public enum TZifLeapError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The file ends inside `part` (which needed `needed` bytes from offset `offset`; the file has `size`).
    case truncated(part: String, offset: Int, needed: Int, size: Int)
    /// A header does not start with "TZif" (`header` is 1 or 2).
    case badMagic(header: Int)
    /// The version byte is not NUL or an ASCII digit from 2 on.
    case unsupportedVersion(UInt8)
    /// The second header's version differs from the first's.
    case versionMismatch(first: UInt8, second: UInt8)
    /// A header's counts are inconsistent (RFC 8536 §3.1: typecnt ≥ 1, isstdcnt and isutcnt 0 or typecnt).
    case badCounts(header: Int, reason: String)
    /// Leap-second record `index` (0-based, in the block read) breaks tzfile(5)'s rules.
    case badLeapRecord(index: Int, reason: String)
    /// A version 2+ file lacks its newline-enclosed footer.
    case missingFooter
    /// The file has no leap-second records: not a "right/" zone (use right/UTC, not UTC).
    case noLeapSeconds

    public var description: String {
        switch self {
        case .truncated(let part, let offset, let needed, let size):
            "TZif file truncated: \(part) needs \(needed) bytes at offset \(offset), the file has \(size)"
        case .badMagic(let header): "TZif header \(header) does not start with \"TZif\""
        case .unsupportedVersion(let byte): "TZif version byte 0x\(String(byte, radix: 16)) is not supported"
        case .versionMismatch(let first, let second):
            "TZif headers disagree on the version (0x\(String(first, radix: 16)), 0x\(String(second, radix: 16)))"
        case .badCounts(let header, let reason): "TZif header \(header): \(reason)"
        case .badLeapRecord(let index, let reason): "TZif leap-second record \(index): \(reason)"
        case .missingFooter: "TZif file lacks its footer (a newline-enclosed TZ string)"
        case .noLeapSeconds: "TZif file has no leap-second records (a right/ zone such as right/UTC is needed)"
        }
    }
}

/// The 32-bit reference identifier header field (RFC 5905 §7.3).
///
/// Its meaning depends on the stratum: at stratum 1 it is a left-aligned,
/// zero-padded ASCII name of the reference clock ("GPS", "PPS"...); at stratum 0
/// (kiss-o'-death, RFC 5905 §7.4) it is an ASCII kiss code; above stratum 1 it is
/// the upstream server's IPv4 address or the first four bytes of the MD5 digest of
/// its IPv6 address. This type only holds the value; interpreting it is up to the
/// caller, who knows the stratum.
public struct ReferenceID: Hashable, Sendable, CustomStringConvertible {
    /// The four bytes in wire order, first character in the most significant byte.
    public var rawValue: UInt32

    /// Kiss code: rate exceeded, reduce polling (RFC 5905 §7.4).
    public static let rate = ReferenceID(ascii: "RATE")
    /// Kiss code: access denied by remote server (RFC 5905 §7.4).
    public static let deny = ReferenceID(ascii: "DENY")
    /// Kiss code: access denied due to local policy (RFC 5905 §7.4).
    public static let rstr = ReferenceID(ascii: "RSTR")
    /// Kiss code: NTS authentication failed, NTS negative acknowledgement (RFC 8915 §5.7).
    public static let ntsNak = ReferenceID(ascii: "NTSN")
    /// Reference clock name for an undisciplined local clock.
    public static let locl = ReferenceID(ascii: "LOCL")

    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    /// Up to four characters, left-aligned and zero-padded (RFC 5905 §7.3).
    /// Characters beyond the fourth are dropped; each non-ASCII Unicode scalar
    /// becomes `?`.
    public init(ascii: String) {
        var value: UInt32 = 0
        var count = 0
        for scalar in ascii.unicodeScalars.prefix(4) {
            let byte = scalar.isASCII ? UInt8(truncatingIfNeeded: scalar.value) : UInt8(ascii: "?")
            value |= UInt32(byte) << (24 - 8 * count)
            count += 1
        }
        rawValue = value
    }

    /// The four bytes in wire order.
    public var bytes: [UInt8] {
        [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: rawValue >> $0) }
    }

    /// The identifier as text if it looks like one: trailing NULs are stripped and
    /// every remaining byte must be printable ASCII (0x20-0x7E); otherwise `nil`
    /// (for example an IPv4 address or hash). All-zero gives `""`.
    public var asciiString: String? {
        var text = bytes[...]
        while text.last == 0 { text.removeLast() }
        guard text.allSatisfy({ (0x20...0x7E).contains($0) }) else { return nil }
        return String(decoding: text, as: UTF8.self)
    }

    /// The ASCII text when `asciiString` is non-empty, otherwise dotted-quad
    /// notation (as ntpq shows IPv4 addresses and hashes).
    public var description: String {
        if let text = asciiString, !text.isEmpty {
            return text
        }
        return bytes.map { String($0) }.joined(separator: ".")
    }
}

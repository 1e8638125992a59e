// IP addresses as plain integers for the packet path: access control and rate
// limiting compare and hash millions of them, so they must not be strings or
// byte arrays. Text parsing and printing follow the RFCs operators expect:
// RFC 4291 §2.2 (IPv6 text input) and RFC 5952 (canonical IPv6 output).

/// An IPv4 or IPv6 address as plain integers (host byte order), cheap to hash and compare on the packet path.
///
/// `127.0.0.1 == .v4(0x7F00_0001)`, `::1 == .v6(high: 0, low: 1)`.
///
/// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) stay `.v6` as parsed, so that
/// text round-trips exactly; use ``unmapped`` to fold them into `.v4` before
/// matching rules or keying per-client state.
///
/// `Comparable` orders all IPv4 addresses before all IPv6 addresses, each
/// family numerically; it exists for stable, readable listings.
public enum IPAddress: Hashable, Sendable, Comparable, CustomStringConvertible {
    case v4(UInt32)
    case v6(high: UInt64, low: UInt64)

    /// Parses a dotted quad (`192.0.2.1`) or an RFC 4291 IPv6 text form
    /// (`2001:db8::1`, `::`, `::ffff:192.0.2.1`). Zone indices (`fe80::1%eth0`)
    /// are not accepted. Returns `nil` on malformed input; use
    /// ``init(parsing:)`` to learn why.
    public init?(_ string: String) {
        do {
            self = try IPAddress(parsing: string)
        } catch {
            return nil
        }
    }

    /// Parses like ``init(_:)`` but says what is wrong, for configuration
    /// errors an operator has to fix. Never traps.
    public init(parsing text: String) throws(AddressParseError) {
        do {
            self = try TextForm.parseAddress(Array(text.utf8)[...])
        } catch {
            throw AddressParseError(input: text, reason: error.reason)
        }
    }

    /// Canonical text: dotted quad for IPv4; RFC 5952 for IPv6 (lower-case hex,
    /// no leading zeros, the longest run of two or more zero groups — the first
    /// one on a tie — compressed to `::`, and `::ffff:a.b.c.d` for IPv4-mapped
    /// addresses as RFC 5952 §5 recommends).
    public var description: String {
        switch self {
        case .v4(let value):
            return TextForm.dottedQuad(value)
        case .v6(let high, let low):
            if high == 0, low >> 32 == 0xFFFF {
                return "::ffff:" + TextForm.dottedQuad(UInt32(truncatingIfNeeded: low))
            }
            return TextForm.ipv6Text(high: high, low: low)
        }
    }

    /// IPv4-mapped IPv6 (::ffff:a.b.c.d) becomes .v4, so a dual-stack socket's clients match IPv4 rules and share IPv4 rate-limit records.
    ///
    /// Every other address is returned unchanged. (The deprecated
    /// "IPv4-compatible" form `::a.b.c.d` of RFC 4291 §2.5.5.1 is not folded:
    /// no socket API produces it for IPv4 peers.)
    public var unmapped: IPAddress {
        if case .v6(0, let low) = self, low >> 32 == 0xFFFF {
            return .v4(UInt32(truncatingIfNeeded: low))
        }
        return self
    }

    /// The IPv4-mapped IPv6 form of an IPv4 address (`::ffff:a.b.c.d`); IPv6
    /// addresses are returned unchanged. The inverse of ``unmapped``.
    public var mapped: IPAddress {
        if case .v4(let value) = self {
            return .v6(high: 0, low: 0xFFFF_0000_0000 | UInt64(value))
        }
        return self
    }

    /// Address width in bits: 32 for IPv4, 128 for IPv6.
    public var bitWidth: Int {
        if case .v4 = self { return 32 }
        return 128
    }

    public static func < (lhs: IPAddress, rhs: IPAddress) -> Bool {
        switch (lhs, rhs) {
        case let (.v4(a), .v4(b)):
            return a < b
        case (.v4, .v6):
            return true
        case (.v6, .v4):
            return false
        case let (.v6(ah, al), .v6(bh, bl)):
            return (ah, al) < (bh, bl)
        }
    }
}

/// Why an address or subnet from configuration could not be parsed.
///
/// `input` is the text as given, `reason` a sentence fragment naming the
/// problem, e.g. `octet "256" is greater than 255`.
public struct AddressParseError: Error, Hashable, Sendable, CustomStringConvertible {
    public var input: String
    public var reason: String
    /// "address" or "subnet": what the input was meant to be, for the message.
    var subject: String

    public init(input: String, reason: String) {
        self.init(input: input, reason: reason, subject: "address")
    }

    init(input: String, reason: String, subject: String) {
        self.input = input
        self.reason = reason
        self.subject = subject
    }

    /// `invalid address "1.2.3.256": octet "256" is greater than 255`, or
    /// `invalid subnet "10.1.2.3/8": host bits are set; did you mean 10.0.0.0/8?`.
    /// Very long input is shortened so a garbage config line cannot flood a log.
    public var description: String {
        let shown = input.count > 80 ? String(input.prefix(80)) + "…" : input
        return "invalid \(subject) \"\(shown)\": \(reason)"
    }
}

// MARK: - Text conversion (internal)

extension IPAddress {
    /// Internal failure carrying only the reason; public entry points attach the
    /// whole input text so the operator sees what they wrote.
    struct TextFailure: Error {
        var reason: String
        init(_ reason: String) { self.reason = reason }
    }

    /// Parsing and printing helpers, on UTF-8 bytes (no Foundation).
    enum TextForm {
        static let dot = UInt8(ascii: ".")
        static let colon = UInt8(ascii: ":")

        /// Parses a whole address: screens characters that can never be valid,
        /// then dispatches on family.
        static func parseAddress(_ bytes: ArraySlice<UInt8>) throws(TextFailure) -> IPAddress {
            if bytes.isEmpty {
                throw TextFailure("empty address")
            }
            var hasColon = false
            var hasDot = false
            for byte in bytes {
                switch byte {
                case colon: hasColon = true
                case dot: hasDot = true
                case UInt8(ascii: "%"):
                    throw TextFailure("zone index ('%...') is not supported; write the address without it")
                case UInt8(ascii: "/"):
                    throw TextFailure("a prefix length ('/...') is not allowed here; expected a single address")
                case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                    throw TextFailure("contains whitespace")
                case 0x80...:
                    throw TextFailure("contains a non-ASCII character")
                default: break
                }
            }
            if hasColon {
                let (high, low) = try parseIPv6(bytes)
                return .v6(high: high, low: low)
            }
            if hasDot {
                return .v4(try parseIPv4(bytes))
            }
            throw TextFailure(
                "not an IPv4 address (a.b.c.d) or an IPv6 address (hex groups separated by ':')")
        }

        /// Strict dotted quad: exactly four decimal octets 0-255, no leading zeros
        /// (glibc's inet_pton rejects them too; inet_aton would read `010` as
        /// octal 8, so accepting them would be ambiguous).
        static func parseIPv4(_ bytes: ArraySlice<UInt8>) throws(TextFailure) -> UInt32 {
            let parts = bytes.split(separator: dot, omittingEmptySubsequences: false)
            if parts.count != 4 {
                throw TextFailure("expected 4 dot-separated octets, found \(parts.count)")
            }
            var value: UInt32 = 0
            for part in parts {
                if part.isEmpty {
                    throw TextFailure("empty octet (a dot at the start or end, or two dots in a row)")
                }
                var octet = 0
                for byte in part {
                    guard let digit = decimalValue(byte) else {
                        throw TextFailure("unexpected character \(show(byte)) in an IPv4 address")
                    }
                    if octet <= 255 { octet = octet * 10 + digit }
                }
                let text = String(decoding: part, as: UTF8.self)
                if octet > 255 {
                    throw TextFailure("octet \"\(text)\" is greater than 255")
                }
                if part.count > 1, part.first == UInt8(ascii: "0") {
                    throw TextFailure(
                        "octet \"\(text)\" has a leading zero, which some parsers read as octal; write \(octet)")
                }
                value = value << 8 | UInt32(octet)
            }
            return value
        }

        /// RFC 4291 §2.2 text forms: eight groups of 1-4 hex digits, one `::`
        /// standing for one or more zero groups, and an optional dotted quad in
        /// place of the last two groups.
        static func parseIPv6(_ bytes: ArraySlice<UInt8>) throws(TextFailure) -> (UInt64, UInt64) {
            // Locate "::" and reject ":::" and a second "::".
            var doubleColon: Int? = nil
            var index = bytes.startIndex
            while index < bytes.endIndex {
                if bytes[index] == colon, index + 1 < bytes.endIndex, bytes[index + 1] == colon {
                    if index + 2 < bytes.endIndex, bytes[index + 2] == colon {
                        throw TextFailure("':::' is not valid; '::' alone stands for any run of zero groups")
                    }
                    if doubleColon != nil {
                        throw TextFailure("'::' may appear only once")
                    }
                    doubleColon = index
                    index += 2
                } else {
                    index += 1
                }
            }

            let head: ArraySlice<UInt8>
            let tail: ArraySlice<UInt8>
            if let at = doubleColon {
                head = bytes[bytes.startIndex..<at]
                tail = bytes[(at + 2)...]
            } else {
                head = bytes
                tail = bytes[bytes.endIndex...]
            }
            if head.first == colon {
                throw TextFailure("cannot start with a single ':'")
            }
            if (doubleColon == nil ? head : tail).last == colon {
                throw TextFailure("cannot end with a single ':'")
            }

            let headGroups = try parseGroups(head, mayEndWithIPv4: doubleColon == nil)
            let tailGroups = try parseGroups(tail, mayEndWithIPv4: true)
            let explicit = headGroups.count + tailGroups.count

            var groups: [UInt16]
            if doubleColon == nil {
                if explicit != 8 {
                    let hint = explicit < 8 ? " (use '::' for a run of zero groups)" : ""
                    throw TextFailure("expected 8 groups of 16 bits, found \(explicit)\(hint)")
                }
                groups = headGroups
            } else {
                if explicit > 7 {
                    throw TextFailure(
                        "too many groups: \(explicit) groups plus '::' exceed the 8 groups of an IPv6 address")
                }
                groups = headGroups
                groups.append(contentsOf: repeatElement(0, count: 8 - explicit))
                groups.append(contentsOf: tailGroups)
            }

            var high: UInt64 = 0
            var low: UInt64 = 0
            for group in groups[0..<4] { high = high << 16 | UInt64(group) }
            for group in groups[4..<8] { low = low << 16 | UInt64(group) }
            return (high, low)
        }

        /// Parses colon-separated hex groups; a dotted quad as the final piece
        /// contributes two groups.
        private static func parseGroups(
            _ bytes: ArraySlice<UInt8>, mayEndWithIPv4: Bool
        ) throws(TextFailure) -> [UInt16] {
            var groups: [UInt16] = []
            if bytes.isEmpty { return groups }
            let pieces = bytes.split(separator: colon, omittingEmptySubsequences: false)
            for (position, piece) in pieces.enumerated() {
                let text = String(decoding: piece, as: UTF8.self)
                if piece.isEmpty {
                    throw TextFailure("empty group")
                }
                if piece.contains(dot) {
                    guard mayEndWithIPv4, position == pieces.count - 1 else {
                        throw TextFailure(
                            "an embedded IPv4 address (\"\(text)\") may only appear as the last part")
                    }
                    let v4: UInt32
                    do {
                        v4 = try parseIPv4(piece)
                    } catch {
                        throw TextFailure("in the embedded IPv4 part \"\(text)\": \(error.reason)")
                    }
                    groups.append(UInt16(truncatingIfNeeded: v4 >> 16))
                    groups.append(UInt16(truncatingIfNeeded: v4))
                    continue
                }
                var value: UInt32 = 0
                for byte in piece {
                    guard let digit = hexValue(byte) else {
                        throw TextFailure("invalid hex digit \(show(byte)) in group \"\(text)\"")
                    }
                    value = (value << 4 | UInt32(digit)) & 0xFFFFF
                }
                if piece.count > 4 {
                    throw TextFailure("group \"\(text)\" has more than 4 hex digits")
                }
                groups.append(UInt16(truncatingIfNeeded: value))
            }
            return groups
        }

        static func decimalValue(_ byte: UInt8) -> Int? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return Int(byte &- UInt8(ascii: "0"))
            default: return nil
            }
        }

        static func hexValue(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte &- UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte &- UInt8(ascii: "a") &+ 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte &- UInt8(ascii: "A") &+ 10
            default: return nil
            }
        }

        /// A byte as an operator would want to see it in a message.
        static func show(_ byte: UInt8) -> String {
            if byte > 0x20, byte < 0x7F {
                return "'" + String(UnicodeScalar(byte)) + "'"
            }
            let hex = String(byte, radix: 16)
            return "0x" + (hex.count < 2 ? "0" + hex : hex)
        }

        static func dottedQuad(_ value: UInt32) -> String {
            "\(value >> 24).\(value >> 16 & 0xFF).\(value >> 8 & 0xFF).\(value & 0xFF)"
        }

        /// RFC 5952 §4: lower case, leading zeros suppressed, the longest run of
        /// at least two zero groups replaced by `::` (the first if tied).
        static func ipv6Text(high: UInt64, low: UInt64) -> String {
            var groups = [UInt16](repeating: 0, count: 8)
            for i in 0..<4 {
                groups[i] = UInt16(truncatingIfNeeded: high >> (48 - 16 * i))
                groups[i + 4] = UInt16(truncatingIfNeeded: low >> (48 - 16 * i))
            }
            var bestStart = -1
            var bestLength = 1  // a single zero group is never compressed (§4.2.2)
            var runStart = 0
            var runLength = 0
            for (i, group) in groups.enumerated() {
                if group == 0 {
                    if runLength == 0 { runStart = i }
                    runLength += 1
                    if runLength > bestLength {
                        bestStart = runStart
                        bestLength = runLength
                    }
                } else {
                    runLength = 0
                }
            }
            func join(_ slice: ArraySlice<UInt16>) -> String {
                slice.map { String($0, radix: 16) }.joined(separator: ":")
            }
            if bestStart < 0 {
                return join(groups[...])
            }
            return join(groups[..<bestStart]) + "::" + join(groups[(bestStart + bestLength)...])
        }
    }
}

extension IPAddress {
    /// The address in network byte order: 4 bytes for IPv4, 16 for IPv6 (as an X.509 iPAddress SAN holds
    /// it, RFC 5280 §4.2.1.6); nil for any other length.
    public init?(bytes: some Collection<UInt8>) {
        let bytes = Array(bytes)
        switch bytes.count {
        case 4:
            self = .v4(bytes.reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        case 16:
            let high = bytes[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let low = bytes[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            self = .v6(high: high, low: low)
        default:
            return nil
        }
    }
}

// Address prefixes for access rules, in the forms chrony's `allow`/`deny`
// directives accept (chrony.conf(5)): "10.0.0.0/8", "2001:db8::/32", a bare
// address, and "all".

/// An address prefix. Text forms: "10.0.0.0/8", "2001:db8::/32", a bare address (= /32 or /128), and "all" meaning every address of both families (chrony's `allow all`). Host bits set under the mask are an error ("10.1.2.3/8 has host bits set; did you mean 10.0.0.0/8?") like a careful config checker would say.
///
/// Matching works on ``IPAddress/unmapped`` addresses: a client on a
/// dual-stack socket appearing as `::ffff:192.0.2.1` is matched as
/// `192.0.2.1`. For the same reason an IPv6 prefix inside the mapped range
/// (`::ffff:0:0/96` or longer) is stored as the IPv4 prefix it denotes, so
/// `::ffff:10.0.0.0/104` *is* `10.0.0.0/8` (equal, and printed that way).
/// Other IPv6 prefixes match only IPv6 clients, even `::/0`; use `all` to
/// cover both families.
public struct Subnet: Hashable, Sendable, CustomStringConvertible {
    enum Storage: Hashable, Sendable {
        case all
        case v4(network: UInt32, prefixLength: UInt8)
        case v6(high: UInt64, low: UInt64, prefixLength: UInt8)
    }

    let storage: Storage

    /// Every IPv4 and IPv6 address (chrony's `allow all` / `deny all`).
    public static let all = Subnet(storage: .all)

    init(storage: Storage) {
        self.storage = storage
    }

    /// Parses "a.b.c.d/n", "x:x::/n", a bare address (a host prefix) or "all".
    /// Never traps; the error names the problem and, for host bits set under
    /// the mask, suggests the network the operator probably meant.
    public init(parsing text: String) throws(AddressParseError) {
        if text == "all" {
            self = .all
            return
        }
        let bytes = Array(text.utf8)[...]
        if bytes.isEmpty {
            throw AddressParseError(input: text, reason: "empty subnet", subject: "subnet")
        }
        let slash = bytes.firstIndex(of: UInt8(ascii: "/"))
        let addressPart = slash.map { bytes[..<$0] } ?? bytes
        let address: IPAddress
        do {
            address = try IPAddress.TextForm.parseAddress(addressPart)
        } catch {
            throw AddressParseError(input: text, reason: error.reason, subject: "subnet")
        }
        let maximum = address.bitWidth
        guard let slash else {
            self = try Subnet(address: address, prefixLength: maximum, input: text)
            return
        }
        let digits = bytes[(slash + 1)...]
        if digits.isEmpty {
            throw AddressParseError(input: text, reason: "missing prefix length after '/'", subject: "subnet")
        }
        var length = 0
        for byte in digits {
            guard let digit = IPAddress.TextForm.decimalValue(byte) else {
                let shown = String(decoding: digits, as: UTF8.self)
                throw AddressParseError(
                    input: text, reason: "prefix length \"\(shown)\" is not a decimal number", subject: "subnet")
            }
            if length <= maximum { length = length * 10 + digit }  // stop growing once out of range
        }
        if length > maximum {
            throw Subnet.rangeError(input: text, shown: String(decoding: digits, as: UTF8.self), maximum: maximum)
        }
        self = try Subnet(address: address, prefixLength: length, input: text)
    }

    /// A prefix from its parts. Throws if `prefixLength` is outside 0...32
    /// (IPv4) or 0...128 (IPv6), or if `address` has bits set below the mask.
    public init(address: IPAddress, prefixLength: Int) throws(AddressParseError) {
        try self.init(address: address, prefixLength: prefixLength, input: "\(address)/\(prefixLength)")
    }

    private init(address: IPAddress, prefixLength: Int, input: String) throws(AddressParseError) {
        let maximum = address.bitWidth
        guard (0...maximum).contains(prefixLength) else {
            throw Subnet.rangeError(input: input, shown: "\(prefixLength)", maximum: maximum)
        }
        let length = UInt8(prefixLength)
        switch address {
        case .v4(let value):
            let network = value & Subnet.mask32(prefixLength)
            if network != value {
                throw Subnet.hostBitsError(input: input, network: .v4(network), prefixLength: prefixLength)
            }
            storage = .v4(network: network, prefixLength: length)
        case .v6(let high, let low):
            let networkHigh = high & Subnet.mask64(prefixLength)
            let networkLow = low & Subnet.mask64(prefixLength - 64)
            if networkHigh != high || networkLow != low {
                throw Subnet.hostBitsError(
                    input: input, network: .v6(high: networkHigh, low: networkLow), prefixLength: prefixLength)
            }
            if prefixLength >= 96, networkHigh == 0, networkLow >> 32 == 0xFFFF {
                // Inside ::ffff:0:0/96: the IPv4 prefix it denotes (see type comment).
                storage = .v4(network: UInt32(truncatingIfNeeded: networkLow), prefixLength: length - 96)
            } else {
                storage = .v6(high: networkHigh, low: networkLow, prefixLength: length)
            }
        }
    }

    private static func rangeError(input: String, shown: String, maximum: Int) -> AddressParseError {
        let family = maximum == 32 ? "IPv4" : "IPv6"
        return AddressParseError(
            input: input, reason: "prefix length \(shown) is out of range 0...\(maximum) for an \(family) address",
            subject: "subnet")
    }

    private static func hostBitsError(input: String, network: IPAddress, prefixLength: Int) -> AddressParseError {
        AddressParseError(
            input: input, reason: "host bits are set; did you mean \(network)/\(prefixLength)?", subject: "subnet")
    }

    /// Whether `address` (after ``IPAddress/unmapped``) lies in this prefix.
    public func contains(_ address: IPAddress) -> Bool {
        switch (storage, address.unmapped) {
        case (.all, _):
            return true
        case let (.v4(network, length), .v4(value)):
            return value & Subnet.mask32(Int(length)) == network
        case let (.v6(high, low, length), .v6(valueHigh, valueLow)):
            return valueHigh & Subnet.mask64(Int(length)) == high
                && valueLow & Subnet.mask64(Int(length) - 64) == low
        default:
            return false
        }
    }

    /// Number of leading bits that must match; 0 for "all" (and for
    /// `0.0.0.0/0` and `::/0`).
    public var prefixLength: Int {
        switch storage {
        case .all: return 0
        case .v4(_, let length): return Int(length)
        case .v6(_, _, let length): return Int(length)
        }
    }

    /// The network address (host bits zero), or `nil` for "all".
    public var network: IPAddress? {
        switch storage {
        case .all: return nil
        case .v4(let network, _): return .v4(network)
        case .v6(let high, let low, _): return .v6(high: high, low: low)
        }
    }

    /// Whether this is "all" (both families).
    public var isAll: Bool {
        storage == .all
    }

    /// "all", or network "/" prefix length, always with the length
    /// (e.g. "192.0.2.1/32"), so the printed form parses back to an equal value.
    public var description: String {
        guard let network else { return "all" }
        return "\(network)/\(prefixLength)"
    }

    /// The top `length` bits set (length clamped to 0...32).
    static func mask32(_ length: Int) -> UInt32 {
        if length <= 0 { return 0 }
        if length >= 32 { return .max }
        return ~(UInt32.max >> UInt32(length))
    }

    /// The top `length` bits set (length clamped to 0...64).
    static func mask64(_ length: Int) -> UInt64 {
        if length <= 0 { return 0 }
        if length >= 64 { return .max }
        return ~(UInt64.max >> UInt64(length))
    }
}

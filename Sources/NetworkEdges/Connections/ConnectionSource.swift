import NIOCore

/// Whom a TCP connection is counted against: its IPv4 address, or the /64 of its IPv6 address (one host
/// usually holds a whole /64, so counting single IPv6 addresses would give it billions of budgets).
/// IPv4-mapped IPv6 addresses count as the IPv4 address they carry.
public enum ConnectionSource: Hashable, Sendable, CustomStringConvertible {
    case v4(UInt32)
    case v6(prefix64: UInt64)
    /// Unix sockets and the like: all counted together.
    case other

    public init(_ address: SocketAddress?) {
        switch address {
        case .v4(let v4):
            self = .v4(UInt32(bigEndian: v4.address.sin_addr.s_addr))
        case .v6(let v6):
            var storage = v6.address.sin6_addr
            let bytes = withUnsafeBytes(of: &storage) { Array($0) }
            let mapped = bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xFF && bytes[11] == 0xFF
            if mapped {
                self = .v4(bytes[12..<16].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
            } else {
                self = .v6(prefix64: bytes[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
            }
        default:
            self = .other
        }
    }

    public var description: String {
        switch self {
        case .v4(let a): return "\(a >> 24).\(a >> 16 & 0xFF).\(a >> 8 & 0xFF).\(a & 0xFF)"
        case .v6(let p): return [p >> 48, p >> 32 & 0xFFFF, p >> 16 & 0xFFFF, p & 0xFFFF].map { String($0, radix: 16) }.joined(separator: ":") + "::/64"
        case .other: return "local"
        }
    }
}

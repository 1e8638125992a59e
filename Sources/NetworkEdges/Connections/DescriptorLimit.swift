#if canImport(Glibc)
import Glibc
#endif

/// The process's open-file limit (RLIMIT_NOFILE), logged at start: every TCP connection, listener and file
/// takes a descriptor, and a node under a connection flood meets this limit before any other, so the
/// operator should see at a glance whether it was raised (systemd's `LimitNOFILE`).
public struct DescriptorLimit: Sendable {
    public let soft: UInt64
    public let hard: UInt64

    public static var current: DescriptorLimit {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return DescriptorLimit(soft: 0, hard: 0) }
        return DescriptorLimit(soft: UInt64(limit.rlim_cur), hard: UInt64(limit.rlim_max))
    }

    public var description: String {
        func text(_ value: UInt64) -> String { value == UInt64.max ? "unlimited" : "\(value)" }
        return "soft \(text(soft)), hard \(text(hard))"
    }
}

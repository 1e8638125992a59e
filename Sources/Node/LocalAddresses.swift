import ConfigFile
import Foundation
import NodeModels
import NTPCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The addresses other servers may know this node by, for RFC 5905 loop detection: the specific NTP listen
/// addresses, plus every interface address when the node listens on a wildcard. Read once at start.
enum LocalAddresses {
    static func forNode(_ config: NodeConfig) -> [IPAddress] {
        var result = Set(specificListenAddresses(config).map(\.address))
        if config.ntp.listen.contains(where: { IPAddress($0.host).map(isWildcard) ?? false }) {
            result.formUnion(interfaceAddresses())
        }
        return result.sorted()
    }

    /// The node's first specific NTP listen address of `peer`'s family: the address a sibling knows this node
    /// by, and the one its requests go from. nil (the kernel chooses) when the node listens on a wildcard only.
    static func sourceAddress(toward peer: String, _ config: NodeConfig) -> String? {
        guard let target = IPAddress(peer)?.unmapped else { return nil }
        return specificListenAddresses(config).first { listen in
            switch (listen.address, target) {
            case (.v4, .v4), (.v6, .v6): true
            default: false
            }
        }?.host
    }

    /// The numeric NTP listen addresses that are not wildcards, as configured and parsed.
    private static func specificListenAddresses(_ config: NodeConfig) -> [(host: String, address: IPAddress)] {
        config.ntp.listen.compactMap { endpoint in
            guard let address = IPAddress(endpoint.host)?.unmapped, !isWildcard(address) else { return nil }
            return (endpoint.host, address)
        }
    }

    private static func isWildcard(_ address: IPAddress) -> Bool {
        switch address.unmapped {
        case .v4(let value): value == 0
        case .v6(let high, let low): high == 0 && low == 0
        }
    }

    /// getifaddrs(3): every configured IPv4 and IPv6 interface address.
    static func interfaceAddresses() -> [IPAddress] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return [] }
        defer { freeifaddrs(list) }
        var result: [IPAddress] = []
        var cursor: UnsafeMutablePointer<ifaddrs>? = first
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            guard let socketAddress = entry.pointee.ifa_addr else { continue }
            var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            let length: socklen_t
            switch Int32(socketAddress.pointee.sa_family) {
            case AF_INET: length = socklen_t(MemoryLayout<sockaddr_in>.size)
            case AF_INET6: length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            default: continue
            }
            guard getnameinfo(socketAddress, length, &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST) == 0 else { continue }
            // Link-local IPv6 comes with a zone ("fe80::1%eth0"): the address is what a peer sees.
            let text = String(nulTerminated: host).split(separator: "%").first.map(String.init) ?? ""
            if let address = IPAddress(text) { result.append(address.unmapped) }
        }
        return result
    }
}

/// A numeric host and UDP/TCP port as operators write it: `127.0.0.1:123`, `[::1]:123`, `[::]:4460`.
/// IPv6 addresses are bracketed, as in URLs (RFC 3986 §3.2.2), so the port is never ambiguous.
public struct SocketEndpoint: Hashable, Sendable, Codable, CustomStringConvertible {
    public var host: String
    public var port: UInt16

    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    public struct ParseError: Error, Hashable, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// Parses `host:port`; `defaultPort` is used when the port is left out (`127.0.0.1`, `[::1]`, `::1`).
    public init(parsing text: String, defaultPort: UInt16?) throws(ParseError) {
        let trimmed = text.trimmingASCIIWhitespace()
        guard !trimmed.isEmpty else { throw ParseError(description: "empty address") }
        var host: Substring
        var portText: Substring?
        if trimmed.hasPrefix("[") {
            guard let close = trimmed.firstIndex(of: "]") else {
                throw ParseError(description: "\"\(text)\": missing ] after an IPv6 address")
            }
            host = trimmed[trimmed.index(after: trimmed.startIndex)..<close]
            let rest = trimmed[trimmed.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else {
                    throw ParseError(description: "\"\(text)\": expected :PORT after ]")
                }
                portText = rest.dropFirst()
            }
        } else if trimmed.filter({ $0 == ":" }).count > 1 {
            host = Substring(trimmed)  // bare IPv6 address, no port
        } else if let colon = trimmed.lastIndex(of: ":") {
            host = trimmed[..<colon]
            portText = trimmed[trimmed.index(after: colon)...]
        } else {
            host = Substring(trimmed)
        }
        guard !host.isEmpty else { throw ParseError(description: "\"\(text)\": missing host") }
        let port: UInt16
        if let portText {
            guard let value = UInt16(portText) else {
                throw ParseError(description: "\"\(text)\": port must be a number from 0 to 65535")
            }
            port = value
        } else if let defaultPort {
            port = defaultPort
        } else {
            throw ParseError(description: "\"\(text)\": missing :PORT")
        }
        self.host = String(host)
        self.port = port
    }

    /// True when the host is an IPv6 literal.
    public var isIPv6: Bool { host.contains(":") }

    public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

extension StringProtocol {
    /// The text without leading and trailing spaces, tabs and line ends (Foundation-free, for config parsing).
    public func trimmingASCIIWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}

import Fleet
import Foundation
import Logging
import NTPCore
import TOMLKit

/// Reads the node's TOML configuration. Unknown tables and keys, wrong types and out-of-range values are all
/// rejected with the file, the line and a message that says what would be accepted: a daemon that silently
/// ignores a misspelt `[ratelimit]` key is a daemon that serves without limits.
public enum ConfigLoader {
    public static func load(file: String) throws(ConfigError) -> NodeConfig {
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw ConfigError(file: file, line: nil, key: nil, message: "cannot read the file: \(error.localizedDescription)")
        }
        return try parse(text: text, file: file)
    }

    public static func parse(text: String, file: String) throws(ConfigError) -> NodeConfig {
        let root: TOMLTable
        do {
            root = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ConfigError(file: file, line: error.source.begin.line, key: nil, message: "TOML syntax: \(error.description)")
        } catch {
            throw ConfigError(file: file, line: nil, key: nil, message: "TOML syntax: \(error)")
        }
        let reader = TableReader(table: root, path: "", context: .init(file: file, locator: ConfigLineLocator(text: text)))
        return try read(reader)
    }

    private static func read(_ root: TableReader) throws(ConfigError) -> NodeConfig {
        var config = NodeConfig()
        try root.allowOnly(["node", "clock", "local", "ntp", "access", "ratelimit", "nts"])

        if let node = try root.table("node") {
            try node.allowOnly(["name", "log_level", "status_socket"])
            if let name = try node.string("name") {
                guard !name.isEmpty else { throw node.error("name", "must not be empty") }
                config.name = name
            }
            if let level = try node.string("log_level") {
                guard let parsed = Logger.Level(rawValue: level) else {
                    throw node.error("log_level", "\"\(level)\" is not one of trace, debug, info, notice, warning, error, critical")
                }
                config.logLevel = parsed
            }
            if let socket = try node.string("status_socket") {
                guard socket.hasPrefix("/") else { throw node.error("status_socket", "must be an absolute path") }
                config.statusSocket = socket
            }
        }

        if let clock = try root.table("clock") {
            try clock.allowOnly(["driver"])
            if let driver = try clock.string("driver") {
                guard let parsed = NodeConfig.ClockDriver(rawValue: driver) else {
                    throw clock.error("driver", "\"\(driver)\" is not supported (only \"software\": the system clock driver comes with clock discipline)")
                }
                config.clockDriver = parsed
            }
        }

        if let local = try root.table("local") {
            try local.allowOnly(["stratum"])
            guard let stratum = try local.int("stratum", in: 1...15) else {
                throw local.error("stratum", "is required in [local] (1 to 15)")
            }
            config.localStratum = UInt8(stratum)
        }

        if let ntp = try root.table("ntp") {
            try ntp.allowOnly(["listen", "threads", "batch"])
            if let listen = try ntp.strings("listen") {
                guard !listen.isEmpty else { throw ntp.error("listen", "must name at least one address") }
                config.ntp.listen = try listen.enumerated().map { (index, text) throws(ConfigError) in
                    try endpoint(text, defaultPort: 123, reader: ntp, key: "listen", index: index)
                }
            }
            if let threads = try ntp.int("threads", in: 0...64) { config.ntp.threads = threads }
            if let batch = try ntp.int("batch", in: 1...1024) { config.ntp.batch = batch }
        }

        var rules: [AccessRule] = []
        if let access = try root.table("access") {
            try access.allowOnly(["allow", "deny"])
            // Allow rules first, then deny rules: for the same subnet in both lists, deny wins.
            for (key, allow) in [("allow", true), ("deny", false)] {
                for (index, text) in (try access.strings(key) ?? []).enumerated() {
                    do {
                        rules.append(AccessRule(allow: allow, subnet: try Subnet(parsing: text)))
                    } catch {
                        throw access.error(key, "item \(index + 1): \(error.reason) (\"\(text)\")")
                    }
                }
            }
        }
        config.policy.access = AccessList(rules: rules)

        if let limit = try root.table("ratelimit") {
            try limit.allowOnly(["enabled", "interval", "burst", "leak", "kod", "clients"])
            let defaults = RateLimitPolicy.chronyDefault
            let enabled = try limit.bool("enabled") ?? true
            let interval = try limit.int("interval", in: -4...12) ?? defaults.interval
            let burst = try limit.int("burst", in: 1...255) ?? defaults.burst
            let leak = try limit.int("leak", in: 1...4) ?? defaults.leak
            let kod = try limit.int("kod", in: 0...4) ?? defaults.kod
            if let clients = try limit.int("clients", in: 16...16_777_216) { config.rateLimitClients = clients }
            do {
                config.policy.rateLimit = enabled
                    ? try RateLimitPolicy(interval: interval, burst: burst, leak: leak, kod: kod) : nil
            } catch {
                throw limit.error(nil, error.description)
            }
        }
        if let nts = try root.table("nts") {
            config.nts = try readNTS(nts)
        }
        return config
    }

    private static func readNTS(_ table: TableReader) throws(ConfigError) -> NodeConfig.NTS {
        var nts = NodeConfig.NTS()
        try table.allowOnly([
            "listen", "certificate", "private_key", "key_file", "rotate_interval", "key_history", "ntp_server",
            "ntp_port", "max_connections", "timeout", "ratelimit", "certificate_check_interval", "threads",
        ])
        if let listen = try table.strings("listen") {
            guard !listen.isEmpty else { throw table.error("listen", "must name at least one address") }
            nts.listen = try listen.enumerated().map { (index, text) throws(ConfigError) in
                try endpoint(text, defaultPort: 4460, reader: table, key: "listen", index: index)
            }
        }
        for (key, path) in [("certificate", \NodeConfig.NTS.certificate), ("private_key", \NodeConfig.NTS.privateKey)] {
            guard let value = try table.string(key), value.hasPrefix("/") else {
                throw table.error(key, "is required: the absolute path of a PEM file")
            }
            nts[keyPath: path] = value
        }
        if let keyFile = try table.string("key_file") {
            guard keyFile.hasPrefix("/") else { throw table.error("key_file", "must be an absolute path") }
            nts.keyFile = keyFile
        }
        if let interval = try table.int("rotate_interval", in: 0...31_622_400) {
            guard interval == 0 || interval >= 60 else { throw table.error("rotate_interval", "must be 0 (never) or at least 60 seconds") }
            nts.rotateInterval = Int64(interval)
        }
        if let history = try table.int("key_history", in: 1...32) { nts.keyHistory = history }
        if let server = try table.string("ntp_server") {
            guard !server.isEmpty, server.utf8.count <= 255, !server.contains(" ") else {
                throw table.error("ntp_server", "must be a host name or IP address")
            }
            nts.ntpServer = server
        }
        if let port = try table.int("ntp_port", in: 1...65_535) { nts.ntpPort = UInt16(port) }
        if let connections = try table.int("max_connections", in: 1...100_000) { nts.maximumConnections = connections }
        if let threads = try table.int("threads", in: 0...64) { nts.threads = threads }
        if let timeout = try table.number("timeout", in: 0.1...60) { nts.timeout = timeout }
        if let check = try table.number("certificate_check_interval", in: 1...86_400) { nts.certificateCheckInterval = check }
        if let limit = try table.table("ratelimit") {
            try limit.allowOnly(["interval", "burst", "leak"])
            do {
                nts.sessionRate = try RateLimitPolicy(
                    interval: try limit.int("interval", in: -4...12) ?? 6, burst: try limit.int("burst", in: 1...255) ?? 8,
                    leak: try limit.int("leak", in: 1...4) ?? 2)
            } catch let error as ConfigError {
                throw error
            } catch {
                throw limit.error(nil, "\(error)")
            }
        }
        return nts
    }

    private static func endpoint(
        _ text: String, defaultPort: UInt16, reader: TableReader, key: String, index: Int
    ) throws(ConfigError) -> SocketEndpoint {
        let endpoint: SocketEndpoint
        do {
            endpoint = try SocketEndpoint(parsing: text, defaultPort: defaultPort)
        } catch {
            throw reader.error(key, "item \(index + 1): \(error.description)")
        }
        guard IPAddress(endpoint.host) != nil else {
            throw reader.error(key, "item \(index + 1): \"\(endpoint.host)\" is not a numeric IPv4 or IPv6 address")
        }
        return endpoint
    }
}

/// Typed, located access to one TOML table.
private struct TableReader {
    struct Context {
        var file: String
        var locator: ConfigLineLocator
    }

    let table: TOMLTable
    let path: String
    let context: Context

    func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func error(_ key: String?, _ message: String) -> ConfigError {
        let located = key.map(keyPath) ?? path
        return ConfigError(
            file: context.file, line: context.locator.line(of: located), key: located.isEmpty ? nil : located,
            message: message)
    }

    func allowOnly(_ keys: Set<String>) throws(ConfigError) {
        for key in table.keys.sorted() where !keys.contains(key) {
            let known = keys.sorted().joined(separator: ", ")
            let place = path.isEmpty ? "at the top level" : "in [\(path)]"
            throw error(key, "unknown key \(place) (known: \(known))")
        }
    }

    private func value(_ key: String, _ type: TOMLType) throws(ConfigError) -> TOMLValueConvertible? {
        guard let value = table[key] else { return nil }
        guard value.type == type else {
            throw error(key, "expected type \(type.description), found \(value.type.description)")
        }
        return value
    }

    func table(_ key: String) throws(ConfigError) -> TableReader? {
        guard let value = try value(key, .table), let table = value.table else { return nil }
        return TableReader(table: table, path: keyPath(key), context: context)
    }

    func string(_ key: String) throws(ConfigError) -> String? { try value(key, .string)?.string }

    func bool(_ key: String) throws(ConfigError) -> Bool? { try value(key, .bool)?.bool }

    func int(_ key: String, in range: ClosedRange<Int>) throws(ConfigError) -> Int? {
        guard let number = try value(key, .int)?.int else { return nil }
        guard range.contains(number) else {
            throw error(key, "must be between \(range.lowerBound) and \(range.upperBound), got \(number)")
        }
        return number
    }

    /// An integer or floating-point number in `range`.
    func number(_ key: String, in range: ClosedRange<Double>) throws(ConfigError) -> Double? {
        guard let value = table[key] else { return nil }
        let number: Double
        switch value.type {
        case .int: number = Double(value.int ?? 0)
        case .double: number = value.double ?? 0
        default: throw error(key, "expected a number, found \(value.type.description)")
        }
        guard range.contains(number) else {
            throw error(key, "must be between \(range.lowerBound) and \(range.upperBound), got \(number)")
        }
        return number
    }

    func strings(_ key: String) throws(ConfigError) -> [String]? {
        guard let array = try value(key, .array)?.array else { return nil }
        var result: [String] = []
        for (index, item) in array.enumerated() {
            guard item.type == .string, let text = item.string else {
                throw error(key, "item \(index + 1) must be a string, found \(item.type.description)")
            }
            result.append(text)
        }
        return result
    }
}

import NodeModels
import Logging
import NTPCore
import TimeCore
import TOMLKit

/// Reads the node's TOML configuration. Unknown tables and keys, wrong types and out-of-range values are all
/// rejected with the file, the line and a message that says what would be accepted: a daemon that silently
/// ignores a misspelt `[ratelimit]` key is a daemon that serves without limits.
///
/// Pure: text in, a `NodeConfig` or the first `ConfigError` out (the node reads the file, `ConfigLoader.load`;
/// `fuzz-config` feeds it arbitrary text).
public enum ConfigLoader {
    public static func parse(text: String, file: String) throws(ConfigError) -> NodeConfig {
        try read(try ConfigTable(parsing: text, file: file))
    }

    private static func read(_ root: ConfigTable) throws(ConfigError) -> NodeConfig {
        var config = NodeConfig()
        try root.allowOnly(["node", "clock", "refclock", "server", "keys", "metrics", "local", "ntp", "access", "ratelimit", "nts", "sibling", "state", "admin"])
        // The node and its time sources.
        try readNode(root, into: &config)
        if let clock = try root.table("clock") {
            config.clock = try readClock(clock)
        }
        for (index, table) in try root.tables("refclock").enumerated() {
            config.refclocks.append(try readRefclock(table, index: index))
        }
        for table in try root.tables("server") {
            config.servers.append(try readServer(table))
        }
        for table in try root.tables("sibling") {
            config.siblings.append(try readSibling(table))
        }
        try readMetrics(root, into: &config)
        if let state = try root.table("state") {
            config.state = try readState(state)
        }
        try readAdmin(root, into: &config)
        // The key file, and what the sources read above need of it and of each other.
        try readKeys(root, into: &config)
        try checkSources(config, root)
        // What the node serves.
        try readLocal(root, into: &config)
        try readNTP(root, into: &config)
        config.policy.access = try readAccess(root)
        try readRateLimit(root, into: &config)
        if let nts = try root.table("nts") {
            config.nts = try readNTS(nts)
        }
        return config
    }

    private static func readNode(_ root: ConfigTable, into config: inout NodeConfig) throws(ConfigError) {
        if let node = try root.table("node") {
            try node.allowOnly(["name", "log_level", "status_socket", "user"])
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
            if let user = try node.string("user") {
                guard !user.isEmpty else { throw node.error("user", "must not be empty (leave it out for no privilege drop)") }
                config.user = user
            }
        }
    }

    private static func readMetrics(_ root: ConfigTable, into config: inout NodeConfig) throws(ConfigError) {
        if let metrics = try root.table("metrics") {
            try metrics.allowOnly(["listen"])
            // Loopback by default: metrics say a lot about a time server and carry no authentication.
            let text = try metrics.string("listen") ?? "127.0.0.1:9123"
            config.metricsListen = try endpoint(text, defaultPort: 9123, reader: metrics, key: "listen", index: 0)
        }
    }

    private static func readAdmin(_ root: ConfigTable, into config: inout NodeConfig) throws(ConfigError) {
        if let admin = try root.table("admin") {
            try admin.allowOnly(["listen", "certificate", "private_key", "client_ca"])
            // Loopback by default: the API changes keys and certificates.
            let text = try admin.string("listen") ?? "127.0.0.1:\(NodeConfig.Admin.defaultPort)"
            var table = NodeConfig.Admin(
                listen: try endpoint(text, defaultPort: NodeConfig.Admin.defaultPort, reader: admin, key: "listen", index: 0))
            for (key, path) in [("certificate", \NodeConfig.Admin.certificate), ("private_key", \NodeConfig.Admin.privateKey), ("client_ca", \NodeConfig.Admin.clientCA)] {
                guard let value = try admin.string(key), value.hasPrefix("/") else {
                    throw admin.error(key, "is required: the absolute path of a PEM file")
                }
                table[keyPath: path] = value
            }
            config.admin = table
        }
    }

    /// `[keys]`, and the servers and siblings that need it.
    private static func readKeys(_ root: ConfigTable, into config: inout NodeConfig) throws(ConfigError) {
        if let keys = try root.table("keys") {
            try keys.allowOnly(["file"])
            guard let file = try keys.string("file"), file.hasPrefix("/") else {
                throw keys.error("file", "is required: the absolute path of a key file in chrony's format")
            }
            config.keyFile = file
        }
        for (index, server) in config.servers.enumerated() where server.key != nil {
            let reader = root.element("server", index)
            guard config.keyFile != nil else { throw reader.error("key", "needs [keys] file to say what the key is") }
            guard !server.nts else { throw reader.error("key", "an NTS server is authenticated by NTS, not by a symmetric key") }
        }
        if !config.siblings.isEmpty, config.keyFile == nil {
            throw root.element("sibling", 0).error("key", "siblings are authenticated: add [keys] file with the site's keys")
        }
    }

    private static func readLocal(_ root: ConfigTable, into config: inout NodeConfig) throws(ConfigError) {
        if let local = try root.table("local") {
            try local.allowOnly(["stratum"])
            guard let stratum = try local.int("stratum", in: 1...15) else {
                throw local.error("stratum", "is required in [local] (1 to 15)")
            }
            config.localStratum = UInt8(stratum)
        }
    }

    private static func readNTP(_ root: ConfigTable, into config: inout NodeConfig) throws(ConfigError) {
        if let ntp = try root.table("ntp") {
            try ntp.allowOnly(["listen", "threads", "batch", "socket_buffer", "interleaved", "predict_transmit", "send", "max_queue_delay"])
            if let listen = try ntp.strings("listen") {
                guard !listen.isEmpty else { throw ntp.error("listen", "must name at least one address") }
                config.ntp.listen = try listen.enumerated().map { (index, text) throws(ConfigError) in
                    try endpoint(text, defaultPort: 123, reader: ntp, key: "listen", index: index)
                }
            }
            if let threads = try ntp.int("threads", in: 0...64) { config.ntp.threads = threads }
            if let batch = try ntp.int("batch", in: 1...1024) { config.ntp.batch = batch }
            if let buffer = try ntp.int("socket_buffer", in: 0...(256 << 20)) { config.ntp.socketBuffer = buffer }
            if let interleaved = try ntp.bool("interleaved") { config.policy.interleaved = interleaved }
            if let predict = try ntp.bool("predict_transmit") { config.ntp.predictTransmit = predict }
            if let send = try ntp.string("send") {
                guard let mode = NodeConfig.NTP.SendMode(rawValue: send) else {
                    throw ntp.error("send", "must be \"each\" (a send call per reply, stamped just before it) or \"batch\" (one sendmmsg per batch), not \"\(send)\"")
                }
                config.ntp.send = mode
            }
            if let milliseconds = try ntp.number("max_queue_delay", in: 0...10_000) {
                config.policy.maximumQueueDelay = milliseconds > 0 ? NTPDuration(seconds: milliseconds / 1000) : nil
            }
        }
    }

    private static func readAccess(_ root: ConfigTable) throws(ConfigError) -> AccessList {
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
        return AccessList(rules: rules)
    }

    private static func readRateLimit(_ root: ConfigTable, into config: inout NodeConfig) throws(ConfigError) {
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
    }

    private static func readClock(_ table: ConfigTable) throws(ConfigError) -> NodeConfig.Clock {
        var clock = NodeConfig.Clock()
        try table.allowOnly([
            "driver", "drift_file", "holdover_limit", "holdover_rate_ppm", "step_threshold", "step_limit", "max_first_step", "leap_file",
            "leap_mode", "leap_smear_hours", "min_sources", "max_distance", "combine_limit",
        ])
        if let driver = try table.string("driver") {
            guard let parsed = NodeConfig.ClockDriver(rawValue: driver) else {
                throw table.error("driver", "\"\(driver)\" is not one of software, system")
            }
            clock.driver = parsed
        }
        for (key, path) in [("drift_file", \NodeConfig.Clock.driftFile), ("leap_file", \NodeConfig.Clock.leapFile)] {
            if let value = try table.string(key) {
                guard value.hasPrefix("/") else { throw table.error(key, "must be an absolute path") }
                clock[keyPath: path] = value
            }
        }
        if let limit = try table.number("holdover_limit", in: 0...31_622_400) { clock.holdoverLimit = limit }
        if let rate = try table.number("holdover_rate_ppm", in: 0...100) { clock.holdoverRatePPM = rate }
        if let threshold = try table.number("step_threshold", in: 0...1e9) { clock.stepThreshold = threshold }
        if let limit = try table.int("step_limit", in: -1...1_000_000) { clock.stepLimit = limit }
        if let limit = try table.number("max_first_step", in: 0...4e9) { clock.maxFirstStep = limit }
        if let mode = try table.string("leap_mode") {
            guard let parsed = NodeConfig.LeapMode(rawValue: mode) else {
                throw table.error("leap_mode", "\"\(mode)\" is not one of step, smear")
            }
            clock.leapMode = parsed
        }
        if let hours = try table.number("leap_smear_hours", in: 0.01...48) { clock.leapSmearHours = hours }
        if let count = try table.int("min_sources", in: 1...32) { clock.minSources = count }
        if let distance = try table.number("max_distance", in: 0.001...16) { clock.maxDistance = distance }
        if let limit = try table.number("combine_limit", in: 1...1_000) { clock.combineLimit = limit }
        return clock
    }

    private static func readState(_ table: ConfigTable) throws(ConfigError) -> NodeConfig.State {
        var state = NodeConfig.State()
        try table.allowOnly(["database", "retention", "flush_interval"])
        if let database = try table.string("database") {
            guard database.hasPrefix("/"), !database.hasSuffix("/") else {
                throw table.error("database", "must be the absolute path of a file")
            }
            state.database = database
        }
        if let retention = try table.number("retention", in: 60...31_622_400) { state.retention = retention }
        if let interval = try table.number("flush_interval", in: 0.1...3_600) { state.flushInterval = interval }
        return state
    }

    private static func readOptions(_ table: ConfigTable) throws(ConfigError) -> SourceOptions {
        var options = SourceOptions()
        options.prefer = try table.bool("prefer") ?? false
        options.noselect = try table.bool("noselect") ?? false
        options.trust = try table.bool("trust") ?? false
        options.require = try table.bool("require") ?? false
        options.offset = try table.number("offset", in: -10...10) ?? 0
        return options
    }

    private static let optionKeys: Set<String> = ["prefer", "noselect", "trust", "require", "offset"]

    private static func readRefclock(_ table: ConfigTable, index: Int) throws(ConfigError) -> NodeConfig.Refclock {
        try table.allowOnly(optionKeys.union(["name", "driver", "gpsd", "unit", "device", "lock", "poll"]))
        guard let driverName = try table.string("driver") else {
            throw table.error("driver", "is required: one of gpsd, shm, pps")
        }
        guard let driver = NodeConfig.Refclock.Driver(rawValue: driverName) else {
            throw table.error("driver", "\"\(driverName)\" is not one of gpsd, shm, pps")
        }
        let defaultName = switch driver {
        case .gpsd: "GPS"
        case .shm: "SHM"
        case .pps: "PPS"
        }
        let name = try table.string("name") ?? (index == 0 ? defaultName : "\(defaultName)\(index)")
        guard !name.isEmpty, name.utf8.count <= 64 else { throw table.error("name", "must be 1 to 64 characters") }
        var refclock = NodeConfig.Refclock(name: name, driver: driver)
        if let gpsd = try table.string("gpsd") {
            do {
                _ = try SocketEndpoint(parsing: gpsd, defaultPort: 2947)
            } catch {
                throw table.error("gpsd", error.description)
            }
            refclock.gpsd = gpsd
        }
        // gpsd writes units 0-7 (ntpshm); other writers (and chrony) take any segment number.
        if let unit = try table.int("unit", in: 0...255) { refclock.unit = unit }
        if let device = try table.string("device") {
            guard device.hasPrefix("/") else { throw table.error("device", "must be an absolute path such as /dev/pps0") }
            refclock.device = device
        }
        refclock.lock = try table.string("lock")
        if let poll = try table.number("poll", in: 1...1_024) { refclock.poll = poll }
        refclock.options = try readOptions(table)
        return refclock
    }

    private static func readServer(_ table: ConfigTable) throws(ConfigError) -> NodeConfig.Server {
        try table.allowOnly(optionKeys.union(["address", "nts", "ke_port", "ca", "iburst", "minpoll", "maxpoll", "key", "xleave"]))
        guard let address = try table.string("address") else {
            throw table.error("address", "is required: \"host\" or \"host:port\"")
        }
        let endpoint: SocketEndpoint
        do {
            endpoint = try SocketEndpoint(parsing: address, defaultPort: 123)
        } catch {
            throw table.error("address", error.description)
        }
        var server = NodeConfig.Server(host: endpoint.host, port: endpoint.port)
        server.nts = try table.bool("nts") ?? false
        if let port = try table.int("ke_port", in: 1...65_535) { server.kePort = UInt16(port) }
        if let ca = try table.string("ca") {
            guard ca.hasPrefix("/") else { throw table.error("ca", "must be an absolute path to a PEM file") }
            server.ca = ca
        }
        server.iburst = try table.bool("iburst") ?? true
        server.xleave = try table.bool("xleave") ?? false
        if let key = try table.int("key", in: 1...Int(UInt32.max)) { server.key = UInt32(key) }
        if let minPoll = try table.int("minpoll", in: -4...17) { server.minPoll = minPoll }
        if let maxPoll = try table.int("maxpoll", in: -4...17) { server.maxPoll = maxPoll }
        guard server.minPoll <= server.maxPoll else { throw table.error("maxpoll", "must not be below minpoll (\(server.minPoll))") }
        server.options = try readOptions(table)
        return server
    }

    private static func readSibling(_ table: ConfigTable) throws(ConfigError) -> NodeConfig.Sibling {
        try table.allowOnly(optionKeys.union(["address", "key", "accept", "iburst", "minpoll", "maxpoll", "xleave"]))
        guard let address = try table.string("address") else {
            throw table.error("address", "is required: \"host\" or \"host:port\" of the sibling's NTP service")
        }
        let endpoint: SocketEndpoint
        do {
            endpoint = try SocketEndpoint(parsing: address, defaultPort: 123)
        } catch {
            throw table.error("address", error.description)
        }
        // Numeric: the node recognises the sibling's requests (and its accepted keys) by source address.
        guard IPAddress(endpoint.host) != nil else {
            throw table.error("address", "\"\(endpoint.host)\" is not a numeric IPv4 or IPv6 address (siblings are recognised by address)")
        }
        guard let key = try table.int("key", in: 1...Int(UInt32.max)) else {
            throw table.error("key", "is required: the id of the key (in [keys] file) this node's requests carry")
        }
        var accept: Set<UInt32> = []
        for (index, id) in (try table.ints("accept") ?? []).enumerated() {
            guard let id = UInt32(exactly: id), id > 0 else {
                throw table.error("accept", "item \(index + 1): \(id) is not a key id (1 to \(UInt32.max))")
            }
            accept.insert(id)
        }
        var sibling = NodeConfig.Sibling(host: endpoint.host, port: endpoint.port, key: UInt32(key), accept: accept)
        sibling.iburst = try table.bool("iburst") ?? true
        sibling.xleave = try table.bool("xleave") ?? false
        if let minPoll = try table.int("minpoll", in: -4...17) { sibling.minPoll = minPoll }
        if let maxPoll = try table.int("maxpoll", in: -4...17) { sibling.maxPoll = maxPoll }
        guard sibling.minPoll <= sibling.maxPoll else { throw table.error("maxpoll", "must not be below minpoll (\(sibling.minPoll))") }
        sibling.options = try readOptions(table)
        return sibling
    }

    /// Names unique, `lock` naming a non-PPS refclock.
    private static func checkSources(_ config: NodeConfig, _ root: ConfigTable) throws(ConfigError) {
        var seen: Set<String> = []
        for (index, refclock) in config.refclocks.enumerated() {
            let reader = root.element("refclock", index)
            guard seen.insert(refclock.name).inserted else { throw reader.error("name", "\"\(refclock.name)\" is used twice") }
            if let lock = refclock.lock {
                guard refclock.driver == .pps else { throw reader.error("lock", "only a pps refclock has a lock") }
                guard let target = config.refclocks.first(where: { $0.name == lock }), target.driver != .pps else {
                    throw reader.error("lock", "\"\(lock)\" is not the name of a gpsd or shm refclock")
                }
            }
        }
        for (index, server) in config.servers.enumerated() {
            guard seen.insert(server.name).inserted else {
                throw root.element("server", index).error("address", "\"\(server.name)\" is used twice")
            }
        }
        for (index, sibling) in config.siblings.enumerated() {
            guard seen.insert(sibling.name).inserted else {
                throw root.element("sibling", index).error("address", "\"\(sibling.name)\" is used twice")
            }
        }
    }

    private static func readNTS(_ table: ConfigTable) throws(ConfigError) -> NodeConfig.NTS {
        var nts = NodeConfig.NTS()
        try table.allowOnly([
            "listen", "certificate", "private_key", "key_file", "rotate_interval", "key_history", "ntp_server",
            "ntp_port", "max_connections", "max_connections_per_source", "timeout", "ratelimit", "certificate_check_interval", "threads", "key_cache", "steer",
            "steer_holdover",
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
        nts.steer = try table.bool("steer") ?? true
        if let holdover = try table.number("steer_holdover", in: 0...31_622_400) { nts.steerHoldover = holdover }
        if let connections = try table.int("max_connections", in: 1...100_000) { nts.maximumConnections = connections }
        if let perSource = try table.int("max_connections_per_source", in: 1...100_000) {
            nts.maximumConnectionsPerSource = perSource
        }
        if let threads = try table.int("threads", in: 0...64) { nts.threads = threads }
        if let keyCache = try table.int("key_cache", in: 0...65_536) { nts.keyCache = keyCache }
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
        _ text: String, defaultPort: UInt16, reader: ConfigTable, key: String, index: Int
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


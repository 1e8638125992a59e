import ConfigFile
import NodeModels

/// Reads `fleet.toml` into an `Inventory`. Structure first (unknown keys, wrong types, bad values: the first
/// problem is thrown, located as `FILE:LINE: key: message`), then the rules that need the whole file
/// (duplicate names or addresses, siblings that are not in the inventory, nodes in unknown sites), all of
/// them reported at once. Paths in `[credentials]` are relative to the file's folder. Pure: the caller reads
/// the file; `InventoryFiles` (in the admin tool) checks the credential files themselves.
public enum InventoryReader {
    public static let defaultAdminPort: UInt16 = 9124
    public static let defaultNTPPort: UInt16 = 123
    public static let defaultNTSKEPort: UInt16 = 4460

    /// The inventory, or every problem found.
    public static func read(text: String, file: String) -> Result<Inventory, InventoryProblems> {
        do throws(ConfigError) {
            let root = try ConfigTable(parsing: text, file: file)
            let (inventory, located) = try readStructure(root, directory: directory(of: file))
            let problems = check(inventory, located: located, root: root)
            return problems.isEmpty ? .success(inventory) : .failure(InventoryProblems(problems))
        } catch {
            return .failure(InventoryProblems([error]))
        }
    }

    /// Where the node at `index` was written, for rule errors.
    private struct Located {
        var nodes: [ConfigTable] = []
        var sites: [ConfigTable] = []
    }

    private static func directory(of file: String) -> String {
        guard let slash = file.lastIndex(of: "/") else { return "." }
        return file[..<slash].isEmpty ? "/" : String(file[..<slash])
    }

    private static func resolve(_ path: String, in directory: String) -> String {
        path.hasPrefix("/") ? path : "\(directory)/\(path)"
    }

    private static func readStructure(_ root: ConfigTable, directory: String) throws(ConfigError) -> (Inventory, Located) {
        try root.allowOnly(["fleetctl", "credentials", "thresholds", "site", "node"])
        var inventory = Inventory(sites: [], nodes: [])
        var located = Located()

        if let tool = try root.table("fleetctl") {
            try tool.allowOnly(["database"])
            inventory.database = try tool.string("database").map { resolve($0, in: directory) }
        }
        if let credentials = try root.table("credentials") {
            try credentials.allowOnly(["certificate", "private_key", "admin_ca", "nts_trust_anchors"])
            func path(_ key: String) throws(ConfigError) -> String? {
                guard let value = try credentials.string(key) else { return nil }
                guard !value.isEmpty else { throw credentials.error(key, "must not be empty") }
                return resolve(value, in: directory)
            }
            inventory.credentials = Inventory.Credentials(
                certificate: try path("certificate"), privateKey: try path("private_key"), adminCA: try path("admin_ca"),
                ntsTrustAnchors: try path("nts_trust_anchors"))
            // Located at the one that is there: the missing one has no line.
            if inventory.credentials.certificate != nil, inventory.credentials.privateKey == nil {
                throw credentials.error("certificate", "needs private_key too (the operator's client certificate and its key go together)")
            }
            if inventory.credentials.certificate == nil, inventory.credentials.privateKey != nil {
                throw credentials.error("private_key", "needs certificate too (the operator's client certificate and its key go together)")
            }
        }
        if let table = try root.table("thresholds") {
            inventory.thresholds = try readThresholds(table)
        }
        for site in try root.tables("site") {
            try site.allowOnly(["name"])
            guard let name = try site.string("name") else { throw site.error(nil, "a site needs a name") }
            try checkName(name, site, "name")
            inventory.sites.append(.init(name: name))
            located.sites.append(site)
        }
        for table in try root.tables("node") {
            inventory.nodes.append(try readNode(table, defaultSite: inventory.sites.count == 1 ? inventory.sites[0].name : nil))
            located.nodes.append(table)
        }
        return (inventory, located)
    }

    private static func readThresholds(_ table: ConfigTable) throws(ConfigError) -> Inventory.Thresholds {
        try table.allowOnly([
            "certificate_warning_days", "certificate_critical_days", "offset_warning", "offset_critical", "holdover_warning",
            "holdover_critical", "sweep_deadline", "sweep_concurrency", "cookie_lifetime", "rotation_verify_timeout",
        ])
        var thresholds = Inventory.Thresholds()
        if let value = try table.number("certificate_warning_days", in: 0...3650) { thresholds.certificateWarningDays = value }
        if let value = try table.number("certificate_critical_days", in: 0...3650) { thresholds.certificateCriticalDays = value }
        if let value = try table.number("offset_warning", in: 0...86_400) { thresholds.offsetWarning = value }
        if let value = try table.number("offset_critical", in: 0...86_400) { thresholds.offsetCritical = value }
        if let value = try table.number("holdover_warning", in: 0...31_536_000) { thresholds.holdoverWarning = value }
        if let value = try table.number("holdover_critical", in: 0...31_536_000) { thresholds.holdoverCritical = value }
        if let value = try table.number("sweep_deadline", in: 0.1...300) { thresholds.sweepDeadline = value }
        if let value = try table.int("sweep_concurrency", in: 1...1024) { thresholds.sweepConcurrency = value }
        if let value = try table.number("cookie_lifetime", in: 0...31_536_000) { thresholds.cookieLifetime = value }
        if let value = try table.number("rotation_verify_timeout", in: 1...86_400) { thresholds.rotationVerifyTimeout = value }
        guard thresholds.certificateCriticalDays <= thresholds.certificateWarningDays else {
            throw table.error("certificate_critical_days", "must not be more than certificate_warning_days (\(thresholds.certificateWarningDays))")
        }
        guard thresholds.offsetWarning <= thresholds.offsetCritical else {
            throw table.error("offset_warning", "must not be more than offset_critical (\(thresholds.offsetCritical))")
        }
        guard thresholds.holdoverWarning <= thresholds.holdoverCritical else {
            throw table.error("holdover_warning", "must not be more than holdover_critical (\(thresholds.holdoverCritical))")
        }
        return thresholds
    }

    private static func readNode(_ table: ConfigTable, defaultSite: String?) throws(ConfigError) -> Inventory.Node {
        try table.allowOnly(["name", "site", "admin", "admin_server_name", "ntp", "nts_ke", "nts_server_name", "siblings"])
        guard let name = try table.string("name") else { throw table.error(nil, "a node needs a name") }
        try checkName(name, table, "name")
        guard let site = try table.string("site") ?? defaultSite else {
            throw table.error("site", "missing: which [[site]] this node belongs to")
        }
        guard let adminText = try table.string("admin") else {
            throw table.error("admin", "missing: the node's admin API as HOST:PORT (its [admin] listen)")
        }
        guard let ntpText = try table.string("ntp") else {
            throw table.error("ntp", "missing: the node's NTP service as HOST[:PORT]")
        }
        func endpoint(_ text: String, _ key: String, _ port: UInt16) throws(ConfigError) -> SocketEndpoint {
            do {
                return try SocketEndpoint(parsing: text, defaultPort: port)
            } catch {
                throw table.error(key, error.description)
            }
        }
        var node = Inventory.Node(
            name: name, site: site, admin: try endpoint(adminText, "admin", defaultAdminPort), ntp: try endpoint(ntpText, "ntp", defaultNTPPort))
        node.adminServerName = try table.string("admin_server_name")
        if let text = try table.string("nts_ke") { node.ntsKE = try endpoint(text, "nts_ke", defaultNTSKEPort) }
        node.ntsServerName = try table.string("nts_server_name")
        if node.ntsServerName != nil, node.ntsKE == nil {
            throw table.error("nts_server_name", "needs nts_ke (the node's NTS-KE service)")
        }
        node.siblings = try table.strings("siblings") ?? []
        return node
    }

    private static func checkName(_ name: String, _ table: ConfigTable, _ key: String) throws(ConfigError) {
        guard !name.isEmpty, name.count <= 64,
              name.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0)) })
        else {
            throw table.error(key, "\"\(name)\" must be 1 to 64 letters, digits, '-', '_' or '.'")
        }
    }

    /// The rules that need the whole inventory; every violation, in file order.
    private static func check(_ inventory: Inventory, located: Located, root: ConfigTable) -> [ConfigError] {
        var problems: [ConfigError] = []
        if inventory.sites.isEmpty {
            problems.append(root.error("site", "no [[site]]: an inventory needs at least one site"))
        }
        var siteNames: Set<String> = []
        for (index, site) in inventory.sites.enumerated() where !siteNames.insert(site.name).inserted {
            problems.append(located.sites[index].error("name", "duplicate site name \"\(site.name)\""))
        }
        var names: [String: Int] = [:]
        var admins: [SocketEndpoint: String] = [:]
        var ntps: [SocketEndpoint: String] = [:]
        for (index, node) in inventory.nodes.enumerated() {
            let table = located.nodes[index]
            if let first = names[node.name] {
                problems.append(table.error("name", "duplicate node name \"\(node.name)\" (also node \(first + 1))"))
            } else {
                names[node.name] = index
            }
            if !siteNames.contains(node.site) {
                problems.append(table.error("site", "unknown site \"\(node.site)\" (sites: \(inventory.sites.map(\.name).joined(separator: ", ")))"))
            }
            if let other = admins[node.admin] {
                problems.append(table.error("admin", "\(node.admin) is also the admin address of \(other)"))
            } else {
                admins[node.admin] = node.name
            }
            if let other = ntps[node.ntp] {
                problems.append(table.error("ntp", "\(node.ntp) is also the NTP address of \(other)"))
            } else {
                ntps[node.ntp] = node.name
            }
        }
        for (index, node) in inventory.nodes.enumerated() {
            let table = located.nodes[index]
            var seen: Set<String> = []
            for sibling in node.siblings {
                if sibling == node.name {
                    problems.append(table.error("siblings", "a node is not its own sibling (\(node.name))"))
                } else if let other = inventory.node(named: sibling) {
                    if other.site != node.site {
                        problems.append(table.error("siblings", "\(sibling) is in site \(other.site), not \(node.site): siblings share a site"))
                    }
                } else {
                    problems.append(table.error("siblings", "\"\(sibling)\" is not a node of the inventory"))
                }
                if !seen.insert(sibling).inserted {
                    problems.append(table.error("siblings", "\(sibling) is listed twice"))
                }
            }
        }
        if inventory.nodes.isEmpty {
            problems.append(root.error("node", "no [[node]]: the inventory lists no node"))
        }
        return problems
    }
}

/// Every problem an inventory has, each `FILE:LINE: key: message`.
public struct InventoryProblems: Error, Sendable, Equatable, CustomStringConvertible {
    public var problems: [ConfigError]
    public init(_ problems: [ConfigError]) { self.problems = problems }
    public var description: String { problems.map(\.description).joined(separator: "\n") }
}

import Fleet
import Foundation
import NodeModels

/// Which nodes a per-node fleetctl command talks to, and how: NODE as an inventory name or an admin
/// address, or `--all` / `--site S` from the inventory. Credentials come from the options, then
/// `FLEETCTL_CERT`/`KEY`/`CA`, then the inventory's `[credentials]`.
public struct AdminTargets: Sendable {
    public struct Target: Sendable {
        /// The inventory name, or the address as given.
        public var label: String
        public var client: AdminClient
    }

    public var targets: [Target]
    /// True when more than one node may answer (`--all`, `--site`, several names): output is labelled.
    public var many: Bool

    public struct Request: Sendable {
        public var nodes: [String]
        public var all: Bool
        public var site: String?
        public var inventory: String?
        public var certificate: String?
        public var privateKey: String?
        public var ca: String?
        public var serverName: String?
        public var timeout: Double

        public init(nodes: [String], all: Bool, site: String?, inventory: String?, certificate: String?, privateKey: String?, ca: String?,
                    serverName: String?, timeout: Double) {
            self.nodes = nodes
            self.all = all
            self.site = site
            self.inventory = inventory
            self.certificate = certificate
            self.privateKey = privateKey
            self.ca = ca
            self.serverName = serverName
            self.timeout = timeout
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        /// The inventory's own problems (each FILE:LINE: key: message).
        public var inventoryProblems: Bool = false
    }

    public static func resolve(_ request: Request, environment: [String: String] = ProcessInfo.processInfo.environment) throws(Failure) -> AdminTargets {
        guard !(request.all && request.site != nil) else { throw Failure(description: "give --all or --site, not both") }
        guard request.all || request.site != nil || !request.nodes.isEmpty else {
            throw Failure(description: "name a node (its inventory name or its admin API as HOST[:PORT]), or give --all or --site")
        }
        guard !(request.all && !request.nodes.isEmpty) else { throw Failure(description: "give node names or --all, not both") }
        // The inventory is needed for --all/--site and for names; an address alone works without it.
        let needsInventory = request.all || request.site != nil || request.nodes.contains { !looksLikeAddress($0) }
        let inventoryPath = InventoryFile.locate(option: request.inventory, environment: environment)
        var inventory: Inventory?
        if needsInventory || request.inventory != nil || FileManager.default.fileExists(atPath: inventoryPath) {
            switch InventoryFile.load(path: inventoryPath, syntaxOnly: true) {
            case .success(let loaded): inventory = loaded
            case .failure(let problems):
                if needsInventory { throw Failure(description: problems.description, inventoryProblems: true) }
            }
        }
        let fallback = inventory?.credentials
        let credentials: AdminCredentials
        do {
            credentials = try AdminCredentials.resolve(
                certificate: request.certificate ?? environment[AdminCredentials.certificateVariable] ?? fallback?.certificate,
                privateKey: request.privateKey ?? environment[AdminCredentials.privateKeyVariable] ?? fallback?.privateKey,
                ca: request.ca ?? environment[AdminCredentials.caVariable] ?? fallback?.adminCA, environment: environment)
        } catch {
            throw Failure(description: "\(error.description), or [credentials] in the inventory")
        }
        var chosen: [(String, String, String?)] = []  // label, admin address, server name
        let names = request.nodes.filter { !looksLikeAddress($0) || inventory?.node(named: $0) != nil }
        if let inventory, request.all || request.site != nil || !names.isEmpty {
            do {
                chosen = try inventory.select(names: names, site: request.site).map { ($0.name, $0.admin.description, $0.adminServerName) }
            } catch {
                throw Failure(description: error.description)
            }
        }
        for address in request.nodes where !names.contains(address) {
            chosen.append((address, address, nil))
        }
        let timeout = Duration.milliseconds(Int64(request.timeout * 1000))
        var targets: [Target] = []
        for (label, address, serverName) in chosen {
            do {
                targets.append(Target(label: label, client: try AdminClient(
                    node: address, credentials: credentials, serverName: request.serverName ?? serverName, timeout: timeout)))
            } catch {
                throw Failure(description: error.description)
            }
        }
        return AdminTargets(targets: targets, many: request.all || request.site != nil || chosen.count > 1)
    }

    /// An address (with or without port) rather than an inventory name: contains ':' or is all digits and dots.
    static func looksLikeAddress(_ text: String) -> Bool {
        text.contains(":") || text.contains("[") || text.allSatisfy { $0.isNumber || $0 == "." } || text == "localhost"
    }

    /// Runs `body` against every target in parallel; results in target order.
    public func each<T: Sendable>(_ body: @escaping @Sendable (AdminClient) async throws(AdminClientError) -> T) async -> [(label: String, result: Result<T, AdminClientError>)] {
        await withTaskGroup(of: (Int, Result<T, AdminClientError>).self) { group in
            for (index, target) in targets.enumerated() {
                let client = target.client
                group.addTask {
                    do throws(AdminClientError) {
                        return (index, .success(try await body(client)))
                    } catch {
                        return (index, .failure(error))
                    }
                }
            }
            var results: [Int: Result<T, AdminClientError>] = [:]
            for await (index, result) in group { results[index] = result }
            return targets.indices.map { (targets[$0].label, results[$0]!) }
        }
    }
}

import Certificates
import Fleet
import FleetCrypto
import Foundation
import NodeModels
import NTPCore

/// Before a rotation: what every node says about its keys and certificates (read in parallel), the plan
/// made from it, and the new secrets drawn from the system's CSPRNG (kept in the journal until the
/// rotation is over, never printed).
public enum RotationSetup {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    /// `GET /v1/keys` and `GET /v1/certificates` of each node.
    public static func observe(inventory: Inventory, nodes: [Inventory.Node]) async throws -> RotationPlanner.Observed {
        let access = try InventoryFile.access(for: inventory)
        guard let credentials = access.admin else {
            throw Failure("no admin credentials: set [credentials] certificate, private_key and admin_ca in the inventory")
        }
        var observed = RotationPlanner.Observed()
        await withTaskGroup(of: (String, AdminKeys?, AdminCertificates?, String?).self) { group in
            for node in nodes {
                group.addTask {
                    do {
                        let client = try AdminClient(node: node.admin.description, credentials: credentials, serverName: node.adminServerName, timeout: .seconds(5))
                        let keys = try await client.get(AdminPath.keys, as: AdminKeys.self)
                        let certificates = try await client.get(AdminPath.certificates, as: AdminCertificates.self)
                        return (node.name, keys, certificates, nil)
                    } catch {
                        return (node.name, nil, nil, "\(error)")
                    }
                }
            }
            for await (name, keys, certificates, failure) in group {
                observed.keys[name] = keys
                observed.certificates[name] = certificates
                observed.failures[name] = failure
            }
        }
        return observed
    }

    public static func symmetric(inventory: Inventory, nodes: [Inventory.Node], type: String) async throws -> (RotationPlan, [String: String]) {
        let observed = try await observe(inventory: inventory, nodes: nodes)
        let plan = try RotationPlanner.symmetric(inventory: inventory, nodes: nodes, observed: observed, type: type, now: Date().timeIntervalSince1970)
        var secrets: [String: String] = [:]
        for change in plan.keyChanges {
            guard let secret = KeyMaterial.symmetricKeyHex(type: change.type) else { throw Failure("unknown key type \(change.type)") }
            secrets[change.site] = secret
        }
        return (plan, secrets)
    }

    public static func cookie(inventory: Inventory, nodes: [Inventory.Node]) async throws -> (RotationPlan, [String: String]) {
        let observed = try await observe(inventory: inventory, nodes: nodes)
        let plan = try RotationPlanner.cookie(inventory: inventory, nodes: nodes, observed: observed, now: Date().timeIntervalSince1970)
        let secrets = Dictionary(uniqueKeysWithValues: plan.keyChanges.map { ($0.site, KeyMaterial.cookieKeyHex()) })
        return (plan, secrets)
    }

    /// `files(node)`: the new chain and key for a node (issued or given), and the previous ones when held.
    public static func certificates(
        inventory: Inventory, nodes: [Inventory.Node],
        files: (Inventory.Node) throws -> (new: (chain: String, key: String), previous: (chain: String, key: String)?)
    ) async throws -> RotationPlan {
        let observed = try await observe(inventory: inventory, nodes: nodes.filter { $0.ntsKE != nil })
        var changes: [RotationPlan.CertificateChange] = []
        var names: [String: [String]] = [:]
        for node in nodes where node.ntsKE != nil {
            let chosen = try files(node)
            func described(_ pair: (chain: String, key: String)) throws -> (RotationPlan.CertificateChange.Files, [String]) {
                let leaf = try CertificateInspector.chain(file: pair.chain)[0]
                return (.init(chain: pair.chain, key: pair.key, sha256: CertificateInspector.fingerprint(of: leaf)), CertificateInspector.names(of: leaf))
            }
            let (new, newNames) = try described(chosen.new)
            names[node.name] = newNames
            let previous = try chosen.previous.map { try described($0).0 }
            let served = observed.certificates[node.name]?.nts?.sha256
            changes.append(.init(
                node: node.name, new: new, previous: previous?.sha256 == served ? previous : nil,
                requiredNames: RotationPlanner.requiredNames(for: node), servedSha256: served))
        }
        return try RotationPlanner.certificates(
            inventory: inventory, nodes: nodes, observed: observed, changes: changes, newNames: names, now: Date().timeIntervalSince1970)
    }
}

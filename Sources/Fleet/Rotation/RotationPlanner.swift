import NodeModels
import NTPCore

/// Makes a rotation plan from the inventory and what the nodes said about their keys and certificates,
/// or says why there can be none. Pure: the admin tool reads the nodes and passes their answers in. Every
/// plan puts every reversible step before the first irreversible one, and a check across all nodes between
/// them, so a node that cannot be reached stops the rollout while everything can still be undone.
public enum RotationPlanner {
    /// What each node's admin API answered (`GET /v1/keys`, `GET /v1/certificates`), or why it did not.
    public struct Observed: Sendable {
        public var keys: [String: AdminKeys]
        public var certificates: [String: AdminCertificates]
        public var failures: [String: String]

        public init(keys: [String: AdminKeys] = [:], certificates: [String: AdminCertificates] = [:], failures: [String: String] = [:]) {
            self.keys = keys
            self.certificates = certificates
            self.failures = failures
        }
    }

    /// chrony's symmetric key types.
    public static let symmetricTypes = ["MD5", "SHA1", "SHA256", "SHA384", "SHA512", "AES128", "AES256"]
    public static let defaultSymmetricType = "AES128"
    public static let cookieKeyType = "AES-SIV-CMAC-256"

    // MARK: Symmetric

    public static func symmetric(
        inventory: Inventory, nodes selected: [Inventory.Node], observed: Observed, type: String = defaultSymmetricType, now: Double
    ) throws(RotationPlanError) -> RotationPlan {
        let type = type.uppercased()
        guard symmetricTypes.contains(type) else {
            throw RotationPlanError("unknown key type \"\(type)\": chrony's types are \(symmetricTypes.joined(separator: ", "))")
        }
        let nodes = selected.filter { !$0.siblings.isEmpty }
        guard !nodes.isEmpty else { throw RotationPlanError("no node of \(scope(selected)) has siblings in the inventory: no peering keys to rotate") }
        let names = Set(nodes.map(\.name))
        for node in nodes {
            if let missing = node.siblings.first(where: { !names.contains($0) }) {
                throw RotationPlanError("\(node.name) peers with \(missing), which this rotation leaves out: rotate the whole site (--site \(node.site))")
            }
        }
        try requireAnswers(nodes, observed)
        var changes: [RotationPlan.KeyChange] = []
        var sendKeys: [String: UInt32] = [:]
        for site in orderedSites(nodes) {
            let members = nodes.filter { $0.site == site }
            var used: Set<UInt32> = []
            var old: Set<UInt32> = []
            for node in members {
                guard let keys = observed.keys[node.name] else { continue }
                let siblings = keys.siblings ?? []
                guard !siblings.isEmpty else {
                    throw RotationPlanError("\(node.name) reports no siblings, but the inventory says it peers with \(node.siblings.joined(separator: ", "))")
                }
                let sends = Set(siblings.map(\.sendKey))
                guard sends.count == 1, let send = sends.first else {
                    let list = siblings.map { "\($0.sendKey) to \($0.name)" }.joined(separator: ", ")
                    throw RotationPlanError("\(node.name) sends different keys to its siblings (\(list)): make them agree before rotating")
                }
                sendKeys[node.name] = send
                used.formUnion(keys.symmetric.map(\.id))
                for sibling in siblings {
                    used.insert(sibling.sendKey)
                    used.formUnion(sibling.acceptedKeys)
                    used.formUnion(sibling.stored.map(\.id))
                    old.insert(sibling.sendKey)
                    old.formUnion(sibling.acceptedKeys)
                }
            }
            let newID = try nextID(after: used)
            changes.append(.init(site: site, newID: newID, type: type, oldIDs: old.sorted(), nodes: members.map(\.name)))
        }
        var steps = [RotationStep(.checkNodes)]
        steps += nodes.map { RotationStep(.stageSymmetric, node: $0.name) }
        steps.append(RotationStep(.verifySymmetricStaged))
        steps += nodes.map { RotationStep(.activateSymmetric, node: $0.name) }
        steps.append(RotationStep(.verifySymmetricInUse))
        for node in nodes {
            for id in changes.first(where: { $0.site == node.site })?.oldIDs ?? [] { steps.append(RotationStep(.retireSymmetric(id), node: node.name)) }
        }
        return RotationPlan(
            kind: .symmetric, site: siteOption(selected, inventory), nodes: nodes.map(\.name), nodeSites: sites(nodes), created: now,
            keyChanges: changes, previousSendKeys: sendKeys, steps: steps)
    }

    // MARK: Cookie

    public static func cookie(
        inventory: Inventory, nodes selected: [Inventory.Node], observed: Observed, now: Double
    ) throws(RotationPlanError) -> RotationPlan {
        try requireAnswers(selected, observed)
        let nodes = selected.filter { node in node.ntsKE != nil || !(observed.keys[node.name]?.cookie.isEmpty ?? true) }
        guard !nodes.isEmpty else { throw RotationPlanError("no node of \(scope(selected)) serves NTS: no cookie keys to rotate") }
        var changes: [RotationPlan.KeyChange] = []
        for site in orderedSites(nodes) {
            let members = nodes.filter { $0.site == site }
            var used: Set<UInt32> = []
            var current: [(String, UInt32)] = []
            for node in members {
                let keys = observed.keys[node.name]?.cookie ?? []
                guard let sealing = keys.first(where: { $0.state == .current }) else {
                    throw RotationPlanError("\(node.name) reports no NTS cookie key: is [nts] configured on it?")
                }
                current.append((node.name, sealing.id))
                used.formUnion(keys.map(\.id))
            }
            if Set(current.map(\.1)).count > 1 {
                let list = current.map { "\($0.0) seals with key \($0.1)" }.joined(separator: ", ")
                throw RotationPlanError("site \(site): NTS cookie keys out of step (\(list)): bring the site back in step before rotating (fleetctl health shows it)")
            }
            let newID = try nextID(after: used)
            changes.append(.init(site: site, newID: newID, type: cookieKeyType, oldIDs: [current[0].1], nodes: members.map(\.name)))
        }
        var steps = [RotationStep(.checkNodes)]
        steps += nodes.map { RotationStep(.stageCookie, node: $0.name) }
        steps.append(RotationStep(.verifyCookieStaged))
        steps += nodes.map { RotationStep(.activateCookie, node: $0.name) }
        steps.append(RotationStep(.verifyCookies))
        steps.append(RotationStep(.waitCookieLifetime))
        for node in nodes {
            for id in changes.first(where: { $0.site == node.site })?.oldIDs ?? [] { steps.append(RotationStep(.retireCookie(id), node: node.name)) }
        }
        steps.append(RotationStep(.verifyCookies))
        return RotationPlan(
            kind: .cookie, site: siteOption(selected, inventory), nodes: nodes.map(\.name), nodeSites: sites(nodes), created: now,
            keyChanges: changes, cookieLifetime: inventory.thresholds.cookieLifetime, steps: steps)
    }

    // MARK: Certificates

    /// `changes`: per node the new files and the names its new leaf carries (`newNames`, SAN entries). A
    /// leaf that does not cover a node's names refuses the whole plan: nothing changes anywhere.
    public static func certificates(
        inventory: Inventory, nodes selected: [Inventory.Node], observed: Observed, changes: [RotationPlan.CertificateChange],
        newNames: [String: [String]], now: Double
    ) throws(RotationPlanError) -> RotationPlan {
        let nodes = selected.filter { $0.ntsKE != nil }
        guard !nodes.isEmpty else { throw RotationPlanError("no node of \(scope(selected)) has nts_ke in the inventory: no certificate to rotate") }
        try requireAnswers(nodes, observed)
        var refused: [String] = []
        for node in nodes {
            guard let change = changes.first(where: { $0.node == node.name }) else {
                throw RotationPlanError("no new certificate for \(node.name)")
            }
            let names = newNames[node.name] ?? []
            let uncovered = change.requiredNames.filter { !covers(names, $0) }
            if !uncovered.isEmpty {
                refused.append("\(node.name): the new certificate does not cover \(uncovered.joined(separator: ", ")) (it names \(names.isEmpty ? "nothing" : names.joined(separator: ", ")))")
            }
        }
        guard refused.isEmpty else {
            throw RotationPlanError("refused before anything changed: " + refused.joined(separator: "; "))
        }
        var steps = [RotationStep(.checkNodes)]
        steps += nodes.map { RotationStep(.checkCertificate, node: $0.name) }
        for node in nodes {
            steps.append(RotationStep(.pushCertificate, node: node.name))
            steps.append(RotationStep(.verifyCertificate, node: node.name))
        }
        return RotationPlan(
            kind: .certs, site: siteOption(selected, inventory), nodes: nodes.map(\.name), nodeSites: sites(nodes), created: now,
            certificates: nodes.compactMap { node in changes.first { $0.node == node.name } }, steps: steps)
    }

    /// The SAN entries a node's NTS clients check: its NTS name as "DNS:..." or "IP:...".
    public static func requiredNames(for node: Inventory.Node) -> [String] {
        guard let name = node.ntsName else { return [] }
        return [IPAddress(name) == nil ? "DNS:\(name.lowercased())" : "IP:\(name)"]
    }

    /// `entries` cover `required` exactly or with a leftmost-label wildcard ("DNS:*.example.net").
    public static func covers(_ entries: [String], _ required: String) -> Bool {
        if entries.contains(required) { return true }
        if required.hasPrefix("IP:"), let wanted = IPAddress(String(required.dropFirst(3))) {
            return entries.contains { $0.hasPrefix("IP:") && IPAddress(String($0.dropFirst(3))) == wanted }
        }
        guard required.hasPrefix("DNS:") else { return false }
        let labels = required.dropFirst(4).split(separator: ".", maxSplits: 1)
        return labels.count == 2 && entries.contains("DNS:*.\(labels[1])")
    }

    // MARK: Shared

    private static func requireAnswers(_ nodes: [Inventory.Node], _ observed: Observed) throws(RotationPlanError) {
        let silent = nodes.filter { observed.failures[$0.name] != nil || (observed.keys[$0.name] == nil && observed.certificates[$0.name] == nil) }
        guard silent.isEmpty else {
            let list = silent.map { "\($0.name) (\(observed.failures[$0.name] ?? "no answer"))" }.joined(separator: "; ")
            throw RotationPlanError("cannot plan: every node must answer before a rotation starts, and these did not: \(list). Nothing was changed.")
        }
    }

    private static func nextID(after used: Set<UInt32>) throws(RotationPlanError) -> UInt32 {
        let highest = used.max() ?? 0
        guard highest < UInt32.max else { throw RotationPlanError("key ids are exhausted (the highest in use is \(highest))") }
        return highest + 1
    }

    private static func orderedSites(_ nodes: [Inventory.Node]) -> [String] {
        var seen: [String] = []
        for node in nodes where !seen.contains(node.site) { seen.append(node.site) }
        return seen
    }

    private static func sites(_ nodes: [Inventory.Node]) -> [String: String] {
        Dictionary(nodes.map { ($0.name, $0.site) }, uniquingKeysWith: { first, _ in first })
    }

    /// The site of a selection that is one whole site.
    private static func siteOption(_ nodes: [Inventory.Node], _ inventory: Inventory) -> String? {
        let sites = Set(nodes.map(\.site))
        return sites.count == 1 && inventory.sites.count > 1 ? sites.first : (inventory.sites.count == 1 ? inventory.sites[0].name : nil)
    }

    private static func scope(_ nodes: [Inventory.Node]) -> String {
        let sites = Set(nodes.map(\.site)).sorted()
        return sites.count == 1 ? "site \(sites[0])" : "the fleet"
    }
}

/// Why no rotation plan could be made; nothing was changed.
public struct RotationPlanError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

import Certificates
import Fleet
import FleetCrypto
import Foundation
import NodeModels
import NTSKE

/// Takes one rotation step against the nodes: the admin API's writes (each idempotent on the node, so a step
/// taken twice changes nothing the second time), and the verifications, which poll until what they check
/// holds or `rotation_verify_timeout` passes. Verifications use the health sweep's own checks (sibling
/// keys and links, the NTS cookie cross-check) and, for certificates, a real NTS-KE handshake.
struct RotationStepRunner: Sendable {
    let inventory: Inventory
    let access: SweepAccess
    let plan: RotationPlan
    /// Site → the new key's secret (hex). Never printed.
    let secrets: [String: String]

    struct Failure: Error, CustomStringConvertible {
        var description: String
        /// The step before this one must be taken again on resume (a certificate rolled back after its check failed).
        var retakePrevious = false
    }

    /// Takes `step`; returns a short note on what happened ("changed", "already so").
    func perform(_ step: RotationStep) async throws(Failure) -> String {
        do {
            return try await take(step)
        } catch let failure as Failure {
            throw failure
        } catch let error as AdminClientError {
            throw Failure(description: error.description)
        } catch {
            throw Failure(description: "\(error)")
        }
    }

    private func take(_ step: RotationStep) async throws -> String {
        switch step.action {
        case .checkNodes: return try await checkNodes()
        case .stageSymmetric:
            let (node, change) = try target(step)
            guard let hex = secrets[change.site] else { throw Failure(description: "the new key's secret for site \(change.site) is no longer held: abort this rotation") }
            return try await symmetric(node, AdminPath.symmetricKeyStage, SymmetricKeyChangeRequest(id: change.newID, type: change.type, hex: hex))
        case .activateSymmetric:
            let (node, change) = try target(step)
            return try await symmetric(node, AdminPath.symmetricKeyActivate, SymmetricKeyChangeRequest(id: change.newID))
        case .retireSymmetric(let id):
            let (node, _) = try target(step)
            return try await symmetric(node, AdminPath.symmetricKeyRetire, SymmetricKeyChangeRequest(id: id))
        case .restoreSymmetricSendKey(let id):
            let (node, _) = try target(step)
            return try await symmetric(node, AdminPath.symmetricKeyActivate, SymmetricKeyChangeRequest(id: id))
        case .unstageSymmetric:
            let (node, change) = try target(step)
            return try await symmetric(node, AdminPath.symmetricKeyRetire, SymmetricKeyChangeRequest(id: change.newID))
        case .verifySymmetricStaged:
            return try await poll { try await symmetricStaged() }
        case .verifySymmetricInUse:
            return try await poll { try await symmetricInUse { plan.keyChange(forNode: $0)?.newID } }
        case .verifySymmetricRestored:
            return try await poll { try await symmetricInUse { plan.previousSendKeys[$0] } }
        case .stageCookie:
            let (node, change) = try target(step)
            guard let hex = secrets[change.site] else { throw Failure(description: "the new key's secret for site \(change.site) is no longer held: abort this rotation") }
            return try await cookie(node, AdminPath.cookieKeyStage, CookieKeyStageRequest(id: change.newID, key: hex, createdAt: Int64(plan.created)))
        case .activateCookie:
            let (node, change) = try target(step)
            return try await cookie(node, AdminPath.cookieKeyActivate, CookieKeyRequest(id: change.newID))
        case .retireCookie(let id):
            let (node, _) = try target(step)
            return try await cookie(node, AdminPath.cookieKeyRetire, CookieKeyRequest(id: id))
        case .unstageCookie:
            let (node, change) = try target(step)
            return try await cookie(node, AdminPath.cookieKeyRetire, CookieKeyRequest(id: change.newID))
        case .verifyCookieStaged:
            return try await poll { try await cookiesHeld(sealing: false) }
        case .verifyCookies:
            return try await poll { try await cookiesHeld(sealing: true) }
        case .waitCookieLifetime:
            return "waited"
        case .checkCertificate:
            let (node, change) = try certificateTarget(step)
            _ = try await checkFiles(change.new, node: node, names: change.requiredNames)
            return "names, chain and key check out"
        case .pushCertificate:
            let (node, change) = try certificateTarget(step)
            return try await install(change.new, node: node, names: change.requiredNames)
        case .restoreCertificate:
            let (node, change) = try certificateTarget(step)
            guard let previous = change.previous else { throw Failure(description: "the previous certificate of \(node.name) is not held here") }
            return try await install(previous, node: node, names: change.requiredNames)
        case .verifyCertificate:
            let (node, change) = try certificateTarget(step)
            do {
                return try await poll { try await serves(change.new.sha256, node: node) }
            } catch let failure as Failure {
                guard let previous = change.previous else {
                    throw Failure(description: "\(failure.description); the previous certificate is not held here, so \(node.name) keeps the new one", retakePrevious: true)
                }
                do {
                    _ = try await install(previous, node: node, names: change.requiredNames)
                } catch {
                    throw Failure(description: "\(failure.description); rolling \(node.name) back failed too: \(error)")
                }
                throw Failure(description: "\(failure.description); \(node.name) rolled back to its previous certificate", retakePrevious: true)
            }
        }
    }

    // MARK: Nodes

    private func node(_ name: String) throws -> Inventory.Node {
        guard let node = inventory.node(named: name) else {
            throw Failure(description: "\(name) is in the rotation's plan but no longer in the inventory: put it back, or abort the rotation")
        }
        return node
    }

    private func target(_ step: RotationStep) throws -> (Inventory.Node, RotationPlan.KeyChange) {
        guard let name = step.node, let change = plan.keyChange(forNode: name) else { throw Failure(description: "the step names no node of the plan") }
        return (try node(name), change)
    }

    private func certificateTarget(_ step: RotationStep) throws -> (Inventory.Node, RotationPlan.CertificateChange) {
        guard let name = step.node, let change = plan.certificate(for: name) else { throw Failure(description: "the step names no node of the plan") }
        return (try node(name), change)
    }

    func client(_ node: Inventory.Node) throws -> AdminClient {
        guard let credentials = access.admin else {
            throw Failure(description: "no admin credentials: set [credentials] certificate, private_key and admin_ca in the inventory")
        }
        return try AdminClient(node: node.admin.description, credentials: credentials, serverName: node.adminServerName, timeout: .seconds(10))
    }

    private func symmetric(_ node: Inventory.Node, _ path: String, _ body: SymmetricKeyChangeRequest) async throws -> String {
        let result = try await client(node).send("POST", path, body: body, as: SymmetricKeyChangeResult.self)
        return result.changed ? "changed" : "already so"
    }

    private func cookie(_ node: Inventory.Node, _ path: String, _ body: some AdminBody) async throws -> String {
        let result = try await client(node).send("POST", path, body: body, as: CookieKeyResult.self)
        return result.changed ? "changed" : "already so"
    }

    private func keys(_ node: Inventory.Node) async throws -> AdminKeys {
        try await client(node).get(AdminPath.keys, as: AdminKeys.self)
    }

    private var planNodes: [Inventory.Node] {
        get throws { try plan.nodes.map { try node($0) } }
    }

    private func checkNodes() async throws -> String {
        var problems: [String] = []
        for node in try planNodes {
            do {
                if plan.kind == .certs {
                    _ = try await client(node).get(AdminPath.certificates, as: AdminCertificates.self)
                } else {
                    _ = try await keys(node)
                }
            } catch {
                problems.append("\(error)")
            }
        }
        guard problems.isEmpty else { throw Failure(description: "not every node answers: \(problems.joined(separator: "; "))") }
        return "\(plan.nodes.count) nodes answer"
    }

    // MARK: Verifications

    /// `check` until it returns nil (holds), retried every second within the verify timeout; its last reason otherwise.
    private func poll(_ check: () async throws -> String?) async throws -> String {
        let deadline = Date().addingTimeInterval(inventory.thresholds.rotationVerifyTimeout)
        let started = Date()
        var reason = "not checked"
        while true {
            do {
                guard let why = try await check() else { return "verified in \(String(format: "%.1f", Date().timeIntervalSince(started))) s" }
                reason = why
            } catch {
                reason = "\(error)"
            }
            if Date() >= deadline {
                throw Failure(description: "not verified within \(DurationText.words(inventory.thresholds.rotationVerifyTimeout)): \(reason)")
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    private func symmetricStaged() async throws -> String? {
        for node in try planNodes {
            guard let id = plan.keyChange(forNode: node.name)?.newID else { continue }
            for sibling in try await keys(node).siblings ?? [] where !sibling.acceptedKeys.contains(id) {
                return "\(node.name) does not accept key \(id) from \(sibling.name) yet"
            }
        }
        return nil
    }

    /// Every node sends `expected(node)` to each sibling and its last accepted reply from each was
    /// authenticated with that key (repeating the activation changes nothing and reports the siblings'
    /// counters), and the sweep finds no sibling key mismatch or dead link.
    private func symmetricInUse(_ expected: (String) -> UInt32?) async throws -> String? {
        for node in try planNodes {
            guard let id = expected(node.name) else { continue }
            let result = try await client(node).send(
                "POST", AdminPath.symmetricKeyActivate, body: SymmetricKeyChangeRequest(id: id), as: SymmetricKeyChangeResult.self)
            for sibling in result.siblings {
                if sibling.sendKey != id { return "\(node.name) sends key \(sibling.sendKey) to \(sibling.name), not \(id)" }
                if sibling.lastReplyKey != id {
                    return "\(node.name) has no reply from \(sibling.name) authenticated with key \(id) yet"
                        + (sibling.lastReplyKey.map { " (last with key \($0))" } ?? "")
                }
            }
        }
        let health = await HealthSweep(inventory: inventory, access: access, nodes: try planNodes).run()
        for node in health.nodes {
            if let reason = node.reasons.first(where: { ["sibling-keys", "sibling-link", "sibling-config"].contains($0.check) }) {
                return "\(node.node): \(reason.message)"
            }
        }
        return nil
    }

    /// Every node holds the new cookie key (`sealing`: seals with it, and the cross-check passes).
    private func cookiesHeld(sealing: Bool) async throws -> String? {
        for node in try planNodes {
            guard let change = plan.keyChange(forNode: node.name) else { continue }
            let cookie = try await keys(node).cookie
            guard let held = cookie.first(where: { $0.id == change.newID }) else { return "\(node.name) does not hold cookie key \(change.newID)" }
            if sealing, held.state != .current { return "\(node.name) does not seal with cookie key \(change.newID) yet" }
        }
        guard sealing else { return nil }
        let nodes = try planNodes.filter { $0.ntsKE != nil }
        let observations = await HealthSweep(inventory: inventory, access: access, nodes: nodes).observe()
        let health = HealthRules.judge(inventory: inventory, observations: observations, now: Date().timeIntervalSince1970, only: nodes.map(\.name))
        if let reason = health.reasons.first(where: { $0.check == "cookie-keys" }) { return reason.message }
        for observation in observations {
            if let failure = observation.ntsFailure { return "\(observation.node): \(failure.message)" }
            if let bad = observation.cookieChecks.first(where: { $0.outcome != .accepted }) {
                return "a cookie from \(bad.issuer) does not open on \(bad.verifier) (\(bad.message ?? bad.outcome.rawValue))"
            }
        }
        return nil
    }

    // MARK: Certificates

    private func checkFiles(_ files: RotationPlan.CertificateChange.Files, node: Inventory.Node, names: [String]) async throws -> CertificateDetails {
        let chain = try read(files.chain)
        let key = try read(files.key)
        let anchors = try inventory.credentials.ntsTrustAnchors.map { try read($0) }
        do {
            let details = try await CertificateChainCheck.check(chainPEM: chain, keyPEM: key, requiredNames: names, anchorsPEM: anchors)
            guard details.sha256 == files.sha256 else {
                throw Failure(description: "\(files.chain) changed since the rotation was planned (its fingerprint differs): abort and start again")
            }
            return details
        } catch let error as CertificateInspector.Failure {
            throw Failure(description: "\(node.name): \(files.chain): \(error.description)")
        }
    }

    private func read(_ path: String) throws -> String {
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw Failure(description: "cannot read \(path)")
        }
    }

    private func install(_ files: RotationPlan.CertificateChange.Files, node: Inventory.Node, names: [String]) async throws -> String {
        _ = try await checkFiles(files, node: node, names: names)
        let request = CertificateInstallRequest(certificateChain: try read(files.chain), privateKey: try read(files.key), requiredNames: names)
        let result = try await client(node).send("PUT", AdminPath.ntsCertificate, body: request, as: CertificateInstallResult.self)
        return result.changed ? "installed \(result.certificate.sha256.prefix(16))…" : "already in service"
    }

    /// nil when `node` serves the certificate `sha256` in a real handshake verified against the trust anchors.
    private func serves(_ sha256: String, node: Inventory.Node) async throws -> String? {
        guard let ke = node.ntsKE else { return "\(node.name) has no nts_ke in the inventory" }
        do {
            let established = try await NTSKEClient.establish(
                host: ke.host, port: ke.port, serverName: node.ntsName, trust: access.nts, ciphers: NettleCipherFactory(), timeout: .seconds(5))
            guard let served = ServedCertificate(chain: established.peerCertificates) else { return "\(node.name) served no readable certificate" }
            return served.sha256 == sha256 ? nil : "\(node.name) serves \(served.sha256.prefix(16))…, not the new \(sha256.prefix(16))…"
        } catch {
            return "NTS-KE with \(node.name) (\(ke)): \(NodeProbe.clean("\(error)"))"
        }
    }
}

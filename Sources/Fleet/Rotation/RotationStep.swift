/// One step of a rotation plan: an action, on one node or (node nil) across the plan's nodes.
public struct RotationStep: Sendable, Codable, Equatable {
    public var action: RotationAction
    public var node: String?

    public init(_ action: RotationAction, node: String? = nil) {
        self.action = action
        self.node = node
    }

    /// How this step can be undone, in `plan`: nil when it changes nothing (nothing to undo) or cannot be
    /// undone (see `isReversible`).
    public func undo(in plan: RotationPlan) -> RotationStep? {
        guard let node else { return nil }
        switch action {
        case .stageSymmetric: return RotationStep(.unstageSymmetric, node: node)
        case .activateSymmetric:
            guard let old = plan.previousSendKeys[node] else { return nil }
            return RotationStep(.restoreSymmetricSendKey(old), node: node)
        case .stageCookie: return RotationStep(.unstageCookie, node: node)
        case .pushCertificate:
            guard plan.certificate(for: node)?.previous != nil else { return nil }
            return RotationStep(.restoreCertificate, node: node)
        default: return nil
        }
    }

    /// A step that changes a node and cannot be undone: a retired key's material is gone, a node that seals
    /// cookies with the new key cannot go back (its clients' cookies need the key), a certificate whose
    /// predecessor's key fleetctl never held cannot be put back.
    public func isReversible(in plan: RotationPlan) -> Bool {
        !action.changesNode || undo(in: plan) != nil
    }

    /// The step in an operator's words.
    public func describe(in plan: RotationPlan) -> String {
        let on = node ?? "every node"
        let change = node.flatMap { plan.keyChange(forNode: $0) } ?? plan.keyChanges.first
        let new = change.map { "key \($0.newID)" } ?? "the new key"
        let scope = plan.site.map { "of site \($0)" } ?? "of the plan"
        switch action {
        case .checkNodes:
            return "check that every node \(scope) answers and holds the keys the plan was made from"
        case .stageSymmetric:
            return "stage \(new)\(change.map { " (\($0.type))" } ?? "") on \(on): accepted from its siblings, not sent yet"
        case .verifySymmetricStaged:
            return "verify every node \(scope) accepts \(plan.newKeyText) from its siblings"
        case .activateSymmetric:
            return "switch \(on) to send \(new) to its siblings"
        case .verifySymmetricInUse:
            return "verify every sibling pair authenticates with \(plan.newKeyText)"
        case .retireSymmetric(let id):
            return "retire key \(id) on \(on): no longer accepted from its siblings"
        case .restoreSymmetricSendKey(let id):
            return "switch \(on) back to send key \(id)"
        case .unstageSymmetric:
            return "remove \(new) from \(on)"
        case .verifySymmetricRestored:
            return "verify every node sends its previous key again and every sibling pair authenticates with it"
        case .stageCookie:
            return "stage cookie \(new) on \(on): opens cookies, seals none yet"
        case .verifyCookieStaged:
            return "verify every node \(scope) holds cookie \(plan.newKeyText)"
        case .activateCookie:
            return "activate cookie \(new) on \(on): seals new cookies (the old key still opens)"
        case .verifyCookies:
            return "verify every node seals with \(plan.newKeyText) and cookies open across each site"
        case .waitCookieLifetime:
            return "wait \(DurationText.words(plan.cookieLifetime)) for clients to renew the cookies they hold"
        case .retireCookie(let id):
            return "retire cookie key \(id) on \(on)"
        case .unstageCookie:
            return "remove staged cookie \(new) from \(on)"
        case .checkCertificate:
            return "check the new certificate for \(on): names, chain to the trust anchors, key"
        case .pushCertificate:
            return "install the new NTS-KE certificate on \(on)"
        case .verifyCertificate:
            return "verify \(on) serves the new certificate in a real handshake"
        case .restoreCertificate:
            return "reinstall the previous NTS-KE certificate on \(on)"
        }
    }
}

/// Durations in words for plans and progress ("1 day", "2 h 30 min", "45 s").
public enum DurationText {
    public static func words(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        if total < 120 { return "\(total) s" }
        if total < 7_200 { return "\(total / 60) min" }
        if total < 172_800, total % 86_400 != 0 {
            let minutes = (total % 3_600) / 60
            return "\(total / 3_600) h" + (minutes == 0 ? "" : " \(minutes) min")
        }
        let days = total / 86_400
        let hours = (total % 86_400) / 3_600
        return (days == 1 ? "1 day" : "\(days) days") + (hours == 0 ? "" : " \(hours) h")
    }
}

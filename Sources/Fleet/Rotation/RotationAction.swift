/// One action of a rotation. Actions that change a node are idempotent on the node (repeating one changes
/// nothing), so a step that was started but not recorded as done is simply taken again on resume.
public enum RotationAction: Sendable, Codable, Equatable {
    /// Every node of the plan answers its admin API and still holds the keys the plan was made from.
    case checkNodes

    // Sibling symmetric keys.
    /// Accept the new key on the node's siblings' requests (not sent yet).
    case stageSymmetric
    /// Every node accepts the new key from every sibling.
    case verifySymmetricStaged
    /// The node sends the new key to its siblings.
    case activateSymmetric
    /// Every node sends the new key, and every sibling pair has authenticated with it.
    case verifySymmetricInUse
    /// The node no longer accepts this old key from its siblings.
    case retireSymmetric(UInt32)
    /// Undo of `activateSymmetric`: send this (old) key again.
    case restoreSymmetricSendKey(UInt32)
    /// Undo of `stageSymmetric`: stop accepting the new key.
    case unstageSymmetric
    /// After the switches back: every node sends its old key again and every pair authenticates with it,
    /// so no sibling still sends the new key when it is removed.
    case verifySymmetricRestored

    // NTS cookie master keys.
    /// Stage the site's new key, the same material on every node (opens cookies, seals none).
    case stageCookie
    /// Every node of the site holds the new key.
    case verifyCookieStaged
    /// The node seals new cookies with the new key (the old one becomes previous and still opens).
    case activateCookie
    /// Every node seals with the new key, and cookies from every node open on every other (cross-check).
    case verifyCookies
    /// Clients renew the cookies they hold before the previous key goes.
    case waitCookieLifetime
    /// The node drops this previous key.
    case retireCookie(UInt32)
    /// Undo of `stageCookie`.
    case unstageCookie

    // NTS-KE certificates.
    /// The new chain and key for the node: its names covered, chain to the trust anchors, key matching.
    case checkCertificate
    /// Install the new chain and key on the node (validated and swapped live there).
    case pushCertificate
    /// A real NTS-KE handshake: the new fingerprint is served and verifies against the trust anchors.
    case verifyCertificate
    /// Undo of `pushCertificate`: install the previous chain and key again.
    case restoreCertificate

    /// Whether the action changes anything on a node (checks, verifications and waits do not).
    public var changesNode: Bool {
        switch self {
        case .checkNodes, .verifySymmetricStaged, .verifySymmetricInUse, .verifySymmetricRestored, .verifyCookieStaged, .verifyCookies, .waitCookieLifetime,
             .checkCertificate, .verifyCertificate:
            false
        default:
            true
        }
    }
}

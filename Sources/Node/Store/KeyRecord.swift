import Foundation
import GRDB

/// A key the node holds in its state database: a symmetric NTP key or an NTS cookie master key, with its
/// lifecycle state. Keys are grouped in *sets* (`kind` + `scope`): exactly one key of a set is active once a
/// key has been activated, so rotations are stage, activate, retire, each one transaction.
///
/// `description` never shows the material, so a record can be logged.
public struct KeyRecord: Codable, FetchableRecord, PersistableRecord, Sendable, Equatable, CustomStringConvertible {
    public static let databaseTableName = "key"

    /// What the key is for.
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// RFC 5905 / RFC 8573 symmetric NTP keys (the `[keys] file` kind).
        case symmetric
        /// RFC 8915 cookie master keys (NTS).
        case cookie
    }

    /// Where the key is in its lifecycle.
    public enum State: String, Codable, Sendable, CaseIterable {
        /// Held and accepted, not used for new work: a key before its activation, or after another replaced it.
        case staged
        /// The one key of its set used for new work (sending, sealing cookies).
        case active
        /// Withdrawn for good: its material is wiped and its id is never reused.
        case retired
    }

    public var kind: Kind
    /// Which set of its kind the key belongs to ("" for the node's own; sibling key sets use their own scope).
    public var scope: String
    /// The key id (a symmetric key's id, a cookie key's id): unique within its set.
    public var id: Int64
    /// Algorithm name as the key's user names it (chrony's "AES128", "AES-SIV-CMAC-256", ...).
    public var type: String
    /// The secret; empty once retired.
    public var material: Data
    public var state: State
    /// Unix seconds.
    public var createdAt: Double
    public var changedAt: Double

    public init(kind: Kind, scope: String, id: Int64, type: String, material: Data, state: State, createdAt: Double, changedAt: Double) {
        self.kind = kind
        self.scope = scope
        self.id = id
        self.type = type
        self.material = material
        self.state = state
        self.createdAt = createdAt
        self.changedAt = changedAt
    }

    /// Staged or active: the key still opens or verifies what was made under it.
    public var isUsable: Bool { state != .retired }

    public var description: String {
        "\(kind.rawValue)\(scope.isEmpty ? "" : "/\(scope)") key \(id) (\(type), \(state.rawValue), \(material.count) bytes)"
    }
}

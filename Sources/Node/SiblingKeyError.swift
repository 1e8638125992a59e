public enum SiblingKeyError: Error, Sendable, Equatable, CustomStringConvertible {
    case unknownSibling(String)
    case noSiblings
    case keyNotInKeyFile(UInt32)
    case retiringSendKey(UInt32, sibling: String)
    /// The state database refused or failed the write: nothing was applied.
    case notPersisted(String)
    /// A key given with the request is malformed.
    case invalidKey(String)
    /// A key given with the request has the id of a held key with other material or type.
    case keyConflict(UInt32)

    public var description: String {
        switch self {
        case .unknownSibling(let name): "no sibling named \"\(name)\""
        case .noSiblings: "this node has no siblings"
        case .keyNotInKeyFile(let key): "key \(key) is not in the key file: add it there (and reload) first"
        case .retiringSendKey(let key, let sibling): "key \(key) is still the send key for \(sibling): activate another key first"
        case .notPersisted(let message): "not stored, nothing changed: \(message)"
        case .invalidKey(let message): "invalid key: \(message)"
        case .keyConflict(let id): "key \(id) is already held with other material or type; key ids are never reused"
        }
    }
}

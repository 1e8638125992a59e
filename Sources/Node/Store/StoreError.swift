/// Why the state database refused an operation. Key-operation refusals leave the store unchanged.
public enum StoreError: Error, Equatable, CustomStringConvertible {
    /// The database file cannot be created, opened or trusted (not a database, damaged, mode too open).
    case unusableFile(path: String, reason: String)
    /// No key with this id in the set.
    case keyNotFound(set: String, id: Int64)
    /// The id is held with other material or type: a key id is never reused for another secret.
    case keyConflict(set: String, id: Int64)
    /// The key is retired: it can be neither activated nor staged again.
    case keyRetired(set: String, id: Int64)
    /// Retiring this key would leave its set without an active or any usable key.
    case wouldLeaveNoUsableKey(set: String, id: Int64, reason: String)
    /// The key itself is malformed (empty material, empty type, id out of range).
    case invalidKey(String)
    /// SQLite failed (I/O error, disk full, ...).
    case database(String)

    public var description: String {
        switch self {
        case .unusableFile(let path, let reason): "state database \(path): \(reason)"
        case .keyNotFound(let set, let id): "\(set) key \(id) does not exist"
        case .keyConflict(let set, let id): "\(set) key \(id) already exists with other material or type; key ids are never reused"
        case .keyRetired(let set, let id): "\(set) key \(id) is retired"
        case .wouldLeaveNoUsableKey(let set, let id, let reason): "refusing to retire \(set) key \(id): \(reason)"
        case .invalidKey(let message): "invalid key: \(message)"
        case .database(let message): "state database: \(message)"
        }
    }
}

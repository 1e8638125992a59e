import Foundation
import GRDB

/// Key operations: each is one transaction that also appends the key's history and a journal event, and each
/// is idempotent (repeating a request that succeeded returns the same key and changes nothing), so a caller
/// that lost the answer (a killed node, a dropped admin connection) simply asks again.
extension NodeStore {
    /// Adds a key in state `staged`. Staging an id again with the same type and material returns the held key
    /// (whatever its state now); other material under a held or retired id is refused (`keyConflict`,
    /// `keyRetired`): ids are never reused for another secret.
    @discardableResult
    public func stageKey(_ kind: KeyRecord.Kind, scope: String = "", id: Int64, type: String, material: Data) throws(StoreError) -> KeyRecord {
        guard !material.isEmpty, material.count <= 4_096 else { throw .invalidKey("material must be 1 to 4096 bytes, got \(material.count)") }
        guard !type.isEmpty, type.utf8.count <= 64 else { throw .invalidKey("type must be 1 to 64 characters") }
        guard id >= 0, id <= Int64(UInt32.max) else { throw .invalidKey("id must be 0 to \(UInt32.max), got \(id)") }
        let set = Self.setName(kind, scope)
        let at = now()
        return try write { db in
            if let held = try Self.fetchKey(db, kind, scope, id) {
                guard held.state != .retired else { throw StoreError.keyRetired(set: set, id: id) }
                guard held.type == type, held.material == material else { throw StoreError.keyConflict(set: set, id: id) }
                return held
            }
            let key = KeyRecord(kind: kind, scope: scope, id: id, type: type, material: material, state: .staged, createdAt: at, changedAt: at)
            try key.insert(db)
            try Self.recordTransition(db, key, detail: "staged \(type)", at: at)
            return key
        }
    }

    /// Makes the key the active one of its set and demotes the previously active key to `staged`, in one
    /// transaction: at no moment does the set have two active keys or (after its first activation) none.
    /// Activating the active key returns it unchanged.
    @discardableResult
    public func activateKey(_ kind: KeyRecord.Kind, scope: String = "", id: Int64) throws(StoreError) -> KeyRecord {
        let set = Self.setName(kind, scope)
        let at = now()
        return try write { db in
            guard var key = try Self.fetchKey(db, kind, scope, id) else { throw StoreError.keyNotFound(set: set, id: id) }
            switch key.state {
            case .active: return key
            case .retired: throw StoreError.keyRetired(set: set, id: id)
            case .staged: break
            }
            // Demote first: the unique index allows one active key per set at every statement.
            if var previous = try Self.activeKey(db, kind, scope) {
                previous.state = .staged
                previous.changedAt = at
                try previous.update(db)
                try Self.recordTransition(db, previous, detail: "demoted (key \(id) activated)", at: at)
            }
            key.state = .active
            key.changedAt = at
            try key.update(db)
            try Self.recordTransition(db, key, detail: "activated", at: at)
            return key
        }
    }

    /// Retires a staged key: its material is wiped and it is never usable again. Refused for the active key
    /// (activate its successor first) and for the last usable key of a set, so a node is never left without
    /// a usable key. Retiring a retired key returns it unchanged.
    @discardableResult
    public func retireKey(_ kind: KeyRecord.Kind, scope: String = "", id: Int64) throws(StoreError) -> KeyRecord {
        let set = Self.setName(kind, scope)
        let at = now()
        return try write { db in
            guard var key = try Self.fetchKey(db, kind, scope, id) else { throw StoreError.keyNotFound(set: set, id: id) }
            switch key.state {
            case .retired: return key
            case .active:
                throw StoreError.wouldLeaveNoUsableKey(set: set, id: id, reason: "it is the active key; activate another key first")
            case .staged: break
            }
            let usable = try KeyRecord
                .filter(Column("kind") == kind.rawValue && Column("scope") == scope && Column("state") != KeyRecord.State.retired.rawValue)
                .fetchCount(db)
            guard usable > 1 else {
                throw StoreError.wouldLeaveNoUsableKey(set: set, id: id, reason: "it is the last usable key of the set")
            }
            key.state = .retired
            key.material = Data()
            key.changedAt = at
            try key.update(db)
            try Self.recordTransition(db, key, detail: "retired", at: at)
            return key
        }
    }

    /// The keys of a kind (every scope, or one), retired ones included, ordered by scope and id.
    public func keys(kind: KeyRecord.Kind, scope: String? = nil) throws(StoreError) -> [KeyRecord] {
        try read { db in
            var request = KeyRecord.filter(Column("kind") == kind.rawValue)
            if let scope { request = request.filter(Column("scope") == scope) }
            return try request.order(Column("scope"), Column("id")).fetchAll(db)
        }
    }

    /// The active key of a set, nil before the first activation.
    public func activeKey(_ kind: KeyRecord.Kind, scope: String = "") throws(StoreError) -> KeyRecord? {
        try read { db in try Self.activeKey(db, kind, scope) }
    }

    /// Every state a key entered, oldest first.
    public func keyHistory(_ kind: KeyRecord.Kind, scope: String = "", id: Int64) throws(StoreError) -> [KeyHistoryRecord] {
        try read { db in
            try KeyHistoryRecord
                .filter(Column("kind") == kind.rawValue && Column("scope") == scope && Column("keyID") == id)
                .order(Column("rowid"))
                .fetchAll(db)
        }
    }

    // MARK: Helpers

    static func setName(_ kind: KeyRecord.Kind, _ scope: String) -> String {
        scope.isEmpty ? kind.rawValue : "\(kind.rawValue)/\(scope)"
    }

    static func fetchKey(_ db: Database, _ kind: KeyRecord.Kind, _ scope: String, _ id: Int64) throws -> KeyRecord? {
        try KeyRecord.filter(Column("kind") == kind.rawValue && Column("scope") == scope && Column("id") == id).fetchOne(db)
    }

    static func activeKey(_ db: Database, _ kind: KeyRecord.Kind, _ scope: String) throws -> KeyRecord? {
        try KeyRecord
            .filter(Column("kind") == kind.rawValue && Column("scope") == scope && Column("state") == KeyRecord.State.active.rawValue)
            .fetchOne(db)
    }

    static func recordTransition(_ db: Database, _ key: KeyRecord, detail: String, at: Double) throws {
        try KeyHistoryRecord(kind: key.kind, scope: key.scope, keyID: key.id, state: key.state, at: at).insert(db)
        var event = EventRecord(at: at, kind: .key, subject: "\(setName(key.kind, key.scope))/\(key.id)", detail: detail)
        try event.insert(db)
    }
}

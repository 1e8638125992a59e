import ConfigFile
import Foundation
import Logging
import NTPCore

/// Sibling key sets kept in the state database, so key changes made through the admin API survive a restart
/// (the configuration file only holds the keys the node started with). Each sibling's set is the store's
/// symmetric key set with the sibling's name as scope: its *active* key is the send key, its *staged* keys are
/// accepted, *retired* keys are neither. Once a sibling's set is in the store, the store decides its keys; the
/// configuration's `key` / `accept` for that sibling no longer apply (a reload says so).
struct SiblingKeyStore: Sendable {
    let store: NodeStore

    /// The stored key sets of `siblings`, as (send key, accepted keys) by sibling name, with the material of
    /// every usable key. Siblings the store has no set for are left out.
    func load(_ siblings: [NodeConfig.Sibling]) throws(StoreError) -> (sets: [String: (key: UInt32, accept: Set<UInt32>)], keys: [SymmetricKey]) {
        var sets: [String: (key: UInt32, accept: Set<UInt32>)] = [:]
        var material: [SymmetricKey] = []
        for sibling in siblings {
            let records = try store.keys(kind: .symmetric, scope: sibling.name).filter(\.isUsable)
            guard let active = records.first(where: { $0.state == .active }) else { continue }
            sets[sibling.name] = (UInt32(active.id), Set(records.map { UInt32($0.id) }))
            for record in records {
                guard let type = SymmetricKeyType(rawValue: record.type),
                      let key = try? SymmetricKey(id: UInt32(record.id), type: type, secret: [UInt8](record.material))
                else { continue }
                material.append(key)
            }
        }
        return (sets, material)
    }

    /// Persists one operation for one sibling. The first time a sibling's keys are changed, its current set
    /// (from the configuration) is written first, so the store always holds the whole set.
    func persist(
        _ operation: SiblingKeyOperation, sibling: NodeConfig.Sibling, lookup: (UInt32) -> SymmetricKey?
    ) throws(SiblingKeyError) {
        let scope = sibling.name
        func stage(_ id: UInt32) throws {
            guard let key = lookup(id) else { throw SiblingKeyError.keyNotInKeyFile(id) }
            try store.stageKey(.symmetric, scope: scope, id: Int64(id), type: key.type.rawValue, material: Data(key.secret))
        }
        do {
            if try store.activeKey(.symmetric, scope: scope) == nil {
                for id in sibling.accept.sorted() { try stage(id) }
                try store.activateKey(.symmetric, scope: scope, id: Int64(sibling.key))
            }
            switch operation {
            case .stage(let id), .activate(let id):
                try stage(id)
                if case .activate = operation { try store.activateKey(.symmetric, scope: scope, id: Int64(id)) }
            case .retire(let id):
                if try store.keys(kind: .symmetric, scope: scope).contains(where: { $0.id == Int64(id) && $0.state != .retired }) {
                    try store.retireKey(.symmetric, scope: scope, id: Int64(id))
                }
            }
        } catch let error as SiblingKeyError {
            throw error
        } catch {
            throw .notPersisted("\(error)")
        }
    }
}

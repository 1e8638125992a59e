import NodeModels
import NIOConcurrencyHelpers
import FleetCrypto
import Foundation
import NTPCore

/// Staging, activation and retirement of cookie master keys (the admin API's writes). A site rolls a key in
/// three steps so no node ever meets a cookie it cannot open: stage the key on every node (each opens
/// cookies under it), then activate it on every node (each seals with it), later retire the oldest.
/// Every change is written to disk before it is used, and repeating a request changes nothing.
extension CookieKeyStore {
    static let stagedSuffix = ".staged"
    /// At most this many keys wait staged.
    static let maximumStaged = 8

    var stagedPath: String { path + Self.stagedSuffix }

    /// The keys the NTP server opens cookies with: the file's keys plus the staged ones; the file's current
    /// key stays the one that seals (it is last).
    public var serving: CookieKeySet {
        keys.withLockedValue { set in
            staged.withLockedValue { staged in Self.serving(set: set, staged: staged) }
        }
    }

    static func serving(set: CookieKeySet, staged: [CookieKey]) -> CookieKeySet {
        guard !staged.isEmpty else { return set }
        let all = set.keys.dropLast() + staged + [set.current]
        // Ids are unique across the two files (staging refuses duplicates), so this cannot fail.
        return (try? CookieKeySet(keys: Array(all), history: all.count)) ?? set
    }

    /// Hands the keys to serve to the provider (called with the store's lock held, so in the order of changes).
    func publish(set: CookieKeySet, staged: [CookieKey]) {
        provider?.publish(Self.serving(set: set, staged: staged))
    }

    /// Every key with its state, previous first, then current, then staged.
    public func info(now: Int64) -> [CookieKeyInfo] {
        keys.withLockedValue { set in
            staged.withLockedValue { staged in
                Self.info(set: set, staged: staged, now: now)
            }
        }
    }

    static func info(set: CookieKeySet, staged: [CookieKey], now: Int64) -> [CookieKeyInfo] {
        set.keys.map {
            CookieKeyInfo(id: $0.id, state: $0.id == set.current.id ? .current : .previous, createdAt: $0.createdAt, ageSeconds: now - $0.createdAt)
        } + staged.map { CookieKeyInfo(id: $0.id, state: .staged, createdAt: $0.createdAt, ageSeconds: now - $0.createdAt) }
    }

    /// Stages key `id`: `hexKey` (64 hex digits) or one drawn here.
    public func stage(id: UInt32, hexKey: String?, createdAt: Int64?, now: Int64) throws(CookieKeyChangeError) -> CookieKeyResult {
        var material: [UInt8]?
        if let hexKey {
            guard let bytes = HexText.decode(hexKey), bytes.count == CookieKey.keyLength else {
                throw CookieKeyChangeError(.invalid, "key must be \(2 * CookieKey.keyLength) hex digits")
            }
            material = bytes
        }
        return try change(now: now) { set, staged throws(CookieKeyChangeError) in
            if let existing = staged.first(where: { $0.id == id }) ?? set.key(id: id) {
                if let material, !ConstantTime.equal(material, existing.key) {
                    throw CookieKeyChangeError(.conflict, "key id \(id) is already held with a different key")
                }
                return false
            }
            guard staged.count < Self.maximumStaged else {
                throw CookieKeyChangeError(.conflict, "\(Self.maximumStaged) keys are staged already: activate or retire one first")
            }
            var random = SystemRandomNumberGenerator()
            let key = material.map { CookieKey(id: id, key: $0, createdAt: createdAt ?? now) }
                ?? CookieKey.generate(id: id, createdAt: createdAt ?? now, using: &random)
            staged.append(key)
            return true
        }
    }

    /// Makes staged key `id` the current one (the current key becomes previous, the oldest beyond the
    /// history is dropped).
    public func activate(id: UInt32, now: Int64) throws(CookieKeyChangeError) -> CookieKeyResult {
        try change(now: now) { set, staged throws(CookieKeyChangeError) in
            if set.current.id == id { return false }
            guard let index = staged.firstIndex(where: { $0.id == id }) else {
                if set.key(id: id) != nil {
                    throw CookieKeyChangeError(.conflict, "key \(id) is a previous key: stage a new key to activate")
                }
                throw CookieKeyChangeError(.notFound, "no staged key \(id)")
            }
            do {
                try set.rotate(to: staged[index])
            } catch {
                throw CookieKeyChangeError(.conflict, "\(error)")
            }
            staged.remove(at: index)
            return true
        }
    }

    /// Removes staged or previous key `id`; an id not held is already retired.
    public func retire(id: UInt32, now: Int64) throws(CookieKeyChangeError) -> CookieKeyResult {
        try change(now: now) { set, staged throws(CookieKeyChangeError) in
            if set.current.id == id {
                throw CookieKeyChangeError(.conflict, "key \(id) is the current key: activate another one first")
            }
            if let index = staged.firstIndex(where: { $0.id == id }) {
                staged.remove(at: index)
                return true
            }
            guard set.key(id: id) != nil else { return false }
            do {
                set = try CookieKeySet(keys: set.keys.filter { $0.id != id }, history: set.history)
            } catch {
                throw CookieKeyChangeError(.conflict, "\(error)")
            }
            return true
        }
    }

    /// Applies `body` to copies of the keys; when it reports a change, persists both files (the key file
    /// first: a crash in between leaves a key in both, and loading drops the staged copy) and only then
    /// makes the change visible.
    private func change(
        now: Int64, _ body: (inout CookieKeySet, inout [CookieKey]) throws(CookieKeyChangeError) -> Bool
    ) throws(CookieKeyChangeError) -> CookieKeyResult {
        let result: Result<CookieKeyResult, CookieKeyChangeError> = keys.withLockedValue { set in
            staged.withLockedValue { staged in
                var nextSet = set
                var nextStaged = staged
                do {
                    guard try body(&nextSet, &nextStaged) else {
                        return .success(CookieKeyResult(changed: false, keys: Self.info(set: set, staged: staged, now: now)))
                    }
                    if nextSet != set { try recordingWrite(now: now) { try Self.persist(nextSet, to: path) } }
                    if nextStaged != staged { try recordingWrite(now: now) { try Self.persistStaged(nextStaged, to: stagedPath) } }
                } catch let error as CookieKeyChangeError {
                    return .failure(error)
                } catch {
                    return .failure(CookieKeyChangeError(.storage, "cannot persist the cookie keys: \(error)"))
                }
                set = nextSet
                staged = nextStaged
                publish(set: nextSet, staged: nextStaged)
                logger.notice("NTS cookie master keys changed", metadata: [
                    "current": "\(set.current.id)", "previous": "\(set.keys.dropLast().map(\.id))", "staged": "\(staged.map(\.id))",
                ])
                return .success(CookieKeyResult(changed: true, keys: Self.info(set: set, staged: staged, now: now)))
            }
        }
        return try result.get()
    }

    static func persistStaged(_ staged: [CookieKey], to path: String) throws {
        guard !staged.isEmpty else {
            if unlink(path) != 0 && errno != ENOENT { throw CookieKeyStoreError(message: "cannot remove \(path): errno \(errno)") }
            return
        }
        try persist(try CookieKeySet(keys: staged, history: staged.count), to: path)
    }

    /// The staged keys on disk, without those the key file already holds (an activation cut short).
    static func loadStaged(_ path: String, excluding set: CookieKeySet) throws -> [CookieKey] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        try checkPermissions(path)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        do {
            return try CookieKeySet(parsing: text, history: maximumStaged).keys.filter { set.key(id: $0.id) == nil }
        } catch {
            throw CookieKeyStoreError(message: "\(path): \(error)")
        }
    }
}

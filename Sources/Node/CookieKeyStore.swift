import Foundation
import Logging
import NTPCore
import NIOConcurrencyHelpers

/// The site's NTS cookie master keys on this node: loaded from the key file at start (created with a fresh
/// key if missing), rotated on schedule when this node is in charge of rotation, and always persisted before
/// use, so a restart never invalidates the cookies clients hold (RFC 8915 §6). The file is written 0600 to a
/// temporary name and renamed, so a crash leaves the old or the new set, never a broken one.
///
/// Keys staged through the admin API (open cookies, seal none yet) live in `stagedPath` beside the key file,
/// in the same format, until activated (see CookieKeyStore+Staging.swift).
///
/// The store is the keys' one owner: at start and after every change (rotation, reload, stage, activate,
/// retire) it publishes the keys to serve (``serving``) to its ``CookieKeyProvider``, which the NTP server and
/// NTS-KE both read. It publishes while holding its lock, so publications come in the order of the changes.
public final class CookieKeyStore: Sendable {
    public let path: String
    let keys: NIOLockedValueBox<CookieKeySet>
    /// Staged keys, oldest first; persisted in `stagedPath`.
    let staged: NIOLockedValueBox<[CookieKey]>
    /// Where the keys to serve are published, if anywhere.
    let provider: CookieKeyProvider?
    let logger: Logger
    /// Writes of the key file failing now (disk full, read-only, directory not writable): since when, how
    /// many, the last error; nil while they get through. The keys in memory stay in use meanwhile.
    let writeFault = NIOLockedValueBox<KeyFileWriteFault?>(nil)

    /// - Parameter provider: receives the keys to serve now and after every change.
    public init(path: String, history: Int, now: Int64, logger: Logger, publishingTo provider: CookieKeyProvider? = nil) throws {
        self.path = path
        self.logger = logger
        self.provider = provider
        var set: CookieKeySet
        if FileManager.default.fileExists(atPath: path) {
            set = try Self.load(path, history: history)
        } else {
            var random = SystemRandomNumberGenerator()
            let first = CookieKey.generate(id: 1, createdAt: now, using: &random)
            do {
                set = try CookieKeySet(keys: [first], history: history)
            } catch {
                throw CookieKeyStoreError(message: "\(error)")
            }
            if try Self.persist(set, to: path, onlyIfAbsent: true) {
                logger.notice("created NTS cookie key file", metadata: ["path": "\(path)", "key.id": "\(first.id)"])
            } else {
                // Another node sharing this file created it first: the site's keys are the ones on disk.
                set = try Self.load(path, history: history)
            }
        }
        let stagedKeys = try Self.loadStaged(path + Self.stagedSuffix, excluding: set)
        keys = NIOLockedValueBox(set)
        staged = NIOLockedValueBox(stagedKeys)
        provider?.publish(Self.serving(set: set, staged: stagedKeys))
    }

    public var current: CookieKeySet { keys.withLockedValue { $0 } }

    /// Rotates when the newest key is older than `interval` seconds (0: never). Returns the new set when it
    /// rotated; the new key is on disk before anyone seals with it.
    @discardableResult
    public func rotateIfDue(now: Int64, interval: Int64) throws -> CookieKeySet? {
        guard interval > 0 else { return nil }
        return try keys.withLockedValue { set -> CookieKeySet? in
            guard set.needsRotation(now: now, interval: interval) else { return nil }
            var random = SystemRandomNumberGenerator()
            var next = set
            let stagedIDs = Set(staged.withLockedValue { $0.map(\.id) })
            var id = set.nextID
            while stagedIDs.contains(id) || set.key(id: id) != nil { id &+= 1 }
            do {
                try next.rotate(to: CookieKey.generate(id: id, createdAt: now, using: &random))
            } catch {
                throw CookieKeyStoreError(message: "\(error)")
            }
            try recordingWrite(now: now) { try Self.persist(next, to: path) }
            set = next
            publish(set: next, staged: staged.withLockedValue { $0 })
            logger.notice("rotated NTS cookie master key", metadata: ["key.id": "\(next.current.id)", "keys": "\(next.keys.count)"])
            return next
        }
    }

    /// Re-reads the file (after the fleet tool replaced it, or on SIGHUP). A bad file changes nothing.
    @discardableResult
    public func reload(history: Int) throws -> CookieKeySet {
        try Self.checkPermissions(path)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let set: CookieKeySet
        do {
            set = try CookieKeySet(parsing: text, history: history)
        } catch {
            throw CookieKeyStoreError(message: "\(path): \(error)")
        }
        let stagedKeys = try Self.loadStaged(stagedPath, excluding: set)
        keys.withLockedValue { current in
            current = set
            staged.withLockedValue { $0 = stagedKeys }
            publish(set: set, staged: stagedKeys)
        }
        return set
    }

    static func checkPermissions(_ path: String) throws {
        do {
            try SecretFile.checkPermissions(path)
        } catch let error as SecretFile.Error {
            throw CookieKeyStoreError(message: error.message)
        }
    }

    private static func load(_ path: String, history: Int) throws -> CookieKeySet {
        try checkPermissions(path)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        do {
            return try CookieKeySet(parsing: text, history: history)
        } catch {
            throw CookieKeyStoreError(message: "\(path): \(error)")
        }
    }

    /// Runs a write of the key files and keeps `writeFault` up to date: the first failure of a run is logged,
    /// and the first success after it, not every retry.
    @discardableResult
    func recordingWrite<T>(now: Int64, _ write: () throws -> T) throws -> T {
        do {
            let result = try write()
            let cleared = writeFault.withLockedValue { fault in
                defer { fault = nil }
                return fault
            }
            if let cleared {
                logger.notice("NTS cookie key file writable again", metadata: ["path": "\(path)", "failed.writes": "\(cleared.failures)"])
            }
            return result
        } catch {
            let first = writeFault.withLockedValue { fault -> Bool in
                if fault == nil {
                    fault = KeyFileWriteFault(since: now, failures: 1, error: "\(error)")
                    return true
                }
                fault?.failures += 1
                fault?.error = "\(error)"
                return false
            }
            if first {
                logger.error("NTS cookie key file cannot be written; the keys in memory stay in use", metadata: ["path": "\(path)", "error": "\(error)"])
            }
            throw error
        }
    }

    /// While writes fail: writes the current keys again (same content, through a temporary file), so the fault
    /// clears by itself once the file can be written, without waiting for the next key change.
    func retryWriteIfFailing(now: Int64) {
        guard writeFault.withLockedValue({ $0 != nil }) else { return }
        keys.withLockedValue { set in
            _ = try? recordingWrite(now: now) { try Self.persist(set, to: path) }
        }
    }

    /// Writes `set` to `path` through a temporary file. `onlyIfAbsent`: put it in place with link(2), which
    /// fails if the file exists, so nodes that share a key file and start together agree on one set (the
    /// first one written); returns false when another writer was first.
    @discardableResult
    static func persist(_ set: CookieKeySet, to path: String, onlyIfAbsent: Bool = false) throws -> Bool {
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
        let temporary = path + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let data = Data(set.serialized().utf8)
        // Created 0600 before any key byte is written.
        guard FileManager.default.createFile(atPath: temporary, contents: nil, attributes: [.posixPermissions: 0o600]) else {
            throw CookieKeyStoreError(message: "cannot create \(temporary): \(String(cString: strerror(errno)))")
        }
        // A failed write (disk full, I/O error) removes the temporary file: none is left behind, empty or partial.
        do {
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: temporary))
            defer { try? handle.close() }
            try handle.write(contentsOf: data)
            try handle.synchronize()
        } catch {
            unlink(temporary)
            throw CookieKeyStoreError(message: "cannot write \(path) (through \(temporary), removed): \(Self.reason(error))")
        }
        if onlyIfAbsent {
            defer { unlink(temporary) }
            guard link(temporary, path) == 0 else {
                if errno == EEXIST { return false }
                throw CookieKeyStoreError(message: "cannot create \(path): \(String(cString: strerror(errno)))")
            }
            return true
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw CookieKeyStoreError(message: "cannot replace \(path): \(reason)")
        }
        return true
    }

    /// The operating system's words for a failed write ("No space left on device"), not a Foundation dump.
    static func reason(_ error: any Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if nsError.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(nsError.code))) }
        return nsError.localizedDescription
    }
}

public struct CookieKeyStoreError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// The key file's writes failing now: since when (Unix seconds), how many, the last error.
struct KeyFileWriteFault: Sendable, Equatable {
    var since: Int64
    var failures: UInt64
    var error: String
}

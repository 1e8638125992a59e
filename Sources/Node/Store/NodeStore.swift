import Foundation
import GRDB
import NIOConcurrencyHelpers

/// The node's persistent state in one SQLite file through GRDB: keys and their history, the drift, the
/// rolling measurement history and the event journal.
///
/// Why SQLite in WAL mode with `synchronous = FULL`: every write is one transaction appended to the WAL and
/// synced before it is acknowledged, so a node killed at any point (or a power cut) reopens with the state
/// before or after the write, never a mixture; readers (status, the admin API) never block the writer.
/// The file is created 0600 before anything is written, and SQLite gives its `-wal` and `-shm` files the
/// database file's mode, so key material is never readable by group or others; a file with a looser mode
/// is refused, as key files are.
///
/// Thread-safe: GRDB's `DatabasePool` serialises writes and runs reads concurrently.
public final class NodeStore: Sendable {
    public let path: String
    /// The open database; replaced by `reopen()` after its filesystem failed and was repaired.
    private let current: NIOLockedValueBox<DatabasePool>
    var pool: DatabasePool { current.withLockedValue { $0 } }
    /// Unix seconds now; injected by tests.
    let now: @Sendable () -> Double

    public static let systemNow: @Sendable () -> Double = { Date().timeIntervalSince1970 }

    /// Opens (creating if missing, with its directory) and migrates the database at `path`.
    /// Throws `.unusableFile` with a reason an operator can act on when the file cannot be trusted.
    public init(path: String, now: @escaping @Sendable () -> Double = NodeStore.systemNow) throws(StoreError) {
        self.path = path
        self.now = now
        current = NIOLockedValueBox(try Self.openPool(path))
    }

    /// Opens the database at `path` again and uses it from now on. For a filesystem that went read-only
    /// under the node (ext4 `errors=remount-ro` after an I/O error) and was repaired and mounted again: the
    /// open descriptors still point at the failed mount, so no write can get through them, whatever the
    /// operator fixes. Throws, keeping the current database, while the path cannot be opened.
    func reopen() throws(StoreError) {
        let fresh = try Self.openPool(path)
        current.withLockedValue { $0 = fresh }
    }

    private static func openPool(_ path: String) throws(StoreError) -> DatabasePool {
        try Self.preparePrivateFile(path)
        let pool: DatabasePool
        var configuration = Configuration()
        configuration.label = "fleetnode.state"
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            // Deleted content overwritten (retired key material).
            try db.execute(sql: "PRAGMA secure_delete = ON")
        }
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            // Every commit synced to disk before it returns: key writes must survive a power cut. Set on the
            // writer after GRDB's WAL setup, which chooses NORMAL.
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            try StoreSchema.migrator.migrate(pool)
            // The keys are what a node cannot run without: check their pages at every open (fast: the table
            // is small), so damage is reported here and not at the first rotation.
            let check = try pool.read { db in try String.fetchAll(db, sql: "PRAGMA quick_check('key')") }
            guard check == ["ok"] else {
                throw StoreError.unusableFile(path: path, reason: "damaged: \(check.prefix(3).joined(separator: "; "))")
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw .unusableFile(path: path, reason: "\(Self.describe(error)); move the file away to start with an empty store, or restore a copy")
        }
        try Self.checkMode(path + "-wal")
        try Self.checkMode(path + "-shm")
        return pool
    }

    /// The database, its WAL and shared-memory files.
    public var files: [String] { [path, path + "-wal", path + "-shm"] }

    /// Bytes on disk: the database and its WAL.
    public func sizeOnDisk() -> Int64 {
        [path, path + "-wal"].reduce(0) { total, file in
            var info = stat()
            return stat(file, &info) == 0 ? total + Int64(info.st_size) : total
        }
    }

    /// SQLite's full `integrity_check`: ["ok"] for a sound file.
    public func integrityCheck() throws(StoreError) -> [String] {
        try read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }
    }

    /// Moves the WAL's content into the database file (SQLite also does this on its own every 1000 pages).
    public func checkpoint() throws(StoreError) {
        do {
            _ = try pool.writeWithoutTransaction { db in try db.checkpoint(.truncate) }
        } catch {
            throw .database(Self.describe(error))
        }
    }

    // MARK: Transactions

    /// One write transaction; a `StoreError` thrown inside rolls it back and comes out unchanged.
    func write<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        do {
            return try pool.write(body)
        } catch let error as StoreError {
            throw error
        } catch {
            throw .database(Self.describe(error))
        }
    }

    func read<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        do {
            return try pool.read(body)
        } catch let error as StoreError {
            throw error
        } catch {
            throw .database(Self.describe(error))
        }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? DatabaseError {
            return "\(error.message ?? "SQLite error") (SQLite error \(error.resultCode.rawValue))"
        }
        return "\(error)"
    }

    // MARK: File modes

    /// Creates the file 0600 if missing (and its directory 0700), before SQLite writes a byte into it;
    /// refuses an existing file, WAL or SHM file that group or others may access.
    static func preparePrivateFile(_ path: String) throws(StoreError) {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty, !FileManager.default.fileExists(atPath: directory) {
            do {
                try FileManager.default.createDirectory(
                    atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw .unusableFile(path: path, reason: "cannot create the directory: \(error.localizedDescription)")
            }
        }
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw .unusableFile(path: path, reason: "cannot open or create: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            throw .unusableFile(path: path, reason: "not a regular file")
        }
        if info.st_mode & 0o077 != 0 {
            // An empty file holds no secret yet: make it private. Anything else was exposed: refuse.
            guard info.st_size == 0, fchmod(fd, 0o600) == 0 else {
                throw .unusableFile(path: path, reason: "mode \(String(info.st_mode & 0o777, radix: 8)) lets group or others read key material; chmod 600 it (and its -wal and -shm files)")
            }
        }
        try checkMode(path + "-wal")
        try checkMode(path + "-shm")
    }

    static func checkMode(_ file: String) throws(StoreError) {
        var info = stat()
        guard stat(file, &info) == 0 else { return }
        if info.st_mode & 0o077 != 0 {
            throw .unusableFile(path: file, reason: "mode \(String(info.st_mode & 0o777, radix: 8)) lets group or others read key material; chmod 600 it")
        }
    }
}

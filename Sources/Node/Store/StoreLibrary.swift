import GRDB

/// The SQLite library behind GRDB, which will hold keys, drift and measurement history. Reported by
/// `fleetnode version` so an operator (and a test) sees that the storage layer is linked and usable.
public enum StoreLibrary {
    /// The SQLite version, read from an in-memory database.
    public static func sqliteVersion() throws -> String {
        let queue = try DatabaseQueue()
        return try queue.read { db in try String.fetchOne(db, sql: "SELECT sqlite_version()") ?? "unknown" }
    }
}

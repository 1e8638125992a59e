import GRDB

/// The state database's schema as GRDB migrations: each migration runs once, in its own transaction, and
/// is recorded in the database, so any file written by an earlier version is brought forward on open.
enum StoreSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "key") { t in
                t.column("kind", .text).notNull()
                t.column("scope", .text).notNull()
                t.column("id", .integer).notNull()
                t.column("type", .text).notNull()
                t.column("material", .blob).notNull()
                t.column("state", .text).notNull().check { ["staged", "active", "retired"].contains($0) }
                t.column("createdAt", .double).notNull()
                t.column("changedAt", .double).notNull()
                t.primaryKey(["kind", "scope", "id"])
            }
            // At most one active key per set, whatever a bug or a concurrent writer tries.
            try db.execute(sql: "CREATE UNIQUE INDEX keyOneActive ON key(kind, scope) WHERE state = 'active'")
            try db.create(table: "keyHistory") { t in
                t.autoIncrementedPrimaryKey("rowid")
                t.column("kind", .text).notNull()
                t.column("scope", .text).notNull()
                t.column("keyID", .integer).notNull()
                t.column("state", .text).notNull()
                t.column("at", .double).notNull()
            }
            try db.create(index: "keyHistoryByKey", on: "keyHistory", columns: ["kind", "scope", "keyID"])
            try db.create(table: "drift") { t in
                t.primaryKey("id", .integer).check { $0 == 1 }
                t.column("frequencyPPM", .double).notNull()
                t.column("skewPPM", .double).notNull()
                t.column("savedAt", .double).notNull()
            }
            try db.create(table: "sourceSample") { t in
                t.column("source", .text).notNull()
                t.column("local", .integer).notNull()
                t.column("utc", .double).notNull()
                t.column("offset", .double).notNull()
                t.column("delay", .double).notNull()
                t.column("dispersion", .double).notNull()
            }
            try db.create(index: "sourceSampleByTime", on: "sourceSample", columns: ["utc"])
            try db.create(index: "sourceSampleBySource", on: "sourceSample", columns: ["source", "utc"])
            try db.create(table: "clockUpdate") { t in
                t.column("local", .integer).notNull()
                t.column("utc", .double).notNull()
                t.column("offset", .double).notNull()
                t.column("rmsOffset", .double).notNull()
                t.column("frequencyPPM", .double).notNull()
                t.column("skewPPM", .double).notNull()
                t.column("errorBound", .double)
                t.column("source", .text)
                t.column("synchronized", .boolean).notNull()
                t.column("updates", .integer).notNull()
            }
            try db.create(index: "clockUpdateByTime", on: "clockUpdate", columns: ["utc"])
            try db.create(table: "event") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("at", .double).notNull()
                t.column("kind", .text).notNull()
                t.column("subject", .text).notNull()
                t.column("detail", .text).notNull()
            }
            try db.create(index: "eventByTime", on: "event", columns: ["at"])
        }
        return migrator
    }
}

import Fleet
import Foundation
import GRDB

/// The admin host's own SQLite database (GRDB, WAL, every commit synced): each sweep's verdicts, so
/// `fleetctl history` shows a node over time, and the rotation journal (AdminHostStore+Rotation.swift). Created 0600 with
/// its folder (0700) on first use.
public final class AdminHostStore: Sendable {
    public let path: String
    let queue: DatabaseQueue

    /// `$FLEETCTL_DATABASE`, else `/var/lib/fleetctl/fleet.sqlite` for root and
    /// `$XDG_STATE_HOME/fleetctl/fleet.sqlite` (default `~/.local/state/...`) for others.
    public static func defaultPath(environment: [String: String]) -> String {
        if let path = environment["FLEETCTL_DATABASE"], !path.isEmpty { return path }
        if getuid() == 0 { return "/var/lib/fleetctl/fleet.sqlite" }
        let state = environment["XDG_STATE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? "\(environment["HOME"] ?? ".")/.local/state"
        return "\(state)/fleetctl/fleet.sqlite"
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public init(path: String) throws(Failure) {
        self.path = path
        do {
            let directory = (path as NSString).deletingLastPathComponent
            if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]) }
            if !FileManager.default.fileExists(atPath: path) {
                guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                    throw Failure(description: "cannot create \(path)")
                }
            }
            var configuration = Configuration()
            configuration.busyMode = .timeout(10)
            queue = try DatabaseQueue(path: path, configuration: configuration)
            try queue.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA journal_mode = WAL")
                try db.execute(sql: "PRAGMA synchronous = FULL")
            }
            try Self.migrator.migrate(queue)
        } catch let error as Failure {
            throw error
        } catch {
            throw Failure(description: "the admin host database \(path) cannot be used: \(error) (set [fleetctl] database in the inventory, or FLEETCTL_DATABASE)")
        }
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1 sweeps") { db in
            try db.create(table: "sweep") { table in
                table.autoIncrementedPrimaryKey("id")
                table.column("time", .double).notNull()
                table.column("verdict", .text).notNull()
                table.column("elapsed", .double).notNull()
            }
            try db.create(table: "nodeVerdict") { table in
                table.column("sweepId", .integer).notNull().references("sweep", onDelete: .cascade)
                table.column("node", .text).notNull()
                table.column("verdict", .text).notNull()
                table.column("stratum", .integer)
                table.column("offset", .double)
                table.column("certificateDaysLeft", .double)
                /// JSON array of reasons.
                table.column("reasons", .text).notNull()
            }
            try db.create(index: "nodeVerdictByNode", on: "nodeVerdict", columns: ["node", "sweepId"])
        }
        migrator.registerMigration("v2 rotation journal", migrate: createRotationJournal)
        return migrator
    }

    /// Stores one sweep and its node verdicts in one transaction.
    public func record(_ health: FleetHealth) throws {
        let encoder = JSONEncoder()
        try queue.write { db in
            try db.execute(sql: "INSERT INTO sweep (time, verdict, elapsed) VALUES (?, ?, ?)", arguments: [health.time, health.verdict.rawValue, health.elapsed])
            let id = db.lastInsertedRowID
            for node in health.nodes {
                let reasons = String(decoding: try encoder.encode(node.reasons), as: UTF8.self)
                try db.execute(
                    sql: "INSERT INTO nodeVerdict (sweepId, node, verdict, stratum, offset, certificateDaysLeft, reasons) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    arguments: [id, node.node, node.verdict.rawValue, node.stratum, node.offsetFromMedian, node.certificateDaysLeft, reasons])
            }
        }
    }

    /// One node's verdict in one past sweep.
    public struct HistoryEntry: Sendable, Codable, Equatable {
        public var time: Double
        public var verdict: HealthVerdict
        public var stratum: Int?
        public var offsetFromMedian: Double?
        public var certificateDaysLeft: Double?
        public var reasons: [HealthReason]
    }

    /// The node's newest `limit` verdicts, newest first.
    public func history(node: String, limit: Int) throws -> [HistoryEntry] {
        let decoder = JSONDecoder()
        return try queue.read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT sweep.time, nodeVerdict.verdict, nodeVerdict.stratum, nodeVerdict.offset, nodeVerdict.certificateDaysLeft, nodeVerdict.reasons
                    FROM nodeVerdict JOIN sweep ON sweep.id = nodeVerdict.sweepId WHERE nodeVerdict.node = ? ORDER BY sweep.id DESC LIMIT ?
                    """, arguments: [node, limit])
            return rows.map { row in
                HistoryEntry(
                    time: row[0], verdict: HealthVerdict(rawValue: row[1]) ?? .unknown, stratum: row[2], offsetFromMedian: row[3],
                    certificateDaysLeft: row[4], reasons: (try? decoder.decode([HealthReason].self, from: Data((row[5] as String).utf8))) ?? [])
            }
        }
    }
}

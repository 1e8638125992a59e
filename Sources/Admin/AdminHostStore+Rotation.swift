import Fleet
import Foundation
import GRDB

/// The rotation journal: each rotation's plan, its abort steps, and one row per step event, written (and
/// synced) BEFORE a step's action and again after it, so `rotate resume` knows exactly where a killed tool
/// stopped. The new keys' secrets sit beside the plan (the file is 0600) only while the rotation runs:
/// they are erased when it finishes or is aborted. At most one rotation is unfinished at a time.
extension AdminHostStore {
    static func createRotationJournal(_ db: Database) throws {
        try db.create(table: "rotation") { table in
            table.autoIncrementedPrimaryKey("id")
            table.column("kind", .text).notNull()
            table.column("created", .double).notNull()
            /// JSON `RotationPlan` (no key material).
            table.column("plan", .text).notNull()
            /// JSON `[RotationStep]` once aborted.
            table.column("abortSteps", .text)
            table.column("abortNotes", .text)
            /// JSON site → secret (hex); NULL once the rotation is over.
            table.column("secrets", .text)
            table.column("over", .boolean).notNull().defaults(to: false)
        }
        try db.create(table: "rotationRecord") { table in
            table.column("rotationId", .integer).notNull().references("rotation", onDelete: .cascade)
            table.column("step", .integer).notNull()
            table.column("event", .text).notNull()
            table.column("time", .double).notNull()
            table.column("message", .text)
        }
        try db.create(index: "rotationRecordByRotation", on: "rotationRecord", columns: ["rotationId"])
    }

    public struct RotationConflict: Error, CustomStringConvertible {
        public var description: String
    }

    /// Journals a new plan and its secrets; refused while another rotation is unfinished.
    public func beginRotation(_ plan: RotationPlan, secrets: [String: String]) throws -> RotationJournal {
        let encoder = JSONEncoder()
        return try queue.write { db in
            if let open = try Int64.fetchOne(db, sql: "SELECT id FROM rotation WHERE over = 0 ORDER BY id DESC LIMIT 1") {
                throw RotationConflict(description: "rotation \(open) is not finished: fleetctl rotate status shows it; resume or abort it first")
            }
            try db.execute(
                sql: "INSERT INTO rotation (kind, created, plan, secrets) VALUES (?, ?, ?, ?)",
                arguments: [plan.kind.rawValue, plan.created, String(decoding: try encoder.encode(plan), as: UTF8.self),
                            String(decoding: try encoder.encode(secrets), as: UTF8.self)])
            return RotationJournal(id: db.lastInsertedRowID, plan: plan)
        }
    }

    /// The unfinished rotation, else the newest one (nil: none ever).
    public func currentRotation() throws -> RotationJournal? {
        try queue.read { db in
            guard let id = try Int64.fetchOne(db, sql: "SELECT id FROM rotation ORDER BY over ASC, id DESC LIMIT 1") else { return nil }
            return try Self.journal(db, id: id)
        }
    }

    public func isOver(_ id: Int64) throws -> Bool {
        try queue.read { db in try Bool.fetchOne(db, sql: "SELECT over FROM rotation WHERE id = ?", arguments: [id]) ?? true }
    }

    /// The secrets of an unfinished rotation (site → hex).
    public func rotationSecrets(_ id: Int64) throws -> [String: String] {
        try queue.read { db in
            guard let text = try String.fetchOne(db, sql: "SELECT secrets FROM rotation WHERE id = ?", arguments: [id]) else { return [:] }
            return try JSONDecoder().decode([String: String].self, from: Data(text.utf8))
        }
    }

    /// One step event, committed (and synced) before this returns.
    public func append(_ record: RotationJournal.Record, to id: Int64) throws {
        try queue.write { db in
            try db.execute(
                sql: "INSERT INTO rotationRecord (rotationId, step, event, time, message) VALUES (?, ?, ?, ?, ?)",
                arguments: [id, record.step, record.event.rawValue, record.time, record.message])
        }
    }

    public func setAbort(_ id: Int64, _ abort: RotationAbort) throws {
        let encoder = JSONEncoder()
        try queue.write { db in
            try db.execute(
                sql: "UPDATE rotation SET abortSteps = ?, abortNotes = ? WHERE id = ?",
                arguments: [String(decoding: try encoder.encode(abort.steps), as: UTF8.self),
                            String(decoding: try encoder.encode(abort.notes), as: UTF8.self), id])
        }
    }

    /// Marks the rotation over and erases its secrets.
    public func closeRotation(_ id: Int64) throws {
        try queue.write { db in
            try db.execute(sql: "UPDATE rotation SET over = 1, secrets = NULL WHERE id = ?", arguments: [id])
        }
    }

    private static func journal(_ db: Database, id: Int64) throws -> RotationJournal? {
        let decoder = JSONDecoder()
        guard let row = try Row.fetchOne(db, sql: "SELECT plan, abortSteps, abortNotes FROM rotation WHERE id = ?", arguments: [id]) else { return nil }
        let plan = try decoder.decode(RotationPlan.self, from: Data((row[0] as String).utf8))
        let abortSteps = try (row[1] as String?).map { try decoder.decode([RotationStep].self, from: Data($0.utf8)) }
        let notes = try (row[2] as String?).map { try decoder.decode([String].self, from: Data($0.utf8)) } ?? []
        let records = try Row.fetchAll(
            db, sql: "SELECT step, event, time, message FROM rotationRecord WHERE rotationId = ? ORDER BY rowid", arguments: [id]
        ).map { row in
            RotationJournal.Record(step: row[0], event: RotationJournal.Record.Event(rawValue: row[1]) ?? .failed, time: row[2], message: row[3])
        }
        return RotationJournal(id: id, plan: plan, abortSteps: abortSteps, abortNotes: notes, records: records)
    }
}

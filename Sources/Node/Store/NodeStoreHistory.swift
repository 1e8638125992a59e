import Foundation
import GRDB

/// Drift, measurement history and the event journal.
extension NodeStore {
    // MARK: Drift

    /// Replaces the stored frequency (one row).
    public func saveDrift(frequencyPPM: Double, skewPPM: Double) throws(StoreError) {
        guard frequencyPPM.isFinite, skewPPM.isFinite, abs(frequencyPPM) <= 500, skewPPM >= 0 else {
            throw .database("refusing to store a drift of \(frequencyPPM) ppm, skew \(skewPPM) ppm")
        }
        let record = DriftRecord(frequencyPPM: frequencyPPM, skewPPM: skewPPM, savedAt: now())
        try write { db in try record.upsert(db) }
    }

    /// The stored frequency, nil before the first save.
    public func drift() throws(StoreError) -> DriftRecord? {
        try read { db in try DriftRecord.fetchOne(db, key: 1) }
    }

    // MARK: Measurements and events

    /// Appends samples, clock updates and events in one transaction (what a recorder's flush writes).
    /// Returns the events with their ids.
    @discardableResult
    public func append(samples: [SourceSampleRecord] = [], updates: [ClockUpdateRecord] = [], events: [EventRecord] = []) throws(StoreError) -> [EventRecord] {
        try write { db in
            for sample in samples { try sample.insert(db) }
            for update in updates { try update.insert(db) }
            return try events.map { event in
                var event = event
                try event.insert(db)
                return event
            }
        }
    }

    /// Appends one event now.
    @discardableResult
    public func appendEvent(_ kind: EventRecord.Kind, subject: String, detail: String) throws(StoreError) -> EventRecord {
        try append(events: [EventRecord(at: now(), kind: kind, subject: subject, detail: detail)])[0]
    }

    /// Deletes samples and clock updates older than `retention` seconds (the journal and keys are kept).
    /// Returns the rows deleted.
    @discardableResult
    public func prune(retention: Double) throws(StoreError) -> Int {
        let cutoff = now() - retention
        return try write { db in
            let samples = try SourceSampleRecord.filter(Column("utc") < cutoff).deleteAll(db)
            let updates = try ClockUpdateRecord.filter(Column("utc") < cutoff).deleteAll(db)
            return samples + updates
        }
    }

    /// Samples since `since` (Unix seconds), of one source or all, oldest first.
    public func samples(source: String? = nil, since: Double = 0, limit: Int = 100_000) throws(StoreError) -> [SourceSampleRecord] {
        try read { db in
            var request = SourceSampleRecord.filter(Column("utc") >= since)
            if let source { request = request.filter(Column("source") == source) }
            return try request.order(Column("utc")).limit(limit).fetchAll(db)
        }
    }

    /// Clock updates since `since` (Unix seconds), oldest first.
    public func clockUpdates(since: Double = 0, limit: Int = 100_000) throws(StoreError) -> [ClockUpdateRecord] {
        try read { db in
            try ClockUpdateRecord.filter(Column("utc") >= since).order(Column("utc")).limit(limit).fetchAll(db)
        }
    }

    /// Journal rows at or after `since` (Unix seconds), in the order they were written.
    public func events(since: Double = 0, limit: Int = 1_000) throws(StoreError) -> [EventRecord] {
        try read { db in
            try EventRecord.filter(Column("at") >= since).order(Column("id")).limit(limit).fetchAll(db)
        }
    }

    /// Journal rows after the row `id` (a reader's cursor), in order.
    public func events(after id: Int64, limit: Int = 1_000) throws(StoreError) -> [EventRecord] {
        try read { db in
            try EventRecord.filter(Column("id") > id).order(Column("id")).limit(limit).fetchAll(db)
        }
    }

    /// UTC of the newest clock update, nil when there is none.
    public func lastClockUpdateTime() throws(StoreError) -> Double? {
        try read { db in try Double.fetchOne(db, sql: "SELECT MAX(utc) FROM \(ClockUpdateRecord.databaseTableName)") }
    }

    public func eventCount() throws(StoreError) -> Int {
        try read { db in try EventRecord.fetchCount(db) }
    }

    /// Rows in the sample history.
    public func sampleCount() throws(StoreError) -> Int {
        try read { db in try SourceSampleRecord.fetchCount(db) }
    }
}

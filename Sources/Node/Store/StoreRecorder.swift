import NodeModels
import Foundation
import Logging
import ServiceLifecycle
import NIOConcurrencyHelpers
import TimeCore

/// The `StateRecorder` over a `NodeStore`: buffers samples, clock updates and events in memory and writes
/// them in one transaction every `flushInterval` (one fsync per batch, not per sample), prunes measurements
/// older than `retention`, and flushes what is left at shutdown. When writes fail (disk full) the rows stay
/// buffered up to `maxPending`; beyond that the oldest measurements are dropped and counted (events are kept).
/// A failing database is a state, not a stream of errors: logged when writes start failing and when they get
/// through again (not at every flush), and reported in status, so health and metrics can say so and clear
/// by themselves once a write succeeds.
public final class StoreRecorder: StateRecorder, Service {
    public let store: NodeStore
    public let retention: Double
    let flushInterval: Duration
    let maxPending: Int
    let logger: Logger

    private struct Pending {
        var samples: [SourceSampleRecord] = []
        var updates: [ClockUpdateRecord] = []
        var events: [EventRecord] = []
        var count: Int { samples.count + updates.count + events.count }
    }

    private struct Counters {
        var lastWrite: Double?
        /// Unix seconds of the last attempt to open the database again (see `reopenIfDue`).
        var lastReopen: Double?
        var events = 0
        var measurementsWritten: UInt64 = 0
        var dropped: UInt64 = 0
        var writeFailures: UInt64 = 0
        var lastError: String?
        /// Unix seconds since writes have been failing; nil while they get through.
        var failingSince: Double?
        var lastPrune: ContinuousClock.Instant?
    }

    private struct Observers {
        var sources = SourceTransitionTracker()
        var node = NodeEventObserver()
        var lastUpdates = 0
    }

    private let pending = NIOLockedValueBox(Pending())
    private let counters = NIOLockedValueBox(Counters())
    private let observers = NIOLockedValueBox(Observers())
    /// One flush at a time (the periodic task and the final flush at shutdown).
    private let flushing = NIOLockedValueBox(())

    public init(store: NodeStore, retention: Double = 604_800, flushInterval: Double = 5, maxPending: Int = 200_000, logger: Logger) throws(StoreError) {
        self.store = store
        self.retention = retention
        self.flushInterval = .milliseconds(Int64(max(flushInterval, 0.01) * 1_000))
        self.maxPending = maxPending
        self.logger = logger
        let events = try store.eventCount()
        counters.withLockedValue { $0.events = events }
    }

    // MARK: StateRecorder

    public func storedDrift() -> DriftFile.Contents? {
        do {
            return try store.drift().map { DriftFile.Contents(frequencyPPM: $0.frequencyPPM, skewPPM: $0.skewPPM) }
        } catch {
            logger.warning("cannot read the drift from the state database", metadata: ["error": "\(error)"])
            return nil
        }
    }

    public func lastStoredTime() -> Int64? {
        do {
            return try store.lastClockUpdateTime().map { Int64($0.rounded(.down)) }
        } catch {
            logger.warning("cannot read the last stored time from the state database", metadata: ["error": "\(error)"])
            return nil
        }
    }

    public func saveDrift(_ drift: DriftFile.Contents) {
        do {
            try store.saveDrift(frequencyPPM: drift.frequencyPPM, skewPPM: drift.skewPPM)
            counters.withLockedValue { $0.lastWrite = store.now() }
            succeeded()
        } catch {
            failed(error)
        }
    }

    public func recordSample(_ sample: SourceSampleRecord) {
        let dropped = pending.withLockedValue { pending in
            pending.samples.append(sample)
            return trim(&pending)
        }
        if dropped > 0 { counters.withLockedValue { $0.dropped += UInt64(dropped) } }
    }

    public func observe(_ timekeeping: TimekeepingStatus, local: LocalTime, utc: Double) {
        let tracking = timekeeping.tracking
        let (events, update) = observers.withLockedValue { observers -> ([EventRecord], ClockUpdateRecord?) in
            let events = observers.sources.transitions(timekeeping.sources, at: utc)
            guard tracking.updates != observers.lastUpdates else { return (events, nil) }
            observers.lastUpdates = tracking.updates
            let update = ClockUpdateRecord(
                local: local, utc: utc, offset: tracking.lastOffset, rmsOffset: tracking.rmsOffset,
                frequencyPPM: tracking.frequencyPPM, skewPPM: tracking.skewPPM, errorBound: tracking.errorBound,
                source: tracking.selected?.name, synchronized: tracking.synchronized, updates: tracking.updates)
            return (events, update)
        }
        guard !events.isEmpty || update != nil else { return }
        let dropped = pending.withLockedValue { pending in
            pending.events += events
            if let update { pending.updates.append(update) }
            return trim(&pending)
        }
        if dropped > 0 { counters.withLockedValue { $0.dropped += UInt64(dropped) } }
    }

    /// Journal events for certificate and key changes seen in the node's status.
    public func observe(node status: NodeStatus) {
        let events = observers.withLockedValue { $0.node.events(status, at: store.now()) }
        record(events)
    }

    /// Queues events for the next flush.
    public func record(_ events: [EventRecord]) {
        guard !events.isEmpty else { return }
        pending.withLockedValue { $0.events += events }
    }

    /// Drops the oldest measurements beyond `maxPending`; returns how many.
    private func trim(_ pending: inout Pending) -> Int {
        var dropped = 0
        while pending.count > maxPending, !(pending.samples.isEmpty && pending.updates.isEmpty) {
            let excess = pending.count - maxPending
            let samples = min(excess, pending.samples.count)
            pending.samples.removeFirst(samples)
            let updates = min(excess - samples, pending.updates.count)
            pending.updates.removeFirst(updates)
            dropped += samples + updates
        }
        return dropped
    }

    // MARK: Writing

    /// Writes everything buffered in one transaction; on failure the rows go back to the buffer.
    @discardableResult
    public func flush() -> Bool {
        flushing.withLockedValue { _ in
            let batch = pending.withLockedValue { pending in
                defer { pending = Pending() }
                return pending
            }
            guard batch.count > 0 else { return true }
            do {
                try store.append(samples: batch.samples, updates: batch.updates, events: batch.events)
                counters.withLockedValue {
                    $0.lastWrite = store.now()
                    $0.events += batch.events.count
                    $0.measurementsWritten += UInt64(batch.samples.count + batch.updates.count)
                }
                succeeded()
                return true
            } catch {
                failed(error)
                let dropped = pending.withLockedValue { pending in
                    pending.samples = batch.samples + pending.samples
                    pending.updates = batch.updates + pending.updates
                    pending.events = batch.events + pending.events
                    return trim(&pending)
                }
                counters.withLockedValue { $0.dropped += UInt64(dropped) }
                return false
            }
        }
    }

    /// Deletes measurements older than the retention.
    public func prune() {
        do {
            let deleted = try store.prune(retention: retention)
            counters.withLockedValue { $0.lastPrune = .now }
            if deleted > 0 { logger.debug("pruned measurement history", metadata: ["rows": "\(deleted)"]) }
        } catch {
            failed(error)
        }
    }

    /// A write failed: counted every time, logged only when the database goes from writable to failing.
    /// (A prune that deletes nothing proves nothing, so only flushes and drift saves clear the state.)
    private func failed(_ error: any Error) {
        let now = store.now()
        let first = counters.withLockedValue { counters -> Bool in
            counters.writeFailures += 1
            counters.lastError = "\(error)"
            defer { if counters.failingSince == nil { counters.failingSince = now } }
            return counters.failingSince == nil
        }
        if first {
            logger.error("state database cannot be written: keeping rows in memory and retrying at every flush", metadata: [
                "error": "\(error)", "file": "\(store.path)",
            ])
        } else {
            logger.debug("state database write failed again", metadata: ["error": "\(error)"])
        }
        reopenIfDue(after: error, now: now)
    }

    /// Seconds between attempts to open the database again while writes fail with a read-only or I/O error.
    static let reopenInterval: Double = 5

    /// A read-only or I/O error (SQLite 8, 10, 14) can outlive its cause: the filesystem went read-only
    /// under the node (ext4 `errors=remount-ro`), and once it is repaired and mounted again the database's
    /// open descriptors still point at the failed mount. So while such errors last, the database is opened
    /// again every few seconds; the next flush then writes through the new one. A full disk (SQLite 13)
    /// needs no reopening: the same descriptors work once there is room.
    private func reopenIfDue(after error: any Error, now: Double) {
        let text = "\(error)"
        guard ["(SQLite error 8)", "(SQLite error 10)", "(SQLite error 14)"].contains(where: text.contains) else { return }
        let due = counters.withLockedValue { counters -> Bool in
            guard now - (counters.lastReopen ?? 0) >= Self.reopenInterval else { return false }
            counters.lastReopen = now
            return true
        }
        guard due else { return }
        do {
            try store.reopen()
            logger.notice("state database opened again after a read-only or I/O error", metadata: ["file": "\(store.path)"])
        } catch {
            logger.debug("state database cannot be opened again yet", metadata: ["error": "\(error)"])
        }
    }

    /// A write made outside the recorder (an admin API key change) failed: counted and reported like the
    /// recorder's own, and cleared by the next write that gets through.
    public func failedWrite(_ reason: String) {
        failed(StoreWriteFailure(description: reason))
    }

    private struct StoreWriteFailure: Error, CustomStringConvertible {
        var description: String
    }

    /// A write got through: a failing database is writable again.
    private func succeeded() {
        let recovered = counters.withLockedValue { counters -> (since: Double, failures: UInt64)? in
            guard let since = counters.failingSince else { return nil }
            counters.failingSince = nil
            return (since, counters.writeFailures)
        }
        if let recovered {
            logger.notice("state database writable again", metadata: [
                "file": "\(store.path)", "failing_seconds": "\(Int(store.now() - recovered.since))", "write_failures": "\(recovered.failures)",
            ])
        }
    }

    /// Seconds between prunes: a tenth of the retention, at most an hour.
    var pruneInterval: Duration { .milliseconds(Int64(max(1, min(3_600, retention / 10)) * 1_000)) }

    public func run() async throws {
        record([EventRecord(at: store.now(), kind: .node, subject: "fleetnode", detail: "started (\(ProductVersion.current))")])
        prune()
        flush()
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: self.flushInterval)
                self.flush()
                let due = self.counters.withLockedValue { $0.lastPrune.map { ContinuousClock.now - $0 >= self.pruneInterval } ?? true }
                if due { self.prune() }
            }
        }
        record([EventRecord(at: store.now(), kind: .node, subject: "fleetnode", detail: "stopped")])
        flush()
    }

    public func status() -> StateStoreStatus {
        let waiting = pending.withLockedValue { $0.count }
        return counters.withLockedValue {
            StateStoreStatus(
                path: store.path, sizeBytes: store.sizeOnDisk(), lastWrite: $0.lastWrite, events: $0.events,
                measurementsWritten: $0.measurementsWritten, pending: waiting, dropped: $0.dropped,
                writeFailures: $0.writeFailures, lastError: $0.lastError, retentionSeconds: retention,
                failingSince: $0.failingSince)
        }
    }
}

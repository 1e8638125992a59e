import NodeModels
import TimeCore

/// What the time service hands to persistence. It keeps `TimeService` free of I/O: recording calls only
/// buffer (a flush task writes), and only the drift, read once at start and saved hourly and at shutdown,
/// touches the disk in the caller.
public protocol StateRecorder: Sendable {
    /// The frequency saved last, nil when none was (or the store cannot be read).
    func storedDrift() -> DriftFile.Contents?
    func saveDrift(_ drift: DriftFile.Contents)
    /// UTC of the newest clock update stored (written only while synchronised), nil when none: part of the
    /// node's floor (`TimeFloor`).
    func lastStoredTime() -> Int64?
    /// A sample a source's edge filed and the keeper accepted.
    func recordSample(_ sample: SourceSampleRecord)
    /// The timekeeping state after an update: a new discipline update becomes a clock row, a source's change
    /// of state a journal event.
    func observe(_ timekeeping: TimekeepingStatus, local: LocalTime, utc: Double)
}

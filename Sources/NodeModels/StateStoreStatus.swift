/// The node's state database as status reports it (`[state] database`): where it is, how big, whether
/// writes get through.
public struct StateStoreStatus: Codable, Sendable, Equatable {
    public var path: String
    /// Database plus WAL, bytes.
    public var sizeBytes: Int64
    /// Unix seconds of the last successful write; nil before the first.
    public var lastWrite: Double?
    /// Rows in the event journal.
    public var events: Int
    /// Samples and clock updates written since start.
    public var measurementsWritten: UInt64
    /// Rows waiting for the next flush, and rows dropped because the buffer was full (writes failing).
    public var pending: Int
    public var dropped: UInt64
    public var writeFailures: UInt64
    public var lastError: String?
    public var retentionSeconds: Double
    /// Unix seconds since writes have been failing (disk full, read-only, I/O errors); nil while they get
    /// through. Optional so that status from older nodes still decodes.
    public var failingSince: Double?

    /// Whether writes are failing now: health is degraded until one gets through.
    public var failing: Bool { failingSince != nil }

    public init(path: String, sizeBytes: Int64, lastWrite: Double?, events: Int, measurementsWritten: UInt64, pending: Int,
                dropped: UInt64, writeFailures: UInt64, lastError: String?, retentionSeconds: Double, failingSince: Double? = nil) {
        self.path = path
        self.sizeBytes = sizeBytes
        self.lastWrite = lastWrite
        self.events = events
        self.measurementsWritten = measurementsWritten
        self.pending = pending
        self.dropped = dropped
        self.writeFailures = writeFailures
        self.lastError = lastError
        self.retentionSeconds = retentionSeconds
        self.failingSince = failingSince
    }
}

import TimeCore

/// The node's timekeeping as status reports it: chronyc's tracking and sources views, the reference clocks'
/// own state (gpsd connection, fix, satellites, pulses) and the leap-second plan.
public struct TimekeepingStatus: Codable, Sendable, Equatable {
    public struct Refclock: Codable, Sendable, Equatable {
        public var name: String
        /// "gpsd", "shm" or "pps".
        public var driver: String
        /// Connected to gpsd / segment attached / device open.
        public var connected: Bool
        /// gpsd fix mode: 0 unknown, 1 no fix, 2 2D, 3 3D.
        public var fixMode: Int?
        public var satellitesUsed: Int?
        public var satellitesVisible: Int?
        /// Seconds since the last report (TPV, SHM sample, pulse).
        public var lastReportAge: Double?
        public var reports: UInt64
        public var reconnects: UInt64
        public var errors: UInt64
        /// The last problem, in words.
        public var note: String?

        public init(name: String, driver: String, connected: Bool = false, fixMode: Int? = nil, satellitesUsed: Int? = nil,
                    satellitesVisible: Int? = nil, lastReportAge: Double? = nil, reports: UInt64 = 0, reconnects: UInt64 = 0,
                    errors: UInt64 = 0, note: String? = nil) {
            self.name = name
            self.driver = driver
            self.connected = connected
            self.fixMode = fixMode
            self.satellitesUsed = satellitesUsed
            self.satellitesVisible = satellitesVisible
            self.lastReportAge = lastReportAge
            self.reports = reports
            self.reconnects = reconnects
            self.errors = errors
            self.note = note
        }
    }

    public struct Leap: Codable, Sendable, Equatable {
        /// Where the table came from, nil without one.
        public var file: String?
        /// Unix seconds.
        public var expires: Int64?
        public var expired: Bool
        /// The next leap (Unix seconds of the midnight it ends) and its sign.
        public var nextLeap: Int64?
        public var nextLeapInsert: Bool?
        /// "step" or "smear".
        public var mode: String
        public var note: String?

        public init(file: String?, expires: Int64?, expired: Bool, nextLeap: Int64?, nextLeapInsert: Bool?, mode: String, note: String?) {
            self.file = file
            self.expires = expires
            self.expired = expired
            self.nextLeap = nextLeap
            self.nextLeapInsert = nextLeapInsert
            self.mode = mode
            self.note = note
        }
    }

    public var tracking: TrackingReport
    public var sources: [SourceReport]
    public var refclocks: [Refclock]
    public var leap: Leap?

    public init(tracking: TrackingReport, sources: [SourceReport], refclocks: [Refclock], leap: Leap?) {
        self.tracking = tracking
        self.sources = sources
        self.refclocks = refclocks
        self.leap = leap
    }
}

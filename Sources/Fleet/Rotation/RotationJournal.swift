/// A rotation's journal as the admin host's database keeps it: the plan, the abort steps once an abort was
/// asked for, and a record for every step taken: `started` is written BEFORE the step's action, `done` or
/// `failed` after it. The state machine reads nothing else.
public struct RotationJournal: Sendable, Codable, Equatable {
    public struct Record: Sendable, Codable, Equatable {
        public enum Event: String, Sendable, Codable, Equatable {
            case started, done, failed
        }

        /// Index into `steps` (plan steps first, then abort steps).
        public var step: Int
        public var event: Event
        /// Unix seconds.
        public var time: Double
        public var message: String?

        public init(step: Int, event: Event, time: Double, message: String? = nil) {
            self.step = step
            self.event = event
            self.time = time
            self.message = message
        }
    }

    public var id: Int64
    public var plan: RotationPlan
    /// nil until `rotate abort`.
    public var abortSteps: [RotationStep]?
    /// What the abort could not undo, in words (said when it was planned).
    public var abortNotes: [String]
    public var records: [Record]

    public init(id: Int64, plan: RotationPlan, abortSteps: [RotationStep]? = nil, abortNotes: [String] = [], records: [Record] = []) {
        self.id = id
        self.plan = plan
        self.abortSteps = abortSteps
        self.abortNotes = abortNotes
        self.records = records
    }

    /// Plan steps, then abort steps.
    public var steps: [RotationStep] { plan.steps + (abortSteps ?? []) }

    public var isAborting: Bool { abortSteps != nil }

    /// Where one step stands, from its newest record.
    public enum StepState: Sendable, Equatable {
        case pending
        /// Started and not recorded as finished: the tool stopped during it. Taken again on resume.
        case interrupted
        case done(at: Double)
        /// Will be tried again on resume.
        case failed(String)
    }

    public func state(of step: Int) -> StepState {
        guard let last = records.last(where: { $0.step == step }) else { return .pending }
        switch last.event {
        case .started: return .interrupted
        case .done: return .done(at: last.time)
        case .failed: return .failed(last.message ?? "failed")
        }
    }

    public func isDone(_ step: Int) -> Bool {
        if case .done = state(of: step) { return true }
        return false
    }

    /// Whether the step's action may have reached a node (started at least once).
    public func wasTouched(_ step: Int) -> Bool { records.contains { $0.step == step } }
}

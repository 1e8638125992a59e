/// The rotation state machine: journal in, next step out. Steps run in plan order, one at a time; a step is
/// done only when its `done` record is in the journal, so a tool killed at any point resumes at the first
/// step not done and takes it again (every node action is idempotent). A failed step stops the rotation
/// there until `resume` tries it again. After `abort`, the abort steps run the same way instead.
public enum RotationMachine {
    public enum Next: Sendable, Equatable {
        /// Take step `index` now.
        case take(Int, RotationStep)
        /// Step `index` may only be taken at `until` (Unix seconds): the cookie lifetime wait.
        case wait(Int, RotationStep, until: Double)
        /// Every plan step is done.
        case finished
        /// Every abort step is done.
        case aborted
    }

    public static func next(_ journal: RotationJournal, now: Double) -> Next {
        let planCount = journal.plan.steps.count
        let steps = journal.steps
        let range = journal.isAborting ? planCount..<steps.count : 0..<planCount
        guard let index = range.first(where: { !journal.isDone($0) }) else {
            return journal.isAborting ? .aborted : .finished
        }
        let step = steps[index]
        if step.action == .waitCookieLifetime, !journal.isAborting {
            let since = index > 0 ? doneTime(journal, index - 1) ?? now : now
            let until = since + journal.plan.cookieLifetime
            if now < until { return .wait(index, step, until: until) }
        }
        return .take(index, step)
    }

    private static func doneTime(_ journal: RotationJournal, _ index: Int) -> Double? {
        if case .done(let at) = journal.state(of: index) { return at }
        return nil
    }

    /// Where the rotation stands, for `rotate status` and the exit code.
    public enum Phase: Sendable, Equatable {
        case running(next: Int)
        /// Stopped at a failed or interrupted step: `resume` takes it again.
        case stopped(at: Int, reason: String)
        case waiting(at: Int, until: Double)
        case finished
        case aborting(next: Int)
        case aborted

        public var isOver: Bool { self == .finished || self == .aborted }
    }

    public static func phase(_ journal: RotationJournal, now: Double) -> Phase {
        switch next(journal, now: now) {
        case .finished: return .finished
        case .aborted: return .aborted
        case .wait(let index, _, let until): return .waiting(at: index, until: until)
        case .take(let index, _):
            switch journal.state(of: index) {
            case .failed(let reason): return .stopped(at: index, reason: reason)
            case .interrupted: return .stopped(at: index, reason: "interrupted while it was being taken")
            default: return journal.isAborting ? .aborting(next: index) : .running(next: index)
            }
        }
    }

    /// Appends a record (the executor journals it before or after the action, as its event says).
    public static func record(_ journal: inout RotationJournal, step: Int, _ event: RotationJournal.Record.Event, at time: Double, message: String? = nil) {
        journal.records.append(.init(step: step, event: event, time: time, message: message))
    }
}

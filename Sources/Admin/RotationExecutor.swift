import Fleet
import Foundation

/// Runs a journaled rotation: asks the state machine for the next step, journals `started` (synced) BEFORE
/// taking it, takes it through `RotationStepRunner`, journals `done` or `failed` after. It stops at the first
/// failure (the journal says where and why; `rotate resume` takes that step again), when the cookie lifetime
/// wait is longer than `maximumWait` (resume later finishes it), or at the end. Progress goes to `output`,
/// one line per step: number, node, what, result, time.
public struct RotationExecutor: Sendable {
    public let inventory: Inventory
    public let store: AdminHostStore
    public let output: @Sendable (String) -> Void
    /// Waits up to this long in place; longer waits end the run (seconds).
    public var maximumWait: Double = 300

    /// Test hook: SIGKILL this process after step N (1-based) is journaled done, or, with "N-", after
    /// step N's action was taken but before it is journaled done.
    public static let killHookVariable = "FLEETCTL_TEST_KILL_AFTER_STEP"

    public init(inventory: Inventory, store: AdminHostStore, output: @escaping @Sendable (String) -> Void) {
        self.inventory = inventory
        self.store = store
        self.output = output
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Runs `journal` until it finishes, stops or must wait; returns where it stands.
    public func run(_ start: RotationJournal) async throws -> RotationJournal {
        var journal = start
        let access: SweepAccess
        do {
            access = try InventoryFile.access(for: inventory)
        } catch {
            throw Failure(description: "cannot prepare the connections: \(error)")
        }
        let runner = RotationStepRunner(inventory: inventory, access: access, plan: journal.plan, secrets: try store.rotationSecrets(journal.id))
        let hook = ProcessInfo.processInfo.environment[Self.killHookVariable]
        let total = journal.steps.count
        while true {
            let now = Date().timeIntervalSince1970
            switch RotationMachine.next(journal, now: now) {
            case .finished, .aborted:
                try store.closeRotation(journal.id)
                return journal
            case .wait(let index, _, let until):
                guard until - now <= maximumWait else { return journal }
                output("\(Self.number(index, total)) waiting \(DurationText.words(until - now)) for clients to renew their cookies")
                try await Task.sleep(for: .milliseconds(Int64((until - now) * 1000) + 50))
            case .take(let index, let step):
                try journalRecord(&journal, index, .started)
                let label = "\(Self.number(index, total)) \(step.describe(in: journal.plan))"
                let started = Date()
                let note: String
                do {
                    note = try await runner.perform(step)
                } catch {
                    if error.retakePrevious, index > 0 { try journalRecord(&journal, index - 1, .failed, message: error.description) }
                    try journalRecord(&journal, index, .failed, message: error.description)
                    output("\(label): FAILED: \(error.description)")
                    return journal
                }
                if hook == "\(index + 1)-" { kill(getpid(), SIGKILL) }
                try journalRecord(&journal, index, .done, message: note)
                output("\(label): \(note) (\(String(format: "%.2f", Date().timeIntervalSince(started))) s)")
                if hook == "\(index + 1)" { kill(getpid(), SIGKILL) }
            }
        }
    }

    private func journalRecord(_ journal: inout RotationJournal, _ index: Int, _ event: RotationJournal.Record.Event, message: String? = nil) throws {
        let record = RotationJournal.Record(step: index, event: event, time: Date().timeIntervalSince1970, message: message)
        do {
            try store.append(record, to: journal.id)
        } catch {
            throw Failure(description: "cannot write the rotation journal (\(store.path)): \(error); stopped before step \(index + 1)")
        }
        journal.records.append(record)
    }

    static func number(_ index: Int, _ total: Int) -> String {
        let width = String(total).count
        let text = String(index + 1)
        return "[" + String(repeating: " ", count: max(0, width - text.count)) + text + "/\(total)]"
    }
}

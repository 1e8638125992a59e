/// What `rotate abort` does: the undo of every step that may have reached a node, newest first, and what
/// cannot be undone. An abort is refused once a step that cannot be undone was started (a retired key, a
/// site sealing cookies with the new key): then only finishing the rotation brings the fleet back in step.
/// A certificate pushed where fleetctl never held the previous one is left in place and said so.
public struct RotationAbort: Sendable, Equatable {
    public var steps: [RotationStep]
    public var notes: [String]

    public init(steps: [RotationStep], notes: [String]) {
        self.steps = steps
        self.notes = notes
    }

    public static func plan(_ journal: RotationJournal) throws(RotationAbortRefusal) -> RotationAbort {
        guard !journal.isAborting else { throw RotationAbortRefusal("an abort is already under way: fleetctl rotate resume finishes it") }
        let plan = journal.plan
        if case .finished = RotationMachine.next(journal, now: .infinity) {
            throw RotationAbortRefusal("the rotation is finished: nothing to abort")
        }
        var steps: [RotationStep] = []
        var notes: [String] = []
        var blocking: [String] = []
        for index in plan.steps.indices.reversed() where journal.wasTouched(index) {
            let step = plan.steps[index]
            guard step.action.changesNode else { continue }
            if let undo = step.undo(in: plan) {
                steps.append(undo)
            } else if plan.kind == .certs, let node = step.node {
                notes.append("\(node) keeps the new certificate: fleetctl does not hold the previous one's key (install one with fleetctl certs install \(node))")
            } else {
                blocking.append(step.describe(in: plan))
            }
        }
        guard blocking.isEmpty else {
            throw RotationAbortRefusal(
                "cannot abort: these steps were taken and cannot be undone: \(blocking.reversed().joined(separator: "; ")). "
                    + "Going back would leave nodes out of step; fleetctl rotate resume finishes the rotation")
        }
        // Switch every node back before any node stops accepting the new key.
        if let lastRestore = steps.lastIndex(where: { if case .restoreSymmetricSendKey = $0.action { true } else { false } }),
           steps.contains(where: { $0.action == .unstageSymmetric }) {
            steps.insert(RotationStep(.verifySymmetricRestored), at: lastRestore + 1)
        }
        if steps.isEmpty, notes.isEmpty { notes.append("nothing had changed on any node") }
        return RotationAbort(steps: steps, notes: notes)
    }
}

/// Why an abort is not possible (nothing was changed by asking).
public struct RotationAbortRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

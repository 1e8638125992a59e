import TimeCore

/// A rotation in an operator's words: the plan (`--dry-run`, and before asking to start) and where it
/// stands (`rotate status`, progress lines). Pure text; no key material is ever part of a plan.
public enum RotationText {
    public static func plan(_ plan: RotationPlan) -> String {
        var lines = ["rotation of the \(plan.kind.title) of \(plan.site.map { "site \($0)" } ?? "every site"): \(plan.nodes.joined(separator: ", "))"]
        for change in plan.keyChanges {
            let old = change.oldIDs.map(String.init).joined(separator: ", ")
            lines.append("  site \(change.site): new key \(change.newID) (\(change.type)) replaces \(old.isEmpty ? "nothing" : "key " + old)")
        }
        for change in plan.certificates {
            lines.append("  \(change.node): new certificate \(change.new.sha256.prefix(16))…\(change.previous == nil ? " (previous not held here: a push cannot be undone)" : "")")
        }
        let irreversible = plan.firstIrreversibleStep
        for (index, step) in plan.steps.enumerated() {
            let mark = index == irreversible ? "  -- from here on, steps cannot be undone --\n" : ""
            lines.append("\(mark)  \(number(index, plan.steps.count)) \(step.describe(in: plan))")
        }
        return lines.joined(separator: "\n")
    }

    /// Every step with its state, then one line on where the rotation stands and what to do.
    public static func status(_ journal: RotationJournal, now: Double) -> String {
        let plan = journal.plan
        var lines = ["rotation \(journal.id): \(plan.kind.title) of \(plan.site.map { "site \($0)" } ?? "every site"), started \(ISODate.text(plan.created))"]
        let steps = journal.steps
        for (index, step) in steps.enumerated() {
            if index == plan.steps.count { lines.append("  abort:") }
            let state: String
            switch journal.state(of: index) {
            case .pending: state = journal.isAborting && index < plan.steps.count ? "skipped" : "pending"
            case .interrupted: state = "interrupted"
            case .done: state = "done"
            case .failed: state = "FAILED"
            }
            var line = "  \(number(index, steps.count)) \(state.padding(toLength: 11, withPad: " ", startingAt: 0)) \(step.describe(in: plan))"
            if case .failed(let message) = journal.state(of: index) { line += "\n        \(message)" }
            lines.append(line)
        }
        for note in journal.abortNotes { lines.append("  note: \(note)") }
        lines.append(summary(journal, now: now))
        return lines.joined(separator: "\n")
    }

    /// One line: where the rotation stands and the command that moves it on.
    public static func summary(_ journal: RotationJournal, now: Double) -> String {
        let plan = journal.plan
        let steps = journal.steps
        switch RotationMachine.phase(journal, now: now) {
        case .finished: return "finished: \(plan.kind.title) rotated on \(plan.nodes.joined(separator: ", "))"
        case .aborted: return "aborted: the previous state is back where it could be restored"
        case .running(let next): return "in progress: next step \(next + 1) of \(steps.count) (fleetctl rotate resume continues it)"
        case .aborting(let next): return "aborting: next step \(next + 1) of \(steps.count) (fleetctl rotate resume finishes the abort)"
        case .waiting(let index, let until):
            return "waiting until \(ISODate.text(until)) (\(DurationText.words(max(0, until - now))) from now) before step \(index + 1): "
                + "fleetctl rotate resume then finishes it"
        case .stopped(let index, let reason):
            let blocker = steps[index].node.map { " on \($0)" } ?? ""
            return "stopped at step \(index + 1)\(blocker): \(reason). Fix that, then fleetctl rotate resume"
                + (journal.isAborting ? "" : " (or fleetctl rotate abort)")
        }
    }

    private static func number(_ index: Int, _ count: Int) -> String {
        let width = String(count).count
        let text = String(index + 1)
        return String(repeating: " ", count: max(0, width - text.count)) + text + "."
    }
}

/// Unix seconds as UTC ISO 8601 ("2026-12-02T10:15:00Z"), without Foundation (the calendar is TimeCore's `UTCDate`).
public enum ISODate {
    public static func text(_ seconds: Double) -> String {
        let total = Int64(seconds.rounded(.down))
        let date = UTCDate(unix: total)
        let rest = total - date.daysSinceEpoch * UTCDate.secondsPerDay
        func two<T: BinaryInteger>(_ value: T) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(date.year)-\(two(date.month))-\(two(date.day))T\(two(rest / 3_600)):\(two(rest % 3_600 / 60)):\(two(rest % 60))Z"
    }
}

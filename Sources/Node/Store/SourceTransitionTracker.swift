import NodeModels
import TimeCore

/// Turns successive `sources` reports into journal events when a source's state changes (selected, combined,
/// not combined, falseticker, jittery, unusable, or unreachable: unusable with an empty reach register).
/// Every source starts as unreachable, so the first useful state is reported as a change from it.
struct SourceTransitionTracker: Sendable {
    private var labels: [String: String] = [:]

    static func label(_ report: SourceReport) -> String {
        report.state == .unusable && report.reach == 0 ? "unreachable" : report.state.rawValue
    }

    mutating func transitions(_ sources: [SourceReport], at utc: Double) -> [EventRecord] {
        var events: [EventRecord] = []
        for report in sources {
            let label = Self.label(report)
            let previous = labels[report.id.name] ?? "unreachable"
            labels[report.id.name] = label
            guard label != previous else { continue }
            var detail = "\(previous) -> \(label)"
            if let note = report.note, report.state == .unusable { detail += " (\(note))" }
            events.append(EventRecord(at: utc, kind: .source, subject: report.id.name, detail: detail))
        }
        return events
    }
}

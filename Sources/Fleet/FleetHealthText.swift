import TimeCore

/// `fleetctl health` for people: one line per node at a glance (colour only when asked, for a terminal),
/// every check with `-v`, and a closing line for the fleet.
public enum FleetHealthText {
    public static func render(_ health: FleetHealth, verbose: Bool = false, color: Bool = false) -> String {
        let header = ["NODE", "SITE", "STATUS", "ST", "REFERENCE", "OFFSET", "CERT", "REASON"]
        var rows: [[String]] = []
        for node in health.nodes {
            let first = node.reasons.sorted { $0.severity > $1.severity }.first
            var reason = first?.message ?? ""
            if node.reasons.count > 1, !verbose { reason += " (+\(node.reasons.count - 1) more)" }
            rows.append([
                node.node, node.site, node.verdict.rawValue, node.stratum.map(String.init) ?? "-", node.referenceID ?? "-",
                node.offsetFromMedian.map(HealthRules.formatOffset) ?? "-",
                node.certificateDaysLeft.map { "\(Int($0.rounded(.down)))d" } ?? "-", verbose ? "" : reason,
            ])
        }
        var widths = header.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        func line(_ cells: [String], verdict: HealthVerdict?) -> String {
            var text = ""
            for (index, cell) in cells.enumerated() {
                let padded = index == cells.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count + 2)
                text += index == 2 && color && verdict != nil ? paint(padded, verdict!) : padded
            }
            while text.hasSuffix(" ") { text.removeLast() }
            return text
        }
        var lines = [line(header, verdict: nil)]
        for (index, row) in rows.enumerated() {
            let node = health.nodes[index]
            lines.append(line(row, verdict: node.verdict))
            if verbose {
                for reason in node.reasons.sorted(by: { $0.severity > $1.severity }) {
                    lines.append("    \(color ? paint(reason.severity.rawValue, reason.severity) : reason.severity.rawValue)  \(reason.message)")
                }
                for check in node.passed { lines.append("    ok    \(check)") }
                lines.append("    (\(DecimalText.fixed(node.elapsed, places: 2)) s)")
            }
        }
        for reason in health.reasons {
            lines.append("fleet: \(reason.severity.rawValue) \(reason.message)")
        }
        var counts: [String] = []
        for verdict in HealthVerdict.allCases {
            let count = health.nodes.filter { $0.verdict == verdict }.count
            if count > 0 { counts.append("\(count) \(verdict.rawValue)") }
        }
        let median = health.medianOffset.map { ", median offset from this host \(HealthRules.formatOffset($0))" } ?? ""
        let verdict = color ? paint(health.verdict.rawValue, health.verdict) : health.verdict.rawValue
        lines.append("fleet \(verdict): \(health.nodes.count) node\(health.nodes.count == 1 ? "" : "s") (\(counts.joined(separator: ", ")))\(median), swept in \(DecimalText.fixed(health.elapsed, places: 2)) s")
        return lines.joined(separator: "\n")
    }

    private static func paint(_ text: String, _ verdict: HealthVerdict) -> String {
        let code = switch verdict {
        case .ok: "32"
        case .warning: "33"
        case .critical: "31"
        case .unknown: "35"
        }
        return "\u{1B}[\(code)m\(text)\u{1B}[0m"
    }
}

import NodeModels
import TimeCore

/// `fleetctl report` as one self-contained HTML page (inline CSS and SVG, no script, nothing fetched), and
/// as a text summary for a terminal or a mail.
public enum SiteReportHTML {
    /// Series colours, one per node (Tableau 10), and the plot areas' backgrounds.
    static let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
    /// One plot of the page: a figure of the clock's history, in a unit.
    public struct Plot: Sendable {
        public var title: String
        public var unit: String
        public var scale: Double
        /// The plot area's colour (a screenshot test finds each plot by it).
        public var background: String
        public var value: @Sendable (AdminHistory.Point) -> Double
    }

    public static let plots: [Plot] = [
        Plot(title: "Offset", unit: "µs", scale: 1e6, background: "#eaf2fb", value: { $0.offset }),
        Plot(title: "Jitter (RMS offset)", unit: "µs", scale: 1e6, background: "#fbeeea", value: { $0.jitter }),
        Plot(title: "Frequency", unit: "ppm", scale: 1, background: "#ecf7ec", value: { $0.frequencyPPM }),
    ]

    public static func render(_ report: SiteReport, timeText: (Double) -> String) -> String {
        var html = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>Site report: \(escape(report.health.verdict.rawValue))</title>
            <style>
            body { font-family: sans-serif; margin: 24px; color: #222; }
            table { border-collapse: collapse; margin: 12px 0 24px; }
            th, td { border-bottom: 1px solid #ddd; padding: 4px 10px; text-align: left; font-size: 13px; }
            th { background: #f4f4f4; }
            .OK { color: #1a7f1a; font-weight: bold; } .WARN { color: #b26b00; font-weight: bold; }
            .CRIT { color: #c0182a; font-weight: bold; } .UNKNOWN { color: #8a2be2; font-weight: bold; }
            .reasons { color: #555; font-size: 12px; }
            </style></head><body>
            <h1>Site report <span class="\(report.health.verdict.rawValue)">\(report.health.verdict.rawValue)</span></h1>
            <p>Generated \(escape(timeText(report.generated))) by fleetctl; \(report.nodes.count) nodes swept in \(DecimalText.fixed(report.health.elapsed, places: 2)) s.</p>

            """
        for reason in report.health.reasons {
            html += "<p class=\"\(reason.severity.rawValue)\">\(escape(reason.message))</p>\n"
        }
        html += "<table><tr><th>Node</th><th>Site</th><th>Status</th><th>Stratum</th><th>Reference</th><th>Offset</th><th>From median</th>"
            + "<th>Frequency</th><th>Jitter</th><th>GPS</th><th>PPS</th><th>Holdover</th><th>Certificate</th><th>Cookie key age</th><th>Sibling keys</th></tr>\n"
        for node in report.nodes {
            var cells: [String] = [escape(node.name), escape(node.site), "<span class=\"\(node.verdict.rawValue)\">\(node.verdict.rawValue)</span>"]
            cells.append(node.stratum.map(String.init) ?? "-")
            cells.append(escape(node.reference ?? "-"))
            cells.append(node.offset.map(HealthRules.formatOffset) ?? "-")
            cells.append(node.offsetFromMedian.map(HealthRules.formatOffset) ?? "-")
            cells.append(node.frequencyPPM.map { "\(DecimalText.fixed($0, places: 3)) ppm" } ?? "-")
            cells.append(node.jitter.map { String(HealthRules.formatOffset($0).dropFirst()) } ?? "-")
            cells.append(escape(node.gps ?? "-"))
            cells.append(escape(node.pps ?? "-"))
            cells.append(node.holdoverSeconds.map { HealthRules.durationText($0) } ?? "no")
            cells.append(node.certificateDaysLeft.map { "\(Int($0.rounded(.down))) days" } ?? "-")
            cells.append(node.cookieKeyAgeSeconds.map { HealthRules.durationText(Double($0)) } ?? "-")
            cells.append(node.symmetricKeys.isEmpty ? "-" : node.symmetricKeys.map(String.init).joined(separator: ", "))
            html += "<tr>" + cells.map { "<td>\($0)</td>" }.joined() + "</tr>\n"
            if !node.reasons.isEmpty {
                html += "<tr><td></td><td colspan=\"14\" class=\"reasons\">" + node.reasons.map(escape).joined(separator: "<br>") + "</td></tr>\n"
            }
        }
        html += "</table>\n<h2>The last \(DecimalText.fixed(report.hours, places: report.hours < 2 ? 2 : 0)) hours</h2>\n"
        let end = report.generated
        let start = end - report.hours * 3_600
        for plot in plots {
            let series = report.nodes.enumerated().map { index, node in
                SVGPlot.Series(name: node.name, color: palette[index % palette.count], points: node.history.map { ($0.utc, plot.value($0)) })
            }
            var svg = SVGPlot(title: plot.title, unit: plot.unit, scale: plot.scale, background: plot.background)
            svg.width = 860
            html += "<div class=\"plot\">" + svg.render(series, from: start, to: end) + "</div>\n"
        }
        let notes = report.nodes.compactMap { node in node.historyNote.map { "\(node.name): \($0)" } }
        if !notes.isEmpty {
            html += "<p class=\"reasons\">No history from " + notes.map(escape).joined(separator: "; ") + "</p>\n"
        }
        return html + "</body></html>\n"
    }

    /// The report as text: the sweep's table and, per node, the figures the page shows.
    public static func text(_ report: SiteReport) -> String {
        var lines = [FleetHealthText.render(report.health), ""]
        for node in report.nodes {
            var parts: [String] = []
            if let frequency = node.frequencyPPM { parts.append("frequency \(DecimalText.fixed(frequency, places: 3)) ppm") }
            if let jitter = node.jitter { parts.append("jitter \(HealthRules.formatOffset(jitter).dropFirst())") }
            if let gps = node.gps { parts.append("GPS \(gps)") }
            if let pps = node.pps { parts.append("PPS \(pps)") }
            if let age = node.cookieKeyAgeSeconds { parts.append("cookie key \(HealthRules.durationText(Double(age))) old") }
            parts.append("\(node.history.count) history points")
            lines.append("\(node.name): " + parts.joined(separator: ", "))
        }
        return lines.joined(separator: "\n")
    }
}


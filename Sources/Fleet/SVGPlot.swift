import TimeCore

/// A small line plot as inline SVG (no script, no external file: the report is one self-contained page).
/// One line per series over a shared time axis; the plot area has its own background colour, so a test
/// can find it in a screenshot and check that lines were drawn inside it.
public struct SVGPlot: Sendable {
    public struct Series: Sendable {
        public var name: String
        public var color: String
        /// (Unix seconds, value) in time order.
        public var points: [(Double, Double)]
        public init(name: String, color: String, points: [(Double, Double)]) {
            self.name = name
            self.color = color
            self.points = points
        }
    }

    public var title: String
    public var unit: String
    /// Values are multiplied by this before plotting (1e6 for seconds shown in µs).
    public var scale: Double
    public var background: String
    public var width = 860.0
    public var height = 220.0

    public init(title: String, unit: String, scale: Double = 1, background: String) {
        self.title = title
        self.unit = unit
        self.scale = scale
        self.background = background
    }

    public func render(_ series: [Series], from start: Double, to end: Double) -> String {
        let left = 70.0, right = 150.0, top = 26.0, bottom = 28.0
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let values = series.flatMap { $0.points.map { $0.1 * scale } }.filter(\.isFinite)
        var low = values.min() ?? 0, high = values.max() ?? 1
        if high - low < 1e-12 { low -= 1; high += 1 }
        let margin = (high - low) * 0.08
        low -= margin
        high += margin
        let span = max(end - start, 1)
        func x(_ t: Double) -> Double { left + (t - start) / span * plotWidth }
        func y(_ v: Double) -> Double { top + (high - v) / (high - low) * plotHeight }
        func number(_ value: Double) -> String { DecimalText.fixed(value, places: 1) }

        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" role=\"img\" aria-label=\"\(escape(title))\">"
        svg += "<text x=\"\(Int(left))\" y=\"17\" font-size=\"13\" font-family=\"sans-serif\" fill=\"#222\">\(escape(title)) (\(escape(unit)))</text>"
        svg += "<rect class=\"plot-area\" x=\"\(number(left))\" y=\"\(number(top))\" width=\"\(number(plotWidth))\" height=\"\(number(plotHeight))\" fill=\"\(background)\"/>"
        for tick in 0...4 {
            let value = low + (high - low) * Double(tick) / 4
            let ty = y(value)
            svg += "<line x1=\"\(number(left))\" x2=\"\(number(left + plotWidth))\" y1=\"\(number(ty))\" y2=\"\(number(ty))\" stroke=\"#ffffff\" stroke-width=\"1\"/>"
            svg += "<text x=\"\(number(left - 6))\" y=\"\(number(ty + 4))\" font-size=\"10\" font-family=\"sans-serif\" text-anchor=\"end\" fill=\"#555\">\(label(value))</text>"
        }
        let hours = span / 3_600
        svg += "<text x=\"\(number(left))\" y=\"\(number(height - 8))\" font-size=\"10\" font-family=\"sans-serif\" fill=\"#555\">-\(DecimalText.fixed(hours, places: hours < 2 ? 2 : 0)) h</text>"
        svg += "<text x=\"\(number(left + plotWidth))\" y=\"\(number(height - 8))\" font-size=\"10\" font-family=\"sans-serif\" text-anchor=\"end\" fill=\"#555\">now</text>"
        for (index, line) in series.enumerated() {
            let points = line.points.filter { ($0.1 * scale).isFinite && $0.0 >= start && $0.0 <= end }
            if points.count > 1 {
                let path = points.map { "\(number(x($0.0))),\(number(y($0.1 * scale)))" }.joined(separator: " ")
                svg += "<polyline fill=\"none\" stroke=\"\(line.color)\" stroke-width=\"2\" points=\"\(path)\"/>"
            } else if let point = points.first {
                svg += "<circle cx=\"\(number(x(point.0)))\" cy=\"\(number(y(point.1 * scale)))\" r=\"3\" fill=\"\(line.color)\"/>"
            }
            let ly = top + 14 + Double(index) * 16
            svg += "<rect x=\"\(number(left + plotWidth + 12))\" y=\"\(number(ly - 9))\" width=\"12\" height=\"4\" fill=\"\(line.color)\"/>"
            svg += "<text x=\"\(number(left + plotWidth + 30))\" y=\"\(number(ly - 3))\" font-size=\"11\" font-family=\"sans-serif\" fill=\"#222\">\(escape(line.name))</text>"
        }
        if series.allSatisfy({ $0.points.isEmpty }) {
            svg += "<text x=\"\(number(left + plotWidth / 2))\" y=\"\(number(top + plotHeight / 2))\" font-size=\"12\" font-family=\"sans-serif\" text-anchor=\"middle\" fill=\"#777\">no history stored</text>"
        }
        return svg + "</svg>"
    }

    private func label(_ value: Double) -> String {
        let magnitude = abs(value)
        return DecimalText.fixed(value, places: magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : magnitude >= 1 ? 2 : 3)
    }
}

/// Text safe inside HTML and SVG.
func escape(_ text: String) -> String {
    var result = ""
    for character in text {
        switch character {
        case "&": result += "&amp;"
        case "<": result += "&lt;"
        case ">": result += "&gt;"
        case "\"": result += "&quot;"
        case "'": result += "&#39;"
        default: result.append(character)
        }
    }
    return result
}

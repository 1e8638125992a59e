/// Fixed-point decimal text for notes, status and reports (no Foundation in the cores).
public enum DecimalText {
    /// `value` rounded to `places` decimals (0 to 9): "1.250", "-0.5".
    public static func fixed(_ value: Double, places: Int) -> String {
        let places = min(max(places, 0), 9)
        var scale: Int64 = 1
        for _ in 0..<places { scale *= 10 }
        let scaled = (value * Double(scale)).rounded()
        guard scaled.isFinite, abs(scaled) < 1e15 else { return "\(value)" }
        let whole = Int64(scaled)
        let sign = whole < 0 ? "-" : ""
        let magnitude = whole.magnitude
        guard places > 0 else { return "\(sign)\(magnitude)" }
        let fraction = String(magnitude % UInt64(scale))
        return "\(sign)\(magnitude / UInt64(scale)).\(String(repeating: "0", count: places - fraction.count))\(fraction)"
    }
}

extension Double {
    /// Three decimals, for notes.
    var formatted3: String { DecimalText.fixed(self, places: 3) }
}

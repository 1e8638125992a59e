extension Double {
    /// Three decimals, for notes (no Foundation in the core).
    var formatted3: String {
        let scaled = (self * 1000).rounded()
        guard scaled.isFinite, abs(scaled) < 1e15 else { return "\(self)" }
        let whole = Int64(scaled)
        let sign = whole < 0 ? "-" : ""
        let magnitude = whole.magnitude
        let fraction = String(magnitude % 1000)
        return "\(sign)\(magnitude / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"
    }
}

import Foundation
import NTPCore
import TimeCore

/// chronyc-style text for the timekeeping views (`tracking`, `sources`), shared by the node's status
/// command and the admin tool so an operator reads the same layout everywhere.
public enum TimekeepingText {
    public static func tracking(_ t: TrackingReport, refclocks: [TimekeepingStatus.Refclock] = [], leap: TimekeepingStatus.Leap? = nil) -> [String] {
        var lines: [String] = []
        let reference = ReferenceID(rawValue: t.referenceID)
        let name = t.selected?.name ?? (t.holdoverSeconds != nil ? "none (holdover)" : "none")
        lines.append("Reference ID    : \(String(format: "%08X", t.referenceID)) (\(t.stratum == 1 ? reference.description : name))")
        lines.append("Stratum         : \(t.stratum)")
        lines.append("Selected source : \(name)\(t.reason.map { " (\($0))" } ?? "")")
        lines.append("Last offset     : \(signed(t.lastOffset)) seconds")
        lines.append("RMS offset      : \(fixed(t.rmsOffset)) seconds")
        lines.append("Frequency       : \(fixed(abs(t.frequencyPPM), 3)) ppm \(t.frequencyPPM >= 0 ? "fast" : "slow") (served time against the local oscillator)")
        lines.append("Skew            : \(fixed(t.skewPPM, 3)) ppm")
        lines.append("Root delay      : \(fixed(t.rootDelay)) seconds")
        lines.append("Root dispersion : \(fixed(t.rootDispersion)) seconds")
        lines.append("Update interval : \(fixed(t.updateInterval, 1)) seconds; last \(t.lastUpdateAge.map { "\(fixed($0, 1)) s ago" } ?? "never"), \(t.updates) updates, \(t.steps) steps")
        lines.append("Leap status     : \(leapText(t.leap))")
        if let holdover = t.holdoverSeconds, !t.synchronized {
            // Beyond the holdover limit: served as unsynchronised, so no bound is claimed for clients.
            lines.append("Holdover        : \(fixed(holdover, 0)) seconds, beyond the holdover limit: unsynchronised")
        } else if let holdover = t.holdoverSeconds {
            lines.append("Holdover        : \(fixed(holdover, 0)) seconds, error bound \(t.errorBound.map { fixed($0) + " seconds" } ?? "unknown")")
        } else if !t.synchronized {
            lines.append("Error bound     : unknown (unsynchronised)")
        } else {
            lines.append("Error bound     : \(t.errorBound.map { fixed($0) + " seconds" } ?? "unknown")")
        }
        if let floor = t.floor {
            lines.append("Floor           : \(date(floor)) (\(t.floorOrigin ?? "unknown")): no time below it is believed")
        }
        for refclock in refclocks {
            var parts = [refclock.driver, refclock.connected ? "connected" : "not connected"]
            if let mode = refclock.fixMode { parts.append(["fix unknown", "no fix", "2D fix", "3D fix"][min(3, max(0, mode))]) }
            if let used = refclock.satellitesUsed { parts.append("\(used)/\(refclock.satellitesVisible ?? used) satellites") }
            if let age = refclock.lastReportAge { parts.append("last report \(fixed(age, 1)) s ago") }
            parts.append("\(refclock.reports) reports, \(refclock.reconnects) reconnects, \(refclock.errors) errors")
            if let note = refclock.note { parts.append(note) }
            lines.append("Refclock \(refclock.name.padding(toLength: 7, withPad: " ", startingAt: 0)): \(parts.joined(separator: ", "))")
        }
        if let leap {
            var text = "mode \(leap.mode)"
            if let file = leap.file { text += ", table \(file)" }
            if let expires = leap.expires { text += leap.expired ? ", EXPIRED" : ", expires \(date(expires))" }
            if let next = leap.nextLeap { text += ", next: \(leap.nextLeapInsert == false ? "delete" : "insert") before \(date(next))" }
            if let note = leap.note { text += " (\(note))" }
            lines.append("Leap seconds    : \(text)")
        }
        return lines
    }

    /// `chronyc sources`: state symbol, name, stratum, reach (octal), last sample age, offset and jitter.
    public static func sources(_ sources: [SourceReport]) -> [String] {
        var lines = ["S Name/address             Stratum Reach LastRx     Offset     Jitter  Note"]
        lines.append(String(repeating: "=", count: 78))
        for source in sources {
            let name = source.id.name.count > 24 ? String(source.id.name.prefix(23)) + "…" : source.id.name.padding(toLength: 24, withPad: " ", startingAt: 0)
            let stratum = source.kind.isReferenceClock ? 0 : Int(source.stratum)
            let age = source.lastSampleAge.map { ageText($0) } ?? "-"
            let offset = source.offset.map(shortTime) ?? "-"
            let jitter = source.jitter.map(shortTime) ?? "-"
            lines.append("\(source.state.symbol) \(name) \(pad(String(stratum), 7)) \(pad(String(source.reach, radix: 8), 5)) \(pad(age, 6)) \(pad(offset, 10)) \(pad(jitter, 10))  \(source.note ?? "")\(dropText(source))\(interleaveText(source))")
        }
        return lines
    }

    /// " [xleave: interleaved, 40 interleaved/2 basic samples, 1 bogus]" for a source polled with `xleave`.
    static func interleaveText(_ source: SourceReport) -> String {
        guard let interleaved = source.interleaved else { return "" }
        var text = " [xleave: \(interleaved ? "interleaved" : "basic")"
        if let samples = source.interleavedSamples, let basic = source.basicSamples {
            text += ", \(samples) interleaved/\(basic) basic samples"
        }
        if let bogus = source.bogusResponses, bogus > 0 { text += ", \(bogus) bogus" }
        return text + "]"
    }

    /// " [dropped: 12 jumped, 3 below floor]" when a reference clock's samples were held or refused.
    static func dropText(_ source: SourceReport) -> String {
        var parts: [String] = []
        if let jumped = source.droppedJumped, jumped > 0 { parts.append("\(jumped) jumped") }
        if let floor = source.droppedBelowFloor, floor > 0 { parts.append("\(floor) below floor") }
        return parts.isEmpty ? "" : " [dropped: \(parts.joined(separator: ", "))]"
    }

    /// `chronyc sourcestats`: samples held (NP), runs of residual signs (NR), the time they span, the
    /// source's frequency against the served clock and its standard error (ppm), the filter's offset and
    /// its standard deviation. A source with fewer than three samples shows dashes where a fit is needed.
    public static func sourcestats(_ sources: [SourceReport]) -> [String] {
        var lines = ["Name/IP Address            NP  NR  Span  Frequency  Freq Skew  Offset  Std Dev"]
        lines.append(String(repeating: "=", count: 78))
        for source in sources {
            let name = source.id.name.count > 25 ? String(source.id.name.prefix(24)) + "…" : source.id.name.padding(toLength: 25, withPad: " ", startingAt: 0)
            let stats = source.statistics
            let runs = stats.map { String($0.runs) } ?? "-"
            let span = stats.map { ageText($0.span) } ?? "-"
            let frequency = stats.map { String(format: "%+.3f", $0.frequencyPPM) } ?? "-"
            let skew = stats.map { String(format: "%.3f", $0.skewPPM) } ?? "-"
            let offset = source.offset.map(shortTime) ?? "-"
            let jitter = source.jitter.map { shortTime($0).replacingOccurrences(of: "+", with: "") } ?? "-"
            lines.append("\(name) \(pad(String(source.samples), 3)) \(pad(runs, 3)) \(pad(span, 5)) \(pad(frequency, 10)) \(pad(skew, 10)) \(pad(offset, 7)) \(pad(jitter, 8))")
        }
        return lines
    }

    static func leapText(_ value: UInt8) -> String {
        switch value {
        case 0: "Normal"
        case 1: "Insert second"
        case 2: "Delete second"
        default: "Not synchronised"
        }
    }

    static func ageText(_ seconds: Double) -> String {
        if seconds < 1_000 { return "\(Int(seconds))s" }
        if seconds < 60_000 { return "\(Int(seconds / 60))m" }
        return "\(Int(seconds / 3_600))h"
    }

    /// Like chronyc: the value in ns, us or ms with its unit.
    static func shortTime(_ seconds: Double) -> String {
        let magnitude = abs(seconds)
        let sign = seconds < 0 ? "-" : "+"
        if magnitude < 1e-6 { return "\(sign)\(Int((magnitude * 1e9).rounded()))ns" }
        if magnitude < 1e-3 { return "\(sign)\(Int((magnitude * 1e6).rounded()))us" }
        if magnitude < 1 { return "\(sign)\(Int((magnitude * 1e3).rounded()))ms" }
        if magnitude < 1_000 { return "\(sign)\(String(format: "%.1f", magnitude))s" }
        // Whole seconds beyond that (a week-number rollover is 619315200 s); never trap on absurd values.
        return magnitude < 9e18 ? "\(sign)\(Int64(magnitude.rounded()))s" : "\(sign)\(magnitude)s"
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
    }

    static func fixed(_ value: Double, _ digits: Int = 9) -> String {
        value.isFinite ? String(format: "%.\(digits)f", value) : "unknown"
    }

    static func signed(_ value: Double) -> String {
        value.isFinite ? String(format: "%+.9f", value) : "unknown"
    }

    static func date(_ unix: Int64) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss 'UTC'"
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(unix)))
    }
}

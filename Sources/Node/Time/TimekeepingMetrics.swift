import NodeModels
import Metrics
import Synchronization
import TimeCore

/// The time service's state as swift-metrics gauges, updated once a second; Prometheus names in base units
/// (seconds, plain ratios), one time series per source and reference clock.
final class TimekeepingMetrics: Sendable {
    private let synchronized = Gauge(label: "fleetnode_synchronized")
    private let stratum = Gauge(label: "fleetnode_stratum")
    private let lastOffset = Gauge(label: "fleetnode_clock_last_offset_seconds")
    private let rmsOffset = Gauge(label: "fleetnode_clock_rms_offset_seconds")
    private let frequency = Gauge(label: "fleetnode_clock_frequency_ratio")
    private let skew = Gauge(label: "fleetnode_clock_skew_ratio")
    private let rootDelay = Gauge(label: "fleetnode_root_delay_seconds")
    private let rootDispersion = Gauge(label: "fleetnode_root_dispersion_seconds")
    private let errorBound = Gauge(label: "fleetnode_clock_error_bound_seconds")
    private let holdover = Gauge(label: "fleetnode_holdover_seconds")
    private let perSource = Mutex<[String: [Gauge]]>([:])
    private let perRefclock = Mutex<[String: [Gauge]]>([:])

    func record(_ status: TimekeepingStatus) {
        let t = status.tracking
        synchronized.record(t.synchronized ? 1 : 0)
        stratum.record(Double(t.stratum))
        lastOffset.record(t.lastOffset)
        rmsOffset.record(t.rmsOffset)
        frequency.record(t.frequencyPPM * 1e-6)
        skew.record(t.skewPPM * 1e-6)
        rootDelay.record(t.rootDelay)
        rootDispersion.record(t.rootDispersion)
        if let bound = t.errorBound { errorBound.record(bound) }
        holdover.record(t.holdoverSeconds ?? 0)
        for source in status.sources {
            let gauges = perSource.withLock { table in
                if let existing = table[source.id.name] { return existing }
                let dimensions = [("source", source.id.name)]
                let made = [
                    Gauge(label: "fleetnode_source_offset_seconds", dimensions: dimensions),
                    Gauge(label: "fleetnode_source_jitter_seconds", dimensions: dimensions),
                    Gauge(label: "fleetnode_source_reach", dimensions: dimensions),
                    Gauge(label: "fleetnode_source_selected", dimensions: dimensions),
                ]
                table[source.id.name] = made
                return made
            }
            if let offset = source.offset { gauges[0].record(offset) }
            if let jitter = source.jitter { gauges[1].record(jitter) }
            gauges[2].record(Double(source.reach))
            gauges[3].record(source.state == .selected ? 1 : 0)
        }
        for refclock in status.refclocks {
            let gauges = perRefclock.withLock { table in
                if let existing = table[refclock.name] { return existing }
                let dimensions = [("refclock", refclock.name)]
                let made = [
                    Gauge(label: "fleetnode_refclock_connected", dimensions: dimensions),
                    Gauge(label: "fleetnode_gps_fix_mode", dimensions: dimensions),
                    Gauge(label: "fleetnode_gps_satellites_used", dimensions: dimensions),
                    Gauge(label: "fleetnode_refclock_last_report_age_seconds", dimensions: dimensions),
                ]
                table[refclock.name] = made
                return made
            }
            gauges[0].record(refclock.connected ? 1 : 0)
            if let mode = refclock.fixMode { gauges[1].record(Double(mode)) }
            if let used = refclock.satellitesUsed { gauges[2].record(Double(used)) }
            if let age = refclock.lastReportAge { gauges[3].record(age) }
        }
    }
}

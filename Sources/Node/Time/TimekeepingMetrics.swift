import NodeModels
import Metrics
import NIOConcurrencyHelpers
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
    private let perSource = NIOLockedValueBox<[String: [Gauge]]>([:])
    /// Per source: the counters of samples dropped as part of a held jump and as below the floor, and the
    /// totals already counted (the keeper reports totals since start; counters take the increase).
    private let drops = NIOLockedValueBox<[String: (jumped: Counter, belowFloor: Counter, counted: (UInt64, UInt64))]>([:])
    private let perRefclock = NIOLockedValueBox<[String: [Gauge]]>([:])
    /// Per source polled with `xleave`: whether its newest sample came from an interleaved answer, and the
    /// answers dropped for an origin that was neither of the request's values (with the total counted).
    private let interleaving = NIOLockedValueBox<[String: (interleaved: Gauge, bogus: Counter, counted: UInt64)]>([:])

    /// `fleetnode_source_interleaved` (1 while the source answers in interleaved mode, RFC 9769) and
    /// `fleetnode_source_bogus_responses_total`: a rising count means stale, duplicated or spoofed answers.
    private func recordInterleaving(_ source: SourceReport) {
        guard let interleaved = source.interleaved else { return }
        let bogus = source.bogusResponses ?? 0
        interleaving.withLockedValue { table in
            let dimensions = [("source", source.id.name)]
            var entry = table[source.id.name] ?? (
                Gauge(label: "fleetnode_source_interleaved", dimensions: dimensions),
                Counter(label: "fleetnode_source_bogus_responses_total", dimensions: dimensions), 0)
            entry.interleaved.record(interleaved ? 1 : 0)
            if bogus > entry.counted { entry.bogus.increment(by: Int64(bogus - entry.counted)) }
            entry.counted = max(bogus, entry.counted)
            table[source.id.name] = entry
        }
    }

    /// `fleetnode_source_dropped_jumped_total` and `fleetnode_source_dropped_below_floor_total`: a receiver
    /// that jumped (a week-number rollover, a firmware bug) or names a date before the floor, as a rate
    /// monitoring can alert on, rather than totals in status only.
    private func recordDrops(_ source: SourceReport) {
        let jumped = source.droppedJumped ?? 0, belowFloor = source.droppedBelowFloor ?? 0
        drops.withLockedValue { table in
            let dimensions = [("source", source.id.name)]
            var entry = table[source.id.name] ?? (
                Counter(label: "fleetnode_source_dropped_jumped_total", dimensions: dimensions),
                Counter(label: "fleetnode_source_dropped_below_floor_total", dimensions: dimensions), (0, 0))
            if jumped > entry.counted.0 { entry.jumped.increment(by: Int64(jumped - entry.counted.0)) }
            if belowFloor > entry.counted.1 { entry.belowFloor.increment(by: Int64(belowFloor - entry.counted.1)) }
            entry.counted = (max(jumped, entry.counted.0), max(belowFloor, entry.counted.1))
            table[source.id.name] = entry
        }
    }

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
            let gauges = perSource.withLockedValue { table in
                if let existing = table[source.id.name] { return existing }
                let dimensions = [("source", source.id.name)]
                let made = [
                    Gauge(label: "fleetnode_source_offset_seconds", dimensions: dimensions),
                    Gauge(label: "fleetnode_source_jitter_seconds", dimensions: dimensions),
                    Gauge(label: "fleetnode_source_reach", dimensions: dimensions),
                    Gauge(label: "fleetnode_source_selected", dimensions: dimensions),
                    Gauge(label: "fleetnode_source_jump_held", dimensions: dimensions),
                    Gauge(label: "fleetnode_source_below_floor", dimensions: dimensions),
                ]
                table[source.id.name] = made
                return made
            }
            if let offset = source.offset { gauges[0].record(offset) }
            if let jitter = source.jitter { gauges[1].record(jitter) }
            gauges[2].record(Double(source.reach))
            gauges[3].record(source.state == .selected ? 1 : 0)
            gauges[4].record(source.heldJump == nil ? 0 : 1)
            gauges[5].record(source.belowFloor == true ? 1 : 0)
            recordDrops(source)
            recordInterleaving(source)
        }
        for refclock in status.refclocks {
            let gauges = perRefclock.withLockedValue { table in
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

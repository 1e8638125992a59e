import CFleetShim
import NodeModels
import Metrics
import NTPCore
import NIOConcurrencyHelpers

/// The NTP server's counters: kept exactly for status (every datagram counted once) and mirrored to
/// swift-metrics for whatever metrics backend the process bootstraps (Prometheus comes with the control plane).
public final class ServerStatistics: Sendable {
    /// Reasons beyond the protocol core's: the kernel refused to send a decided response.
    public static let sendFailed = "sendFailed"

    /// The gauges below are recomputed at most this often (and on an idle receive loop's wake-up, see
    /// `publishPrecision()`): quantiles over the buckets and six gauge updates per batch cost more than
    /// answering a small batch, and a scrape every few seconds sees no difference.
    static let precisionGaugeInterval: UInt64 = 100_000_000

    private struct State {
        var counters = ServerCounters()
        /// Monotonic nanoseconds of the last gauge update, and whether the precision changed since.
        var gaugesPublishedAt: UInt64 = 0
        var gaugesStale = false
    }

    private let state = NIOLockedValueBox(State())
    private let receivedMetric = Counter(label: "fleetnode_ntp_received_total")
    private let answeredMetric = Counter(label: "fleetnode_ntp_answered_total")
    private let kissMetric = Counter(label: "fleetnode_ntp_kiss_of_death_total")
    private let ntsMetric = Counter(label: "fleetnode_ntp_nts_authenticated_total")
    private let ntsNAKMetric = Counter(label: "fleetnode_ntp_nts_nak_total")
    private let symmetricMetric = Counter(label: "fleetnode_ntp_symmetric_authenticated_total")
    private let droppedMetrics: [String: Counter]
    private let interleavedMetric = Counter(label: "fleetnode_ntp_interleaved_total")
    private let transmitStampMetric = Counter(label: "fleetnode_ntp_kernel_transmit_timestamps_total")
    /// Since start: mean, standard deviation and p99 of the transmit timestamp error and of the queueing delay.
    private let precisionGauges: [(String, Gauge)] = ["error_mean", "error_sd", "error_p99", "queue_mean", "queue_p99", "queue_max"].map {
        ($0, Gauge(label: "fleetnode_ntp_timestamp_seconds", dimensions: [("stat", $0)]))
    }

    public init() {
        var dropped: [String: Counter] = [:]
        for reason in ServerDropReason.allCases.map(\.rawValue) + [Self.sendFailed] {
            dropped[reason] = Counter(label: "fleetnode_ntp_dropped_total", dimensions: [("reason", reason)])
        }
        droppedMetrics = dropped
    }

    public var snapshot: ServerCounters { state.withLockedValue { $0.counters } }

    /// Adds the outcome of one batch (one lock and a few metric updates per batch, not per packet), in place:
    /// a `ServerCounters` delta built per batch and added copied the precision's histograms and walked an
    /// empty dictionary, about 1,200 instructions a batch.
    func record(_ tally: BatchTally) {
        let hasPrecision = !tally.precision.isEmpty
        let now = hasPrecision ? cfs_monotonic_ns() : 0
        let precision = state.withLockedValue { state -> ServerPrecision? in
            state.counters.received += UInt64(tally.received)
            state.counters.answered += UInt64(tally.answered)
            state.counters.kissOfDeath += UInt64(tally.kissOfDeath)
            state.counters.symmetricAuthenticated += UInt64(tally.symmetricAuthenticated)
            state.counters.ntsAuthenticated += UInt64(tally.ntsAuthenticated)
            state.counters.ntsNAK += UInt64(tally.ntsNAK)
            state.counters.ntsAuthenticationFailed += UInt64(tally.ntsAuthenticationFailed)
            state.counters.kernelTimestamps += UInt64(tally.kernelTimestamps)
            if tally.dropped > 0 {
                for (index, reason) in BatchTally.reasons.enumerated() where tally.drops[index] > 0 {
                    state.counters.dropped[reason.rawValue, default: 0] += UInt64(tally.drops[index])
                }
            }
            if tally.sendFailed > 0 { state.counters.dropped[Self.sendFailed, default: 0] += UInt64(tally.sendFailed) }
            guard hasPrecision else { return nil }
            if state.counters.precision == nil { state.counters.precision = ServerPrecision() }
            state.counters.precision!.add(tally.precision)
            state.gaugesStale = true
            return Self.takeDue(&state, now: now)
        }
        if tally.precision.interleaved > 0 { interleavedMetric.increment(by: Int64(tally.precision.interleaved)) }
        if tally.precision.kernelTransmitTimestamps > 0 {
            transmitStampMetric.increment(by: Int64(tally.precision.kernelTransmitTimestamps))
        }
        if let precision { publish(precision) }

        receivedMetric.increment(by: Int64(tally.received))
        if tally.answered > 0 { answeredMetric.increment(by: Int64(tally.answered)) }
        if tally.kissOfDeath > 0 { kissMetric.increment(by: Int64(tally.kissOfDeath)) }
        if tally.ntsAuthenticated > 0 { ntsMetric.increment(by: Int64(tally.ntsAuthenticated)) }
        if tally.symmetricAuthenticated > 0 { symmetricMetric.increment(by: Int64(tally.symmetricAuthenticated)) }
        if tally.ntsNAK + tally.ntsAuthenticationFailed > 0 { ntsNAKMetric.increment(by: Int64(tally.ntsNAK + tally.ntsAuthenticationFailed)) }
        if tally.dropped > 0 {
            for (index, reason) in BatchTally.reasons.enumerated() where tally.drops[index] > 0 {
                droppedMetrics[reason.rawValue]?.increment(by: Int64(tally.drops[index]))
            }
        }
        if tally.sendFailed > 0 { droppedMetrics[Self.sendFailed]?.increment(by: Int64(tally.sendFailed)) }
    }

    /// Brings the precision gauges up to date if batches changed them since their last update and the interval
    /// has passed: a receive loop calls this when it wakes with nothing received (at least every poll
    /// timeout), so the figures of a burst's last batches are published soon after it too.
    func publishPrecision() {
        let now = cfs_monotonic_ns()
        if let precision = state.withLockedValue({ Self.takeDue(&$0, now: now) }) { publish(precision) }
    }

    /// The precision to publish now, if any: changed since, and not published within the interval.
    private static func takeDue(_ state: inout State, now: UInt64) -> ServerPrecision? {
        guard state.gaugesStale, now &- state.gaugesPublishedAt >= precisionGaugeInterval,
              let precision = state.counters.precision
        else { return nil }
        state.gaugesStale = false
        state.gaugesPublishedAt = now
        return precision
    }

    /// Since start: mean, standard deviation and p99 of the transmit timestamp error and of the queueing delay.
    private func publish(_ precision: ServerPrecision) {
        let error = precision.transmitTimestampError
        let queue = precision.queueingDelay
        let values = [
            error.meanNanoseconds, error.standardDeviationNanoseconds, Double(error.quantileNanoseconds(0.99)),
            queue.meanNanoseconds, Double(queue.quantileNanoseconds(0.99)), Double(queue.maximumNanoseconds),
        ]
        for (index, (_, gauge)) in precisionGauges.enumerated() { gauge.record(values[index] / 1e9) }
    }
}

/// Per-batch counts kept by one receive loop; reused batch after batch so the packet path does not allocate.
struct BatchTally {
    var received = 0
    var answered = 0
    var kissOfDeath = 0
    var symmetricAuthenticated = 0
    var ntsAuthenticated = 0
    var ntsNAK = 0
    var ntsAuthenticationFailed = 0
    var kernelTimestamps = 0
    var sendFailed = 0
    var precision = ServerPrecision()
    /// Per reason, in the order of `reasons`; `dropped` is their sum.
    var drops = [Int](repeating: 0, count: ServerDropReason.allCases.count)
    var dropped = 0
    /// `ServerDropReason.allCases`, built once (each use of `allCases` builds the array anew).
    static let reasons = ServerDropReason.allCases

    mutating func reset() {
        received = 0
        answered = 0
        kissOfDeath = 0
        symmetricAuthenticated = 0
        ntsAuthenticated = 0
        ntsNAK = 0
        ntsAuthenticationFailed = 0
        kernelTimestamps = 0
        sendFailed = 0
        precision.reset()
        if dropped > 0 {
            for index in drops.indices { drops[index] = 0 }
            dropped = 0
        }
    }

    mutating func drop(_ reason: ServerDropReason) {
        drops[Self.reasons.firstIndex(of: reason) ?? 0] += 1
        dropped += 1
    }
}

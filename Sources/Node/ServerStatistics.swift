import NodeModels
import Metrics
import NTPCore
import NIOConcurrencyHelpers

/// The NTP server's counters: kept exactly for status (every datagram counted once) and mirrored to
/// swift-metrics for whatever metrics backend the process bootstraps (Prometheus comes with the control plane).
public final class ServerStatistics: Sendable {
    /// Reasons beyond the protocol core's: the kernel refused to send a decided response.
    public static let sendFailed = "sendFailed"

    private struct State {
        var counters = ServerCounters()
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

    /// Adds the counts of one batch, under one lock: status reads them exactly, at once (a test that got its
    /// answer finds it counted). The precision and the metrics wait for `publish(_:)`.
    func record(_ tally: BatchTally) {
        state.withLockedValue { state in
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
        }
    }

    /// Adds what a receive loop gathered since its last publication (the precision histograms, the metric
    /// increments) and empties it. A loop calls this every `PendingStatistics.interval` and when it goes
    /// quiet, not per batch: merging two histograms, the optional precision's copies and seven metric
    /// updates per batch were about 1,000 instructions per answer on a server waking for one request at a
    /// time (callgrind, issue 18).
    func publish(_ pending: inout PendingStatistics, now: UInt64) {
        defer { pending.reset(at: now) }
        var precision: ServerPrecision?
        if !pending.precision.isEmpty {
            precision = state.withLockedValue { state in
                if state.counters.precision == nil { state.counters.precision = ServerPrecision() }
                state.counters.precision!.add(pending.precision)
                return state.counters.precision
            }
        }
        if let precision { publish(precision) }
        if pending.precision.interleaved > 0 { interleavedMetric.increment(by: Int64(pending.precision.interleaved)) }
        if pending.precision.kernelTransmitTimestamps > 0 {
            transmitStampMetric.increment(by: Int64(pending.precision.kernelTransmitTimestamps))
        }
        let counts = pending.counts
        if counts.received > 0 { receivedMetric.increment(by: Int64(counts.received)) }
        if counts.answered > 0 { answeredMetric.increment(by: Int64(counts.answered)) }
        if counts.kissOfDeath > 0 { kissMetric.increment(by: Int64(counts.kissOfDeath)) }
        if counts.ntsAuthenticated > 0 { ntsMetric.increment(by: Int64(counts.ntsAuthenticated)) }
        if counts.symmetricAuthenticated > 0 { symmetricMetric.increment(by: Int64(counts.symmetricAuthenticated)) }
        if counts.ntsNAK + counts.ntsAuthenticationFailed > 0 { ntsNAKMetric.increment(by: Int64(counts.ntsNAK + counts.ntsAuthenticationFailed)) }
        if counts.dropped > 0 {
            for (index, reason) in BatchTally.reasons.enumerated() where counts.drops[index] > 0 {
                droppedMetrics[reason.rawValue]?.increment(by: Int64(counts.drops[index]))
            }
        }
        if counts.sendFailed > 0 { droppedMetrics[Self.sendFailed]?.increment(by: Int64(counts.sendFailed)) }
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
        if dropped > 0 {
            for index in drops.indices { drops[index] = 0 }
            dropped = 0
        }
    }

    mutating func drop(_ reason: ServerDropReason) {
        drops[Self.reasons.firstIndex(of: reason) ?? 0] += 1
        dropped += 1
    }

    /// Adds another tally's counts (a loop's batches, gathered for the metrics).
    mutating func add(_ other: BatchTally) {
        received &+= other.received
        answered &+= other.answered
        kissOfDeath &+= other.kissOfDeath
        symmetricAuthenticated &+= other.symmetricAuthenticated
        ntsAuthenticated &+= other.ntsAuthenticated
        ntsNAK &+= other.ntsNAK
        ntsAuthenticationFailed &+= other.ntsAuthenticationFailed
        kernelTimestamps &+= other.kernelTimestamps
        sendFailed &+= other.sendFailed
        if other.dropped > 0 {
            for index in drops.indices { drops[index] &+= other.drops[index] }
            dropped &+= other.dropped
        }
    }
}

import NodeModels
import Metrics
import NIOConcurrencyHelpers

/// Sibling peering as metrics, per sibling: exchanges this node completed and failed polling it, and its
/// requests this node answered and rejected (a wrong or retired key shows up here first), whether it is
/// reachable now and whether its requests are being rejected now (1 or 0), plus whether new
/// NTS clients are being steered away. Counters fed by the difference between two status snapshots.
final class SiblingMetrics: Sendable {
    private let previous = NIOLockedValueBox<[String: NodeStatus.Sibling]>([:])
    private let steered = Gauge(label: "fleetnode_nts_steered")

    func record(_ status: NodeStatus) {
        steered.record(status.ntsSteeredTo == nil ? 0 : 1)
        let last = previous.withLockedValue { stored in
            defer { stored = Dictionary(status.siblings.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first }) }
            return stored
        }
        for sibling in status.siblings {
            let before = last[sibling.name]
            let dimensions = [("sibling", sibling.name)]
            func add(_ label: String, _ new: UInt64, _ old: UInt64?) {
                let delta = new &- (old ?? 0)
                guard delta > 0, new >= (old ?? 0) else { return }
                Counter(label: label, dimensions: dimensions).increment(by: Int64(delta))
            }
            add("fleetnode_sibling_replies_total", sibling.replies, before?.replies)
            add("fleetnode_sibling_failures_total", sibling.failures, before?.failures)
            add("fleetnode_sibling_requests_rejected_total", sibling.rejected, before?.rejected)
            let answered = sibling.answeredByKey.values.reduce(0, +)
            add("fleetnode_sibling_requests_answered_total", answered, before.map { $0.answeredByKey.values.reduce(0, +) })
            Gauge(label: "fleetnode_sibling_send_key", dimensions: dimensions).record(Double(sibling.sendKey))
            Gauge(label: "fleetnode_sibling_reachable", dimensions: dimensions).record(sibling.unreachable ? 0 : 1)
            Gauge(label: "fleetnode_sibling_key_rejected", dimensions: dimensions).record(sibling.rejectingSince == nil ? 0 : 1)
        }
    }
}

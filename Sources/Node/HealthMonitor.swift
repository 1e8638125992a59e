import Foundation
import Logging
import Metrics
import NodeModels
import NIOConcurrencyHelpers

/// Follows the node's own health verdict (`AdminHealth`, the rules `/v1/health` answers with) every few
/// seconds: logs each fault once when it appears or changes severity and once when it clears (absent from
/// two samples in a row; not on every poll or flush), and publishes the verdict and each fault as gauges, so
/// an alert and the log line that explains it come from the same rule.
///
/// Metrics: `fleetnode_health` (0 ok, 1 degraded, 2 critical) and `fleetnode_health_fault{fault,subject}`
/// (1 while the fault lasts, 0 once it has cleared).
final class HealthMonitor: Sendable {
    private let logger: Logger
    /// Faults raised and not yet cleared, with the samples in a row they have been absent from.
    private let active = NIOLockedValueBox<[String: (reason: AdminHealth.Reason, absent: Int)]>([:])
    /// Samples in a row a fault must be absent from before it counts as cleared: a figure hovering at a
    /// threshold (a jitter, an age) would otherwise be logged at every crossing.
    static let clearAfter = 2
    private let verdict = Gauge(label: "fleetnode_health")

    init(logger: Logger) {
        self.logger = logger
    }

    /// Compares `status`'s verdict with the last one; returns the faults that appeared and cleared.
    @discardableResult
    func observe(_ status: NodeStatus, now: Date = Date()) -> (raised: [AdminHealth.Reason], cleared: [String]) {
        let health = AdminHealth(status: status, now: Int64(now.timeIntervalSince1970))
        var current: [String: AdminHealth.Reason] = [:]
        for reason in health.reasons { current[reason.fault ?? reason.message] = reason }
        let (raised, cleared) = active.withLockedValue { active -> ([AdminHealth.Reason], [String]) in
            var raised: [AdminHealth.Reason] = []
            for (fault, reason) in current.sorted(by: { $0.key < $1.key }) {
                if active[fault]?.reason.severity != reason.severity { raised.append(reason) }
                active[fault] = (reason, 0)
            }
            var cleared: [String] = []
            for fault in active.keys.sorted() where current[fault] == nil {
                active[fault]?.absent += 1
                if (active[fault]?.absent ?? 0) >= Self.clearAfter {
                    active[fault] = nil
                    cleared.append(fault)
                }
            }
            return (raised, cleared)
        }
        for reason in raised {
            let fault = reason.fault ?? reason.message
            let metadata: Logger.Metadata = ["fault": "\(fault)", "health": "\(reason.severity.rawValue)"]
            if reason.severity == .critical {
                logger.error("health: \(reason.message)", metadata: metadata)
            } else {
                logger.warning("health: \(reason.message)", metadata: metadata)
            }
            Self.gauge(fault).record(1)
        }
        for fault in cleared {
            logger.notice("health: fault cleared", metadata: ["fault": "\(fault)", "health": "\(health.verdict.rawValue)"])
            Self.gauge(fault).record(0)
        }
        verdict.record(Self.rank(health.verdict))
        return (raised, cleared)
    }

    static func rank(_ verdict: AdminHealth.Verdict) -> Double {
        switch verdict {
        case .ok: 0
        case .degraded: 1
        case .critical: 2
        }
    }

    /// "sibling-unreachable:127.0.0.12:123" is fault "sibling-unreachable", subject "127.0.0.12:123".
    private static func gauge(_ fault: String) -> Gauge {
        let parts = fault.split(separator: ":", maxSplits: 1).map(String.init)
        return Gauge(label: "fleetnode_health_fault", dimensions: [("fault", parts[0]), ("subject", parts.count > 1 ? parts[1] : "")])
    }
}

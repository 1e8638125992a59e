import Foundation
import TimeCore

/// `GET /v1/health`: one verdict a monitoring system can alert on, with every reason behind it.
public struct AdminHealth: AdminBody {
    public enum Verdict: String, Codable, Sendable, Equatable, Comparable {
        /// Serving good time with nothing to look at.
        case ok
        /// Serving, but something needs attention before it becomes an outage.
        case degraded
        /// Clients are not getting trustworthy time (or soon will not get NTS).
        case critical

        private var rank: Int {
            switch self {
            case .ok: 0
            case .degraded: 1
            case .critical: 2
            }
        }

        public static func < (a: Verdict, b: Verdict) -> Bool { a.rank < b.rank }
    }

    public struct Reason: Codable, Sendable, Equatable {
        public var severity: Verdict
        public var message: String
        /// What is wrong, as a stable name ("sibling-unreachable:192.0.2.12"): the message carries changing
        /// figures, this does not, so the node logs a fault once when it appears and once when it clears.
        /// Optional so that health from older nodes still decodes.
        public var fault: String?
        public init(_ severity: Verdict, _ message: String, fault: String? = nil) {
            self.severity = severity
            self.message = message
            self.fault = fault
        }
    }

    public var verdict: Verdict
    public var reasons: [Reason]

    public init(verdict: Verdict, reasons: [Reason]) {
        self.verdict = verdict
        self.reasons = reasons
    }

    /// Certificates closer than this to expiry degrade the verdict (certbot renews at 30 days left).
    public static let certificateWarningSeconds: Int64 = 14 * 86_400

    /// A connected reference clock that reported nothing for longer than this is silent (gpsd sends a TPV,
    /// an SHM writer a sample, a PPS device a pulse, every second).
    public static let refclockSilentSeconds: Double = 10

    /// A reference clock jittering more than this is broken or disturbed (`SourceKind.jitterLimit`: the same
    /// limit beyond which selection stops following it).
    public static func jitterLimit(_ kind: SourceKind) -> Double? {
        kind.jitterLimit
    }

    /// The verdict for `status` at `now` (Unix seconds). Pure, so every rule is unit-tested.
    public init(status: NodeStatus, now: Int64) {
        var reasons: [Reason] = []
        let serving = status.serving
        if !serving.synchronized {
            reasons.append(.init(.critical, "unsynchronised: clients are told leap 3 (source \(serving.source))", fault: "unsynchronised"))
        } else if serving.source == "local" {
            reasons.append(.init(.degraded, "serving the local clock ([local] stratum), no time source", fault: "local-clock"))
        }
        if let tracking = status.timekeeping?.tracking {
            if let holdover = tracking.holdoverSeconds {
                reasons.append(.init(.degraded, "in holdover for \(Int(holdover)) s: no selectable source", fault: "holdover"))
            }
            if tracking.selected == nil, let reason = tracking.reason, serving.synchronized {
                reasons.append(.init(.degraded, "no source selected: \(reason)", fault: "no-source-selected"))
            }
        }
        for refclock in status.timekeeping?.refclocks ?? [] {
            if !refclock.connected {
                reasons.append(.init(.degraded, "refclock \(refclock.name) (\(refclock.driver)) not connected\(refclock.note.map { ": \($0)" } ?? "")", fault: "refclock-disconnected:\(refclock.name)"))
            } else if let mode = refclock.fixMode, mode < 2 {
                reasons.append(.init(.degraded, "refclock \(refclock.name) has no GPS fix", fault: "refclock-no-fix:\(refclock.name)"))
            }
        }
        for source in status.timekeeping?.sources ?? [] {
            if source.state == .falseticker {
                reasons.append(.init(.degraded, "source \(source.id.name) is a falseticker", fault: "falseticker:\(source.id.name)"))
            }
            if let jump = source.heldJump {
                reasons.append(.init(.degraded, "source \(source.id.name): time jumped by \(UTCText.duration(jump)), samples held apart "
                    + "(\(source.droppedJumped ?? 0) dropped)", fault: "source-jump-held:\(source.id.name)"))
            }
            if source.belowFloor == true {
                reasons.append(.init(.degraded, "source \(source.id.name) reports a time before the floor "
                    + "(\(source.droppedBelowFloor ?? 0) samples refused)\(source.note.map { ": \($0)" } ?? "")", fault: "source-below-floor:\(source.id.name)"))
            }
        }
        if let leap = status.timekeeping?.leap, leap.expired {
            reasons.append(.init(.degraded, "leap-second table \(leap.file ?? "") has expired", fault: "leap-table-expired"))
        }
        if let certificate = status.nts?.certificate {
            let left = certificate.notAfter - now
            if left <= 0 {
                reasons.append(.init(.critical, "NTS-KE certificate \(certificate.subject) expired", fault: "certificate-expired"))
            } else if left < Self.certificateWarningSeconds {
                reasons.append(.init(.degraded, "NTS-KE certificate \(certificate.subject) expires in \(left / 86_400) days", fault: "certificate-expiring"))
            }
        }
        if let keyFile = status.nts?.keyFile, let since = keyFile.failingSince {
            reasons.append(.init(.degraded, "NTS cookie key file \(keyFile.path) cannot be written for \(max(0, now - since)) s "
                + "(\(keyFile.writeFailures) failed writes; the keys in memory stay in use, no new key can be kept): \(keyFile.lastError ?? "unknown error")",
                fault: "cookie-key-file"))
        }
        if let store = status.stateStore, let since = store.failingSince {
            // Still serving (keys are in memory), but history and key changes are not being kept.
            reasons.append(.init(.degraded, "state database \(store.path) cannot be written for \(max(0, now - Int64(since))) s "
                + "(\(store.writeFailures) failed writes, \(store.pending) rows waiting in memory): \(store.lastError ?? "unknown error")",
                fault: "state-database"))
        }
        for sibling in status.siblings {
            if sibling.unreachable {
                let since = sibling.failingSince.map { " for \(max(0, now - Int64($0))) s" } ?? ""
                reasons.append(.init(.degraded, "sibling \(sibling.name) unreachable\(since): \(sibling.consecutiveFailures ?? 0) exchanges in a row "
                    + "failed (last: \(sibling.lastFailure ?? "unknown")); it cannot cross-check this node's time", fault: "sibling-unreachable:\(sibling.name)"))
            }
            if let since = sibling.rejectingSince {
                reasons.append(.init(.degraded, "sibling \(sibling.name) polls under a key this node rejects, for \(max(0, now - Int64(since))) s "
                    + "(\(sibling.lastRejection ?? "rejected")): its requests go unanswered", fault: "sibling-key-rejected:\(sibling.name)"))
            }
        }
        for refclock in status.timekeeping?.refclocks ?? [] where refclock.connected {
            if let age = refclock.lastReportAge, age > Self.refclockSilentSeconds, refclock.reports > 0 {
                reasons.append(.init(.degraded, "refclock \(refclock.name) (\(refclock.driver)) silent for \(Int(age)) s: no report (time, sample or pulse) "
                    + "since", fault: "refclock-silent:\(refclock.name)"))
            }
        }
        for source in status.timekeeping?.sources ?? [] {
            guard let limit = Self.jitterLimit(source.kind), let jitter = source.jitter, jitter > limit else { continue }
            reasons.append(.init(.degraded, "source \(source.id.name) (\(source.kind.rawValue)) jitters \(String(format: "%.1f", jitter * 1000)) ms, "
                + "over the \(String(format: "%g", limit * 1000)) ms such a reference clock shows when it works"
                + (source.state == .selected || source.state == .combined ? "" : "; not followed until it steadies"), fault: "refclock-jitter:\(source.id.name)"))
        }
        if let descriptors = status.descriptors, descriptors.atLimit(now: Double(now)) {
            let limit = descriptors.limit.map(String.init) ?? "unlimited"
            reasons.append(.init(.degraded, "descriptor limit reached: \(descriptors.open) open of \(limit), \(descriptors.acceptFailures) accepts "
                + "failed; NTS-KE, admin and metrics connections are refused (raise LimitNOFILE?)", fault: "descriptor-limit"))
        }
        self.reasons = reasons
        verdict = reasons.map(\.severity).max() ?? .ok
    }
}

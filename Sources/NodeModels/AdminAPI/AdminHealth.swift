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
        public init(_ severity: Verdict, _ message: String) {
            self.severity = severity
            self.message = message
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

    /// The verdict for `status` at `now` (Unix seconds). Pure, so every rule is unit-tested.
    public init(status: NodeStatus, now: Int64) {
        var reasons: [Reason] = []
        let serving = status.serving
        if !serving.synchronized {
            reasons.append(.init(.critical, "unsynchronised: clients are told leap 3 (source \(serving.source))"))
        } else if serving.source == "local" {
            reasons.append(.init(.degraded, "serving the local clock ([local] stratum), no time source"))
        }
        if let tracking = status.timekeeping?.tracking {
            if let holdover = tracking.holdoverSeconds {
                reasons.append(.init(.degraded, "in holdover for \(Int(holdover)) s: no selectable source"))
            }
            if tracking.selected == nil, let reason = tracking.reason, serving.synchronized {
                reasons.append(.init(.degraded, "no source selected: \(reason)"))
            }
        }
        for refclock in status.timekeeping?.refclocks ?? [] {
            if !refclock.connected {
                reasons.append(.init(.degraded, "refclock \(refclock.name) (\(refclock.driver)) not connected\(refclock.note.map { ": \($0)" } ?? "")"))
            } else if let mode = refclock.fixMode, mode < 2 {
                reasons.append(.init(.degraded, "refclock \(refclock.name) has no GPS fix"))
            }
        }
        for source in status.timekeeping?.sources ?? [] {
            if source.state == .falseticker {
                reasons.append(.init(.degraded, "source \(source.id.name) is a falseticker"))
            }
            if let jump = source.heldJump {
                reasons.append(.init(.degraded, "source \(source.id.name): time jumped by \(UTCText.duration(jump)), samples held apart "
                    + "(\(source.droppedJumped ?? 0) dropped)"))
            }
            if source.belowFloor == true {
                reasons.append(.init(.degraded, "source \(source.id.name) reports a time before the floor "
                    + "(\(source.droppedBelowFloor ?? 0) samples refused)\(source.note.map { ": \($0)" } ?? "")"))
            }
        }
        if let leap = status.timekeeping?.leap, leap.expired {
            reasons.append(.init(.degraded, "leap-second table \(leap.file ?? "") has expired"))
        }
        if let certificate = status.nts?.certificate {
            let left = certificate.notAfter - now
            if left <= 0 {
                reasons.append(.init(.critical, "NTS-KE certificate \(certificate.subject) expired"))
            } else if left < Self.certificateWarningSeconds {
                reasons.append(.init(.degraded, "NTS-KE certificate \(certificate.subject) expires in \(left / 86_400) days"))
            }
        }
        if let store = status.stateStore, let since = store.failingSince {
            // Still serving (keys are in memory), but history and key changes are not being kept.
            reasons.append(.init(.degraded, "state database \(store.path) cannot be written for \(max(0, now - Int64(since))) s "
                + "(\(store.writeFailures) failed writes, \(store.pending) rows waiting in memory): \(store.lastError ?? "unknown error")"))
        }
        self.reasons = reasons
        verdict = reasons.map(\.severity).max() ?? .ok
    }
}

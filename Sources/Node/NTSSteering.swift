import ConfigFile
import NodeModels
import TimeCore

/// Where new NTS-KE clients should get their time (RFC 8915 §4.1.7 Server Negotiation): from this node, or,
/// while it is unsynchronised or has been in holdover longer than `[nts] steer_holdover`, from the best
/// synchronised sibling. Pure: decided from the timekeeping status, so the rule is a unit test.
enum NTSSteering {
    /// nil: serve new clients here.
    static func target(
        timekeeping: TimekeepingStatus?, siblings: [NodeConfig.Sibling], steerHoldover: Double
    ) -> SocketEndpoint? {
        guard !siblings.isEmpty else { return nil }
        let tracking = timekeeping?.tracking
        let synchronized = tracking?.synchronized ?? false
        let holdover = tracking?.holdoverSeconds ?? 0
        guard !synchronized || holdover > steerHoldover else { return nil }
        let candidates = (timekeeping?.sources ?? []).filter { source in
            source.kind == .sibling && source.reach != 0 && (1...15).contains(source.stratum)
                && source.state != .falseticker && source.state != .jittery && source.offset != nil
        }
        let best = candidates.min { a, b in
            if a.stratum != b.stratum { return a.stratum < b.stratum }
            return (a.rootDistance ?? .infinity, a.id) < (b.rootDistance ?? .infinity, b.id)
        }
        guard let best, let sibling = siblings.first(where: { $0.name == best.id.name }) else { return nil }
        return SocketEndpoint(host: sibling.host, port: sibling.port)
    }
}

import NodeModels
import TimeCore

/// The sweep's judgement: observations in, verdicts out, no I/O and no clock (`now` is passed in), so every
/// rule is a unit test. A node is judged from inside (what its admin API says) and from outside (what it
/// serves to an NTP and an NTS client); a fleet by comparing its nodes with each other: offsets against the
/// fleet's median (never against the sweeping host's clock, which may itself be wrong), cookies across each
/// site, and the symmetric keys each sibling pair believes in.
public enum HealthRules {
    /// Node health faults the fleet rules judge themselves (from the same observations, with fleet-wide
    /// context); the rest (a sibling unreachable or rejecting a key, a silent or jittering reference clock,
    /// the descriptor limit, a state database or cookie key file that cannot be written) are shown as the
    /// node reports them.
    static let faultsJudgedByFleet: Set<String> = [
        "unsynchronised", "local-clock", "holdover", "no-source-selected", "refclock-disconnected", "refclock-no-fix",
        "falseticker", "source-jump-held", "source-below-floor", "leap-table-expired", "certificate-expired", "certificate-expiring",
    ]

    static func coveredByFleetRules(_ reason: AdminHealth.Reason) -> Bool {
        if let fault = reason.fault {
            return faultsJudgedByFleet.contains(String(fault.split(separator: ":", maxSplits: 1)[0]))
        }
        let covered = ["unsynchronised", "serving the local clock", "in holdover", "no source selected", "refclock ", "source ", "leap-second table", "NTS-KE certificate"]
        return covered.contains { reason.message.hasPrefix($0) }
    }

    /// `only`: the names of the nodes swept (default: all); the rest of the inventory still names siblings.
    public static func judge(inventory: Inventory, observations: [NodeObservation], now: Double, elapsed: Double = 0, only: [String]? = nil) -> FleetHealth {
        let byName = Dictionary(observations.map { ($0.node, $0) }, uniquingKeysWith: { first, _ in first })
        let median = medianOffset(observations)
        var nodes: [NodeHealth] = []
        for node in inventory.nodes where only?.contains(node.name) ?? true {
            guard let observation = byName[node.name] else {
                nodes.append(NodeHealth(
                    node: node.name, site: node.site, verdict: .unknown, reasons: [HealthReason(.unknown, "not-swept", "not swept")], passed: [],
                    stratum: nil, referenceID: nil, offsetFromMedian: nil, certificateDaysLeft: nil, elapsed: 0))
                continue
            }
            nodes.append(judge(node, observation, inventory: inventory, observations: byName, median: median, now: now))
        }
        var reasons: [HealthReason] = []
        if !nodes.isEmpty, observations.allSatisfy({ $0.ntp == nil }) {
            reasons.append(HealthReason(.critical, "fleet-unreachable", "no node answered NTP"))
        }
        let adminFailures = observations.compactMap(\.adminFailure)
        if adminFailures.count == observations.count, adminFailures.count > 1,
           adminFailures.allSatisfy({ $0.kind == .certificate }) {
            reasons.append(HealthReason(
                .unknown, "admin-ca",
                "no node's admin certificate verified against the inventory's admin_ca: is it the fleet's admin CA? (\(adminFailures[0].message))"))
        } else if adminFailures.count == observations.count, adminFailures.count > 1,
                  adminFailures.allSatisfy({ $0.kind == .refusedCredentials }) {
            reasons.append(HealthReason(
                .unknown, "admin-credentials", "every node refused our client certificate: was it issued by the fleet's admin CA?"))
        }
        if reasons.contains(where: { $0.check.hasPrefix("admin-") }) {
            // Said once for the fleet: each node's row only points at it.
            for index in nodes.indices {
                nodes[index].reasons = nodes[index].reasons.map { reason in
                    reason.check == "admin" ? HealthReason(reason.severity, "admin", "inside not checked: see the fleet's admin credentials line") : reason
                }
            }
        }
        for site in inventory.sites {
            if let reason = cookieReason(site: site.name, inventory: inventory, observations: observations) { reasons.append(reason) }
        }
        let verdict = (nodes.map(\.verdict) + reasons.map(\.severity)).max() ?? .unknown
        return FleetHealth(verdict: verdict, nodes: nodes, reasons: reasons, medianOffset: median, time: now, elapsed: elapsed)
    }

    /// The median of the synchronised nodes' outside offsets: the fleet's own idea of the time.
    static func medianOffset(_ observations: [NodeObservation]) -> Double? {
        let offsets = observations.compactMap { $0.ntp.flatMap { $0.leap == 3 ? nil : $0.offset } }.sorted()
        guard !offsets.isEmpty else { return nil }
        let middle = offsets.count / 2
        return offsets.count % 2 == 1 ? offsets[middle] : (offsets[middle - 1] + offsets[middle]) / 2
    }

    private static func judge(
        _ node: Inventory.Node, _ observation: NodeObservation, inventory: Inventory, observations: [String: NodeObservation],
        median: Double?, now: Double
    ) -> NodeHealth {
        let thresholds = inventory.thresholds
        var reasons: [HealthReason] = []
        var passed: [String] = []
        func add(_ severity: HealthVerdict, _ check: String, _ message: String) { reasons.append(HealthReason(severity, check, message)) }

        // Reachable at all?
        if let admin = observation.adminFailure, let ntp = observation.ntpFailure,
           [.unreachable, .timeout].contains(admin.kind), [.unreachable, .timeout].contains(ntp.kind) {
            add(.critical, "unreachable", "unreachable: admin API \(admin.message); NTP \(ntp.message)")
            return NodeHealth(
                node: node.name, site: node.site, verdict: .critical, reasons: reasons, passed: [], stratum: nil, referenceID: nil,
                offsetFromMedian: nil, certificateDaysLeft: nil, elapsed: observation.elapsed)
        }

        // Inside.
        if let failure = observation.adminFailure {
            switch failure.kind {
            case .refusedCredentials:
                add(.unknown, "admin", "admin API refused our certificate: \(failure.message)")
            case .certificate:
                add(.unknown, "admin", "admin API certificate does not verify: \(failure.message)")
            case .local:
                add(.unknown, "admin", failure.message)
            case .unreachable, .timeout, .protocolError:
                add(.warning, "admin", "admin API: \(failure.message) (serving NTP, but its inside cannot be checked)")
            }
        } else if let admin = observation.admin {
            passed.append("admin API answered")
            judgeInside(admin, node: node, inventory: inventory, observations: observations, thresholds: thresholds, add: add, passed: &passed)
        }

        // Outside: plain NTP.
        var offsetFromMedian: Double?
        if let probe = observation.ntp {
            if probe.leap == 3 {
                if !reasons.contains(where: { $0.check == "unsynchronised" }) {
                    add(.critical, "unsynchronised", "serves unsynchronised time (leap 3, stratum \(probe.stratum)) to NTP clients")
                }
            } else {
                passed.append("NTP: stratum \(probe.stratum), reference \(probe.referenceID)")
                if let served = observation.admin?.tracking.serving, served.synchronized,
                   served.stratum != probe.stratum || served.referenceID != probe.referenceID {
                    add(.warning, "consistency",
                        "serves stratum \(probe.stratum) (\(probe.referenceID)) to clients but reports stratum \(served.stratum) (\(served.referenceID))")
                }
                if let median, observations.values.filter({ $0.ntp.map { $0.leap != 3 } ?? false }).count > 1 {
                    let offset = probe.offset - median
                    offsetFromMedian = offset
                    let text = "\(formatOffset(offset)) from the fleet median"
                    if abs(offset) >= thresholds.offsetCritical {
                        add(.critical, "offset", "offset \(text) (limit \(formatOffset(thresholds.offsetCritical)))")
                    } else if abs(offset) >= thresholds.offsetWarning {
                        add(.warning, "offset", "offset \(text) (warning at \(formatOffset(thresholds.offsetWarning)))")
                    } else {
                        passed.append("offset \(text)")
                    }
                }
            }
        } else if let failure = observation.ntpFailure {
            add(.critical, "ntp", "no NTP service: \(failure.message)")
        }

        // Outside: NTS, with the certificate actually served.
        var daysLeft: Double?
        if node.ntsKE != nil {
            if let probe = observation.nts {
                let days = probe.certificate.daysLeft(at: now)
                daysLeft = days
                passed.append("NTS: key establishment and an authenticated exchange (AEAD \(probe.aead)), certificate verified")
                if days <= 0 {
                    add(.critical, "certificate-expiry", "NTS certificate expired")
                } else if days <= thresholds.certificateCriticalDays {
                    add(.critical, "certificate-expiry", "NTS certificate expires in \(dayText(days))")
                } else if days <= thresholds.certificateWarningDays {
                    add(.warning, "certificate-expiry", "NTS certificate expires in \(dayText(days))")
                } else {
                    passed.append("NTS certificate valid for \(dayText(days))")
                }
                if let reported = observation.admin?.certificates?.nts?.sha256, reported != probe.certificate.sha256 {
                    add(.warning, "certificate-mismatch",
                        "serves NTS certificate \(probe.certificate.sha256.prefix(16))… but reports \(reported.prefix(16))… in service")
                }
            } else if let failure = observation.ntsFailure {
                switch failure.kind {
                case .certificate:
                    add(.critical, "certificate-chain", "NTS certificate chain does not verify: \(failure.message)")
                default:
                    add(.critical, "nts", "NTS fails: \(failure.message)")
                }
            }
        }

        // Cookies of this site, as the odd one out sees it.
        if let blamed = cookieBlame(site: node.site, inventory: inventory, observations: Array(observations.values)), blamed.contains(node.name) {
            let failures = Array(observations.values).flatMap(\.cookieChecks).filter {
                $0.outcome == .rejected && ($0.issuer == node.name || $0.verifier == node.name)
            }
            let others = Set(failures.map { $0.issuer == node.name ? $0.verifier : $0.issuer }).sorted()
            add(.critical, "cookie-keys",
                "NTS cookie keys out of step with site \(node.site): cookies do not open between it and \(others.joined(separator: ", "))")
        } else if observation.cookieChecks.contains(where: { $0.outcome == .accepted }) {
            passed.append("its cookies open on \(observation.cookieChecks.filter { $0.outcome == .accepted }.map(\.verifier).joined(separator: ", "))")
        }

        let verdict = reasons.map(\.severity).max() ?? .ok
        return NodeHealth(
            node: node.name, site: node.site, verdict: verdict, reasons: reasons, passed: passed,
            stratum: observation.ntp?.stratum ?? observation.admin?.tracking.serving.stratum,
            referenceID: observation.ntp?.referenceID ?? observation.admin?.tracking.serving.referenceID,
            offsetFromMedian: offsetFromMedian, certificateDaysLeft: daysLeft, elapsed: observation.elapsed)
    }

    private static func judgeInside(
        _ admin: AdminView, node: Inventory.Node, inventory: Inventory, observations: [String: NodeObservation],
        thresholds: Inventory.Thresholds, add: (HealthVerdict, String, String) -> Void, passed: inout [String]
    ) {
        let serving = admin.tracking.serving
        if !serving.synchronized {
            add(.critical, "unsynchronised", "unsynchronised: clients are told leap 3 (\(serving.source))")
        } else if serving.source == "local" {
            add(.warning, "local", "serving its local clock ([local] stratum \(serving.stratum)): no time source")
        }
        if let holdover = admin.tracking.tracking?.holdoverSeconds, holdover > thresholds.holdoverWarning {
            let text = "in holdover for \(durationText(holdover)): no GPS and no sibling selected"
            add(holdover >= thresholds.holdoverCritical ? .critical : .warning, "holdover", text)
        }
        let refclockSources = admin.sources.filter(\.isReferenceClock)
        for refclock in admin.tracking.refclocks {
            let source = refclockSources.first { $0.name == refclock.name }
            let kind = refclock.driver == "pps" ? "PPS" : "GPS"
            if !refclock.connected {
                add(.warning, kind == "PPS" ? "pps" : "gps",
                    "\(kind) lost: refclock \(refclock.name) (\(refclock.driver)) not connected\(refclock.note.map { ": \($0)" } ?? "")")
            } else if let mode = refclock.fixMode, mode < 2 {
                add(.warning, "gps-fix", "no GPS fix on \(refclock.name)\(refclock.satellitesUsed.map { " (\($0) satellites used)" } ?? "")")
            } else if let source, source.reach == 0 {
                add(.warning, kind == "PPS" ? "pps" : "gps", "\(kind) lost: no samples from refclock \(refclock.name)")
            }
        }
        // A receiver whose time jumped, or named a date before the node's floor (a week-number rollover): its
        // samples are held apart and counted, the node holds over or follows others; someone should look.
        for source in refclockSources {
            if let jump = source.heldJump {
                add(.warning, "gps-jump", "GPS time jumped on \(source.name): \(UTCText.duration(jump)), samples held apart"
                    + "\(source.droppedJumped.map { " (\($0) dropped)" } ?? "")\(source.note.map { ": \($0)" } ?? "")")
            }
            if source.belowFloor == true {
                add(.warning, "gps-floor", "GPS on \(source.name) reports a time before the node's floor"
                    + "\(source.droppedBelowFloor.map { " (\($0) samples refused)" } ?? "")\(source.note.map { ": \($0)" } ?? "")")
            }
        }
        for source in refclockSources where source.state == "falseticker" {
            let note = source.note.map { $0.hasPrefix("falseticker: ") ? String($0.dropFirst(13)) : $0 }
            add(.warning, "gps-outvoted", "GPS outvoted by siblings: \(note ?? "refclock \(source.name) disagrees with the majority")")
        }
        if serving.synchronized, !refclockSources.isEmpty, serving.stratum > 1, admin.tracking.tracking?.holdoverSeconds == nil,
           !refclockSources.contains(where: { $0.state == "falseticker" }) {
            add(.warning, "gps", "not on its own GPS: following \(serving.referenceID) at stratum \(serving.stratum)")
        }
        if let leap = admin.tracking.leap, leap.expired {
            add(.warning, "leap-file", "leap-second file \(leap.file ?? "") has expired")
        }
        // What the node itself says, where our rules above do not already cover it (its own health rules
        // are the NodeModels ones): by the reason's fault name, or, from nodes that send none, by the message.
        for reason in admin.health.reasons where !Self.coveredByFleetRules(reason) {
            add(reason.severity == .critical ? .critical : reason.severity == .degraded ? .warning : .ok, "node", "node reports: \(reason.message)")
        }
        if admin.health.verdict == .ok { passed.append("node reports ok") }

        // Sibling links: each pair must use keys both ends believe are current.
        guard let keys = admin.keys else { return }
        var linksGood = 0
        for siblingName in node.siblings {
            guard let sibling = inventory.node(named: siblingName) else { continue }
            guard let mine = keys.siblings?.first(where: { matches($0.name, sibling) }) else {
                add(.warning, "sibling-config", "the inventory says it peers with \(siblingName), but the node has no such sibling")
                continue
            }
            var good = true
            if let theirs = observations[siblingName]?.admin?.keys?.siblings?.first(where: { matches($0.name, node) }) {
                if !theirs.acceptedKeys.contains(mine.sendKey) {
                    add(.critical, "sibling-keys",
                        "sibling key mismatch: sends key \(mine.sendKey) to \(siblingName), which accepts only \(keyList(theirs.acceptedKeys)) from it")
                    good = false
                }
            }
            if let source = admin.sources.first(where: { $0.kind == "sibling" && matchesSource($0.name, sibling) }), source.reach == 0 {
                add(.warning, "sibling-link", "sibling \(siblingName) unreachable or rejecting our key (no authenticated reply)")
                good = false
            }
            if good { linksGood += 1 }
        }
        if linksGood > 0 { passed.append("sibling keys agree with \(linksGood) sibling\(linksGood == 1 ? "" : "s")") }
    }

    /// A sibling entry on a node names its sibling by address ("127.0.0.12:123" or "127.0.0.12").
    static func matches(_ name: String, _ node: Inventory.Node) -> Bool {
        name == node.ntp.description || name == node.ntp.host || name == node.name
            || (try? SocketEndpoint(parsing: name, defaultPort: node.ntp.port))?.host == node.ntp.host
    }

    private static func matchesSource(_ name: String, _ node: Inventory.Node) -> Bool {
        matches(name, node) || name.hasPrefix(node.ntp.host + ":") || name.hasPrefix("[\(node.ntp.host)]")
    }

    /// The nodes of `site` to blame for cookies that do not open: the node(s) in more failed pairs than the
    /// others (one odd key set fails with everyone, everyone else fails only with it); with two nodes, both.
    static func cookieBlame(site: String, inventory: Inventory, observations: [NodeObservation]) -> Set<String>? {
        let names = Set(inventory.nodes(in: site).map(\.name))
        let failures = observations.filter { names.contains($0.node) }.flatMap(\.cookieChecks).filter { $0.outcome == .rejected }
        guard !failures.isEmpty else { return nil }
        var count: [String: Int] = [:]
        for failure in failures {
            count[failure.issuer, default: 0] += 1
            count[failure.verifier, default: 0] += 1
        }
        let most = count.values.max() ?? 0
        return Set(count.filter { $0.value == most }.keys)
    }

    private static func cookieReason(site: String, inventory: Inventory, observations: [NodeObservation]) -> HealthReason? {
        guard let blamed = cookieBlame(site: site, inventory: inventory, observations: observations) else { return nil }
        return HealthReason(.critical, "cookie-keys", "site \(site): NTS cookies do not open across the site; out of step: \(blamed.sorted().joined(separator: ", "))")
    }

    private static func keyList(_ keys: [UInt32]) -> String {
        keys.isEmpty ? "none" : keys.map(String.init).joined(separator: ", ")
    }

    /// "+1.234 ms", "-12.0 µs", "+2.500 s": chronyc's units for offsets.
    public static func formatOffset(_ seconds: Double) -> String {
        let magnitude = abs(seconds)
        let text: String
        if magnitude >= 1 {
            text = DecimalText.fixed(magnitude, places: 3) + " s"
        } else if magnitude >= 1e-3 {
            text = DecimalText.fixed(magnitude * 1e3, places: 3) + " ms"
        } else {
            text = DecimalText.fixed(magnitude * 1e6, places: 1) + " µs"
        }
        // No "-0.0": a value that rounds to zero has no sign worth showing.
        let negative = seconds < 0 && text.contains(where: { ("1"..."9").contains($0) })
        return (negative ? "-" : "+") + text
    }

    static func dayText(_ days: Double) -> String {
        let whole = Int(days.rounded(.down))
        return whole == 1 ? "1 day" : "\(whole) days"
    }

    public static func durationText(_ seconds: Double) -> String {
        if seconds < 120 { return "\(Int(seconds)) s" }
        if seconds < 7_200 { return "\(Int(seconds / 60)) min" }
        return "\(DecimalText.fixed(seconds / 3_600, places: 1)) h"
    }
}

import Fleet
import NodeModels
@testable import TimeCore
import XCTest

/// The sweep's rules, one situation at a time, on a three-node site.
final class HealthRulesTests: XCTestCase {
    static let now = 1_800_000_000.0

    static let inventory: Inventory = {
        let names = ["ntp1", "ntp2", "ntp3"]
        let nodes = names.enumerated().map { index, name in
            Inventory.Node(
                name: name, site: "lab", admin: SocketEndpoint(host: "127.0.0.1\(index + 1)", port: 9124),
                ntp: SocketEndpoint(host: "127.0.0.1\(index + 1)", port: 123), ntsKE: SocketEndpoint(host: "127.0.0.1\(index + 1)", port: 4460),
                siblings: names.filter { $0 != name })
        }
        return Inventory(sites: [.init(name: "lab")], nodes: nodes)
    }()

    /// A healthy node: stratum 1 on its GPS, siblings reachable and keys agreeing, certificate 60 days.
    static func healthy(_ index: Int, offset: Double = 0) -> NodeObservation {
        let node = inventory.nodes[index]
        var observation = NodeObservation(node: node.name, site: "lab")
        let serving = NodeStatus.Serving(synchronized: true, source: "GPS", leap: 0, stratum: 1, referenceID: "GPS", rootDelaySeconds: 0, rootDispersionSeconds: 1e-6)
        let tracking = AdminTracking(
            name: node.name, serving: serving, clock: .init(driver: "software", offsetSeconds: 0, frequencyPPM: 0, precision: -20), tracking: nil,
            refclocks: [.init(name: "GPS", driver: "shm", connected: true)], leap: nil)
        let others = inventory.nodes.filter { $0.name != node.name }
        var sources = [SourceReportView(name: "GPS", kind: "shm", isReferenceClock: true, state: "selected", reach: 255, offset: 0, note: nil)]
        sources += others.map { SourceReportView(name: "\($0.ntp.host):123", kind: "sibling", isReferenceClock: false, state: "notCombined", reach: 255, offset: 0, note: nil) }
        let keys = AdminKeys(symmetric: [], cookie: [], cookieRotateIntervalSeconds: nil,
                             siblings: others.map { AdminSiblingKeys(name: "\($0.ntp.host):123", sendKey: 1, acceptedKeys: [1], stored: []) })
        observation.admin = AdminView(health: AdminHealth(verdict: .ok, reasons: []), tracking: tracking, sources: sources, keys: keys)
        observation.ntp = NTPProbe(stratum: 1, leap: 0, referenceID: "GPS", offset: offset, delay: 1e-4, rootDistance: 1e-4)
        observation.nts = NTSProbe(
            certificate: ServedCertificate(subject: "CN=\(node.name)", subjectAlternativeNames: [], notAfter: Int64(now) + 60 * 86_400, sha256: "ab"),
            ntpServer: node.ntp.description, aead: 15, stratum: 1, offset: offset)
        observation.cookieChecks = others.map { CookieCheck(issuer: node.name, verifier: $0.name, outcome: .accepted) }
        return observation
    }

    private func judge(_ observations: [NodeObservation]) -> FleetHealth {
        HealthRules.judge(inventory: Self.inventory, observations: observations, now: Self.now)
    }

    private func reasons(_ health: FleetHealth, _ node: Int) -> [String] { health.nodes[node].reasons.map(\.description) }

    func testAHealthyFleetIsOK() {
        let health = judge([Self.healthy(0, offset: 0.010), Self.healthy(1, offset: 0.0101), Self.healthy(2, offset: 0.0099)])
        XCTAssertEqual(health.verdict, .ok, "\(health)")
        XCTAssertEqual(health.verdict.exitCode, 0)
        XCTAssertEqual(health.medianOffset, 0.010)
        for node in health.nodes {
            XCTAssertEqual(node.verdict, .ok)
            XCTAssertTrue(node.passed.contains { $0.hasPrefix("sibling keys agree with 2 siblings") }, "\(node.passed)")
            XCTAssertTrue(node.passed.contains { $0.hasPrefix("its cookies open on") })
        }
        XCTAssertEqual(health.nodes[1].offsetFromMedian ?? 0, 0.0001, accuracy: 1e-12)
    }

    func testOffsetsAreJudgedAgainstTheFleetMedianNotTheSweepingHost() {
        // The sweeping host is 3 s off: every offset carries it, and no node is blamed for it.
        var far = judge([Self.healthy(0, offset: 3.0), Self.healthy(1, offset: 3.0002), Self.healthy(2, offset: 3.0001)])
        XCTAssertEqual(far.verdict, .ok)
        far = judge([Self.healthy(0, offset: 3.0), Self.healthy(1, offset: 3.005), Self.healthy(2, offset: 3.0001)])
        XCTAssertEqual(far.nodes[1].verdict, .warning)
        XCTAssertEqual(reasons(far, 1), ["WARN offset +4.900 ms from the fleet median (warning at +1.000 ms)"])
        far = judge([Self.healthy(0, offset: 3.0), Self.healthy(1, offset: 2.95), Self.healthy(2, offset: 3.0001)])
        XCTAssertEqual(reasons(far, 1), ["CRIT offset -50.000 ms from the fleet median (limit +10.000 ms)"])
        XCTAssertEqual(far.verdict, .critical)
        XCTAssertEqual(far.nodes[0].verdict, .ok)
    }

    func testHoldoverLostGPSAndOutvotedGPS() {
        var holdover = Self.healthy(0)
        holdover.admin?.tracking.tracking = TrackingReport.holdover(seconds: 600)
        var following = Self.healthy(1)
        following.admin?.tracking.serving.stratum = 2
        following.admin?.tracking.serving.referenceID = "127.0.0.11"
        following.ntp?.stratum = 2
        following.ntp?.referenceID = "127.0.0.11"
        following.admin?.sources[0].reach = 0
        following.admin?.sources[0].state = "unusable"
        var outvoted = Self.healthy(2)
        outvoted.admin?.sources[0].state = "falseticker"
        outvoted.admin?.sources[0].note = "reference clock disagrees with the majority (127.0.0.11, 127.0.0.12) by +5.000 ms"
        outvoted.admin?.tracking.serving.stratum = 2
        outvoted.ntp?.stratum = 2
        outvoted.admin?.tracking.serving.referenceID = "127.0.0.11"
        outvoted.ntp?.referenceID = "127.0.0.11"
        let health = judge([holdover, following, outvoted])
        XCTAssertEqual(reasons(health, 0), ["WARN in holdover for 10 min: no GPS and no sibling selected"])
        XCTAssertEqual(reasons(health, 1), ["WARN GPS lost: no samples from refclock GPS", "WARN not on its own GPS: following 127.0.0.11 at stratum 2"])
        XCTAssertEqual(reasons(health, 2), ["WARN GPS outvoted by siblings: reference clock disagrees with the majority (127.0.0.11, 127.0.0.12) by +5.000 ms"])
        XCTAssertEqual(health.verdict, .warning)
        XCTAssertEqual(health.verdict.exitCode, 1)

        var long = Self.healthy(0)
        long.admin?.tracking.tracking = TrackingReport.holdover(seconds: 7_300)
        XCTAssertEqual(reasons(judge([long, Self.healthy(1), Self.healthy(2)]), 0), ["CRIT in holdover for 2.0 h: no GPS and no sibling selected"])
    }

    /// A receiver whose time jumped (held apart, the node holding over) and one that names a date before the
    /// node's floor (a week-number rollover): each is a warning with the reason, not an OK.
    func testGPSHeldAsJumpedOrBelowFloorIsAWarning() {
        var jumped = Self.healthy(0)
        jumped.admin?.sources[0].state = "unusable"
        jumped.admin?.sources[0].heldJump = -619_315_200
        jumped.admin?.sources[0].droppedJumped = 42
        jumped.admin?.sources[0].note = "no other source to confirm it"
        var belowFloor = Self.healthy(1)
        belowFloor.admin?.sources[0].state = "unusable"
        belowFloor.admin?.sources[0].belowFloor = true
        belowFloor.admin?.sources[0].droppedBelowFloor = 300
        belowFloor.admin?.sources[0].note = "time 2007-02-05T14:13:20Z is before the floor 2026-08-22T14:13:20Z (build date): refused"
        var recovered = Self.healthy(2)
        recovered.admin?.sources[0].belowFloor = false
        recovered.admin?.sources[0].droppedJumped = 5
        let health = judge([jumped, belowFloor, recovered])
        XCTAssertEqual(reasons(health, 0), ["WARN GPS time jumped on GPS: -619315200.000 s (1024 weeks), samples held apart (42 dropped): no other source to confirm it"])
        XCTAssertEqual(reasons(health, 1), [
            "WARN GPS on GPS reports a time before the node's floor (300 samples refused): "
                + "time 2007-02-05T14:13:20Z is before the floor 2026-08-22T14:13:20Z (build date): refused",
        ])
        XCTAssertEqual(health.nodes[0].verdict, .warning)
        XCTAssertEqual(health.nodes[1].verdict, .warning)
        XCTAssertEqual(health.nodes[2].verdict, .ok, "past drops alone, with the GPS back in use, are no warning")
        XCTAssertEqual(health.verdict.exitCode, 1)
    }

    func testCertificates() {
        var soon = Self.healthy(0)
        soon.nts?.certificate.notAfter = Int64(Self.now) + 5 * 86_400 + 60
        var broken = Self.healthy(1)
        broken.nts = nil
        broken.ntsFailure = ProbeFailure(.certificate, "certificate verify failed: unable to get local issuer certificate")
        var swapped = Self.healthy(2)
        swapped.admin?.certificates = AdminCertificates(
            nts: CertificateDetails(subject: "CN=x", issuer: "CN=ca", subjectAlternativeNames: [], notBefore: 0, notAfter: 0, sha256: "cd", intermediates: 0),
            ntsSwaps: 1, admin: nil)
        let health = judge([soon, broken, swapped])
        XCTAssertEqual(reasons(health, 0), ["WARN NTS certificate expires in 5 days"])
        XCTAssertEqual(health.nodes[0].certificateDaysLeft.map { Int($0) }, 5)
        XCTAssertEqual(reasons(health, 1), ["CRIT NTS certificate chain does not verify: certificate verify failed: unable to get local issuer certificate"])
        XCTAssertEqual(reasons(health, 2), ["WARN serves NTS certificate ab… but reports cd… in service"])
    }

    func testTheOddCookieKeySetIsNamed() {
        var observations = (0..<3).map { Self.healthy($0) }
        // ntp3's cookie keys differ: its cookies open nowhere, and it opens nobody's.
        for index in 0..<3 {
            observations[index].cookieChecks = observations[index].cookieChecks.map { check in
                var check = check
                if check.issuer == "ntp3" || check.verifier == "ntp3" { check.outcome = .rejected }
                return check
            }
        }
        let health = judge(observations)
        XCTAssertEqual(health.nodes[0].verdict, .ok)
        XCTAssertEqual(health.nodes[1].verdict, .ok)
        XCTAssertEqual(reasons(health, 2), ["CRIT NTS cookie keys out of step with site lab: cookies do not open between it and ntp1, ntp2"])
        XCTAssertEqual(health.reasons.map(\.description), ["CRIT site lab: NTS cookies do not open across the site; out of step: ntp3"])
        XCTAssertEqual(health.verdict, .critical)
    }

    func testSiblingKeyMismatchAndUnreachableNodes() {
        var sender = Self.healthy(0)
        sender.admin?.keys?.siblings?[0].sendKey = 2  // to ntp2, which accepts only key 1 from it
        var dead = NodeObservation(node: "ntp3", site: "lab")
        dead.adminFailure = ProbeFailure(.unreachable, "connection refused")
        dead.ntpFailure = ProbeFailure(.timeout, "no response within 1000 ms")
        dead.elapsed = 1.0
        let health = judge([sender, Self.healthy(1), dead])
        XCTAssertEqual(reasons(health, 0), ["CRIT sibling key mismatch: sends key 2 to ntp2, which accepts only 1 from it"])
        XCTAssertEqual(reasons(health, 2), ["CRIT unreachable: admin API connection refused; NTP no response within 1000 ms"])
        XCTAssertEqual(health.verdict.exitCode, 2)
    }

    /// Faults the node reports that the fleet rules do not judge themselves show in `fleetctl health` as the
    /// node words them (a silent reference clock too, though its message starts like the covered ones);
    /// those the fleet judges itself are not shown twice.
    func testNodeReportedFaultsArePassedOnByFaultName() {
        var node = Self.healthy(0)
        node.admin?.health = AdminHealth(verdict: .degraded, reasons: [
            .init(.degraded, "sibling 127.0.0.12:123 unreachable for 9 s: 3 exchanges in a row failed (last: no reply)", fault: "sibling-unreachable:127.0.0.12:123"),
            .init(.degraded, "refclock GPS (shm) silent for 12 s: no report (time, sample or pulse) since", fault: "refclock-silent:GPS"),
            .init(.degraded, "descriptor limit reached: 64 open of 64, 9 accepts failed; NTS-KE, admin and metrics connections are refused (raise LimitNOFILE?)", fault: "descriptor-limit"),
            .init(.degraded, "in holdover for 60 s: no selectable source", fault: "holdover"),
            .init(.degraded, "NTS-KE certificate CN=ntp1 expires in 2 days", fault: "certificate-expiring"),
        ])
        let health = judge([node, Self.healthy(1), Self.healthy(2)])
        XCTAssertEqual(reasons(health, 0), [
            "WARN node reports: sibling 127.0.0.12:123 unreachable for 9 s: 3 exchanges in a row failed (last: no reply)",
            "WARN node reports: refclock GPS (shm) silent for 12 s: no report (time, sample or pulse) since",
            "WARN node reports: descriptor limit reached: 64 open of 64, 9 accepts failed; NTS-KE, admin and metrics connections are refused (raise LimitNOFILE?)",
        ])
        XCTAssertEqual(health.nodes[0].verdict, .warning)
        // A node that names no faults (an older one) is filtered by message as before.
        node.admin?.health = AdminHealth(verdict: .degraded, reasons: [.init(.degraded, "refclock GPS (shm) not connected")])
        XCTAssertEqual(reasons(judge([node, Self.healthy(1), Self.healthy(2)]), 0), [])
    }

    func testAWrongAdminCAIsOneFleetLine() {
        let observations = (0..<3).map { index -> NodeObservation in
            var observation = Self.healthy(index)
            observation.admin = nil
            observation.adminFailure = ProbeFailure(.certificate, "handshake failed: certificate verify failed")
            return observation
        }
        let health = judge(observations)
        XCTAssertEqual(health.reasons.count, 1)
        XCTAssertTrue(health.reasons[0].message.hasPrefix("no node's admin certificate verified against the inventory's admin_ca"), health.reasons[0].message)
        XCTAssertEqual(health.verdict, .unknown)
        XCTAssertEqual(health.verdict.exitCode, 3)
        XCTAssertEqual(reasons(health, 0), ["UNKNOWN inside not checked: see the fleet's admin credentials line"], "said once, for the fleet")
    }

    func testUnsynchronisedIsCritical() {
        var node = Self.healthy(0)
        node.admin?.tracking.serving.synchronized = false
        node.admin?.tracking.serving.source = "none"
        node.ntp?.leap = 3
        let health = judge([node, Self.healthy(1), Self.healthy(2)])
        XCTAssertEqual(reasons(health, 0), ["CRIT unsynchronised: clients are told leap 3 (none)"])
    }

    func testVerdictOrderAndExitCodes() {
        XCTAssertEqual([HealthVerdict.ok, .warning, .unknown, .critical].max(), .critical)
        XCTAssertEqual([HealthVerdict.ok, .warning, .unknown].max(), .unknown)
        XCTAssertEqual(HealthVerdict.allCases.map(\.exitCode), [0, 1, 2, 3])
    }
}

extension TrackingReport {
    static func holdover(seconds: Double) -> TrackingReport {
        TrackingReport(
            selected: nil, referenceID: 0, stratum: 1, leap: 0, synchronized: true, lastOffset: 0, rmsOffset: 0, frequencyPPM: 0, skewPPM: 0,
            rootDelay: 0, rootDispersion: 0, lastUpdateAge: seconds, updateInterval: 1, holdoverSeconds: seconds, errorBound: 1e-5, updates: 10,
            steps: 0, reason: "no selectable source")
    }
}

final class FormatTests: XCTestCase {
    func testOffsetsInChronycUnits() {
        XCTAssertEqual(HealthRules.formatOffset(0.0049), "+4.900 ms")
        XCTAssertEqual(HealthRules.formatOffset(-2.5), "-2.500 s")
        XCTAssertEqual(HealthRules.formatOffset(-0.000_000_01), "+0.0 µs", "no -0.0")
        XCTAssertEqual(HealthRules.formatOffset(-0.000_012_34), "-12.3 µs")
        XCTAssertEqual(HealthRules.durationText(90), "90 s")
        XCTAssertEqual(HealthRules.durationText(600), "10 min")
        XCTAssertEqual(HealthRules.durationText(7_300), "2.0 h")
    }

    func testHistoryIsThinnedEvenlyKeepingBothEnds() {
        XCTAssertEqual(AdminHistory.thin(Array(0..<10), to: 4), [0, 3, 6, 9])
        XCTAssertEqual(AdminHistory.thin(Array(0..<3), to: 4), [0, 1, 2])
        XCTAssertEqual(try AdminHistory.Query(parsing: "since=100&limit=5", now: 200), try AdminHistory.Query(parsing: "since=100&until=200&limit=5", now: 999))
        XCTAssertThrowsError(try AdminHistory.Query(parsing: "limit=0", now: 1))
        XCTAssertThrowsError(try AdminHistory.Query(parsing: "since=5&until=4", now: 1))
        XCTAssertThrowsError(try AdminHistory.Query(parsing: "bogus=1", now: 1))
        XCTAssertEqual(try AdminHistory.Query(parsing: "", now: 86_500).since, 100)
    }
}

import Admin
import NodeModels
import NTPCore
import TimeCore
import XCTest

/// The admin API's bodies: written and parsed back unchanged; bad JSON is a typed error naming the field.
final class AdminBodyTests: XCTestCase {
    func roundTrip<T: AdminBody>(_ value: T, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(try T(json: value.json()), value, file: file, line: line)
        XCTAssertEqual(try T(json: value.json(pretty: true)), value, file: file, line: line)
    }

    func testRoundTrips() throws {
        var status = AdminViewsTests.status()
        status.timekeeping = TimekeepingStatus(
            tracking: AdminViewsTests.tracking,
            sources: [AdminViewsTests.source("192.0.2.10", state: .selected, offset: 1e-5, jitter: 1e-6)],
            refclocks: [.init(name: "GPS", driver: "gpsd", connected: true, fixMode: 3, satellitesUsed: 9, satellitesVisible: 12)],
            leap: nil)
        status.nts = .init(listeners: ["127.0.0.1:4460"], certificate: .init(subject: "CN=x", notAfter: 10, sha256: "ab"), certificateSwaps: 1,
                           cookieKeys: [], rotateIntervalSeconds: 0, ntske: NTSKECounters(), activeConnections: 0)
        try roundTrip(AdminTracking(status: status))
        try roundTrip(AdminSources(status: status))
        try roundTrip(AdminServerStats(status: status))
        try roundTrip(AdminClients(status: status))
        try roundTrip(AdminGPS(status: status))
        try roundTrip(AdminHealth(status: status, now: 0))
        try roundTrip(AdminKeys(symmetric: [.init(id: 1, type: "AES128", bits: 128)], cookie: [.init(id: 2, state: .staged, createdAt: 5, ageSeconds: 1)], cookieRotateIntervalSeconds: 0))
        try roundTrip(AdminCertificates(nts: .init(subject: "CN=a", issuer: "CN=b", subjectAlternativeNames: ["DNS:a"], notBefore: 1, notAfter: 2, sha256: "00", intermediates: 0), ntsSwaps: 0, admin: nil))
        try roundTrip(CertificateInstallRequest(certificateChain: "-----BEGIN", privateKey: "k", requiredNames: ["a"]))
        try roundTrip(CookieKeyStageRequest(id: 3, key: "00", createdAt: 4))
        try roundTrip(CookieKeyResult(changed: true, keys: []))
        try roundTrip(ConfigReloadResult(reloads: 2))
        try roundTrip(AdminErrorBody(code: "conflict", error: "x"))
    }

    func testNonFiniteNumbersSurvive() throws {
        var tracking = AdminViewsTests.tracking
        tracking.skewPPM = Double.infinity
        tracking.lastOffset = Double.nan
        var status = AdminViewsTests.status()
        status.timekeeping = TimekeepingStatus(tracking: tracking, sources: [], refclocks: [], leap: nil)
        let parsed = try AdminTracking(json: AdminTracking(status: status).json())
        XCTAssertEqual(parsed.tracking?.skewPPM, .infinity)
        XCTAssertTrue(parsed.tracking?.lastOffset.isNaN ?? false)
    }

    func testBadBodiesAreTypedErrors() {
        XCTAssertThrowsError(try CookieKeyRequest(json: Array("not json".utf8))) { XCTAssertTrue($0 is AdminBodyError) }
        XCTAssertThrowsError(try CookieKeyRequest(json: Array("{}".utf8))) {
            XCTAssertEqual(($0 as? AdminBodyError)?.message, "missing field \"id\"")
        }
        XCTAssertThrowsError(try CookieKeyRequest(json: Array("{\"id\": -1}".utf8))) {
            XCTAssertTrue(($0 as? AdminBodyError)?.message.contains("id") ?? false, "\($0)")
        }
        XCTAssertThrowsError(try CookieKeyStageRequest(json: Array("{\"id\": 1, \"key\": 5}".utf8))) {
            XCTAssertEqual(($0 as? AdminBodyError)?.message.hasPrefix("field \"key\""), true, "\($0)")
        }
        XCTAssertThrowsError(try CertificateInstallRequest(json: [0xFF, 0x00]))
        // Never the key material in descriptions.
        XCTAssertFalse("\(CookieKeyStageRequest(id: 1, key: "deadbeef"))".contains("deadbeef"))
        XCTAssertFalse("\(CertificateInstallRequest(certificateChain: "c", privateKey: "SECRET"))".contains("SECRET"))
    }

    func testHealthVerdicts() {
        var status = AdminViewsTests.status()
        status.serving.source = "192.0.2.10"
        XCTAssertEqual(AdminHealth(status: status, now: 0), AdminHealth(verdict: .ok, reasons: []))
        status.nts = .init(listeners: [], certificate: .init(subject: "CN=x", notAfter: 10 * 86_400, sha256: ""), certificateSwaps: 0,
                           cookieKeys: [], rotateIntervalSeconds: 0, ntske: NTSKECounters(), activeConnections: 0)
        XCTAssertEqual(AdminHealth(status: status, now: 0).verdict, .degraded, "expires in 10 days")
        XCTAssertEqual(AdminHealth(status: status, now: 11 * 86_400).verdict, .critical, "expired")
        status.nts = nil
        var tracking = AdminViewsTests.tracking
        tracking.holdoverSeconds = 600
        status.timekeeping = TimekeepingStatus(tracking: tracking, sources: [], refclocks: [.init(name: "GPS", driver: "gpsd", connected: true, fixMode: 1)], leap: nil)
        let holdover = AdminHealth(status: status, now: 0)
        XCTAssertEqual(holdover.verdict, .degraded)
        XCTAssertEqual(holdover.reasons.map(\.message), ["in holdover for 600 s: no selectable source", "refclock GPS has no GPS fix"])
        status.serving.synchronized = false
        XCTAssertEqual(AdminHealth(status: status, now: 0).verdict, .critical)
        XCTAssertEqual(AdminHealth(status: AdminViewsTests.status(), now: 0).verdict, .degraded, "[local] stratum: no time source")
    }

    /// A state database whose writes fail degrades health with the reason, and clears with the fault.
    func testHealthSaysWhenTheStateDatabaseCannotBeWritten() {
        var status = AdminViewsTests.status()
        status.serving.source = "192.0.2.10"
        status.stateStore = StateStoreStatus(
            path: "/var/lib/fleetnode/state.sqlite", sizeBytes: 1, lastWrite: 90, events: 1, measurementsWritten: 1, pending: 42,
            dropped: 0, writeFailures: 3, lastError: "database or disk is full", retentionSeconds: 60, failingSince: 95)
        let health = AdminHealth(status: status, now: 100)
        XCTAssertEqual(health.verdict, .degraded)
        XCTAssertEqual(health.reasons.map(\.message), [
            "state database /var/lib/fleetnode/state.sqlite cannot be written for 5 s (3 failed writes, 42 rows waiting in memory): database or disk is full",
        ])
        status.stateStore?.failingSince = nil
        XCTAssertEqual(AdminHealth(status: status, now: 100).verdict, .ok, "clears when a write gets through")
    }

    /// A sibling that does not answer three times in a row, or whose requests this node rejects, degrades
    /// health with the reason and a stable fault name; an unsynchronised answer is not "unreachable".
    func testHealthSaysWhenASiblingIsUnreachableOrRejected() {
        var status = AdminViewsTests.status()
        status.serving.source = "192.0.2.10"
        var sibling = NodeStatus.Sibling(name: "192.0.2.12", address: "192.0.2.12", port: 123, sendKey: 1, acceptedKeys: [1],
                                         requests: 10, replies: 7, failures: 2, lastFailure: "no reply within 1 s",
                                         consecutiveFailures: 2, failingSince: 90)
        status.siblings = [sibling]
        XCTAssertEqual(AdminHealth(status: status, now: 100).verdict, .ok, "two lost exchanges are not an outage")
        sibling.consecutiveFailures = 3
        status.siblings = [sibling]
        var health = AdminHealth(status: status, now: 100)
        XCTAssertEqual(health.verdict, .degraded)
        XCTAssertEqual(health.reasons.map(\.fault), ["sibling-unreachable:192.0.2.12"])
        XCTAssertEqual(health.reasons.first?.message,
                       "sibling 192.0.2.12 unreachable for 10 s: 3 exchanges in a row failed (last: no reply within 1 s); it cannot cross-check this node's time")
        sibling.consecutiveFailures = 0
        sibling.failingSince = nil
        sibling.rejectingSince = 95
        sibling.lastRejection = "MAC does not verify under key 1"
        status.siblings = [sibling]
        health = AdminHealth(status: status, now: 100)
        XCTAssertEqual(health.reasons.map(\.fault), ["sibling-key-rejected:192.0.2.12"])
        XCTAssertTrue(health.reasons[0].message.contains("MAC does not verify under key 1"), health.reasons[0].message)
        sibling.rejectingSince = nil
        status.siblings = [sibling]
        XCTAssertEqual(AdminHealth(status: status, now: 100).verdict, .ok, "clears once its requests are answered")
    }

    /// Failed accepts in the last 10 s mean the descriptor limit is reached now; older ones do not.
    func testHealthSaysWhenTheDescriptorLimitIsReached() {
        var status = AdminViewsTests.status()
        status.serving.source = "192.0.2.10"
        status.descriptors = DescriptorStatus(open: 64, limit: 64, acceptFailures: 12, lastAcceptFailure: 95)
        let health = AdminHealth(status: status, now: 100)
        XCTAssertEqual(health.verdict, .degraded)
        XCTAssertEqual(health.reasons.map(\.fault), ["descriptor-limit"])
        XCTAssertTrue(health.reasons[0].message.hasPrefix("descriptor limit reached: 64 open of 64, 12 accepts failed"), health.reasons[0].message)
        XCTAssertEqual(AdminHealth(status: status, now: 106).verdict, .degraded, "still 64 open of 64")
        status.descriptors?.open = 40
        XCTAssertEqual(AdminHealth(status: status, now: 106).verdict, .ok, "no failed accept for 10 s and room again: cleared")
        status.descriptors = DescriptorStatus(open: 1_000, limit: 1_024, acceptFailures: 0, lastAcceptFailure: nil)
        XCTAssertEqual(AdminHealth(status: status, now: 106).reasons.map(\.fault), ["descriptor-limit"], "nearly all open (an NTS-KE flood)")
    }

    /// A connected reference clock that stops reporting (a PPS that stops, gpsd sending nothing) is silent.
    func testHealthSaysWhenARefclockFallsSilent() {
        var status = AdminViewsTests.status()
        status.serving.source = "GPS"
        let tracking = AdminViewsTests.tracking
        status.timekeeping = TimekeepingStatus(tracking: tracking, sources: [], refclocks: [
            .init(name: "PPS", driver: "shm", connected: true, lastReportAge: 1.2, reports: 100),
        ], leap: nil)
        XCTAssertEqual(AdminHealth(status: status, now: 0).verdict, .ok)
        status.timekeeping?.refclocks[0].lastReportAge = 12.5
        let health = AdminHealth(status: status, now: 0)
        XCTAssertEqual(health.reasons.map(\.fault), ["refclock-silent:PPS"])
        XCTAssertEqual(health.reasons.first?.message, "refclock PPS (shm) silent for 12 s: no report (time, sample or pulse) since")
    }

    /// A reference clock jittering beyond what its kind shows when it works: PPS over 1 ms, SHM over 50 ms;
    /// gpsd's serial TPV time and network sources are not judged. Whether selection still follows it is said.
    func testHealthSaysWhenARefclockJittersWildly() {
        var status = AdminViewsTests.status()
        status.serving.source = "PPS"
        func source(_ kind: String, jitter: Double) -> SourceReport {
            var report = AdminViewsTests.source("S-\(kind)", state: .selected, offset: 0, jitter: jitter)
            report.kind = SourceKind(rawValue: kind)!
            return report
        }
        status.timekeeping = TimekeepingStatus(tracking: AdminViewsTests.tracking, sources: [
            source("pps", jitter: 0.0005), source("shm", jitter: 0.04), source("gps", jitter: 0.3), source("ntp", jitter: 0.2),
        ], refclocks: [], leap: nil)
        XCTAssertEqual(AdminHealth(status: status, now: 0).verdict, .ok)
        status.timekeeping?.sources = [source("pps", jitter: 0.002), source("shm", jitter: 0.15)]
        let health = AdminHealth(status: status, now: 0)
        XCTAssertEqual(health.reasons.map(\.fault), ["refclock-jitter:S-pps", "refclock-jitter:S-shm"])
        XCTAssertEqual(health.reasons.last?.message, "source S-shm (shm) jitters 150.0 ms, over the 50 ms such a reference clock shows when it works")
        // Selection no longer follows it (`SourceKind.jitterLimit`): health says so.
        status.timekeeping?.sources[1].state = .jittery
        XCTAssertEqual(AdminHealth(status: status, now: 0).reasons.last?.message,
                       "source S-shm (shm) jitters 150.0 ms, over the 50 ms such a reference clock shows when it works; not followed until it steadies")
    }

    func testCredentialsFromOptionsThenEnvironment() throws {
        let environment = [AdminCredentials.certificateVariable: "/e/cert", AdminCredentials.privateKeyVariable: "/e/key", AdminCredentials.caVariable: "/e/ca"]
        XCTAssertEqual(try AdminCredentials.resolve(certificate: "/o/cert", privateKey: nil, ca: nil, environment: environment),
                       AdminCredentials(certificate: "/o/cert", privateKey: "/e/key", ca: "/e/ca"))
        XCTAssertThrowsError(try AdminCredentials.resolve(certificate: nil, privateKey: "/k", ca: nil, environment: [:])) {
            XCTAssertEqual("\($0)", "the admin API needs a client certificate: missing --cert (or FLEETCTL_CERT), --ca (or FLEETCTL_CA)")
        }
        XCTAssertThrowsError(try AdminClient(node: "127.0.0.1:99999", credentials: AdminCredentials(certificate: "/x", privateKey: "/y", ca: "/z")))
    }
}

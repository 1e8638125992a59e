import Admin
import Foundation
import XCTest

/// `fleetctl health` against three real nodes (SHM "GPS", sibling peering, shared NTS cookie keys, the admin
/// API), run as an operator runs it: the executable, an inventory file, exit codes, table and JSON.
final class FleetHealthTests: XCTestCase {
    /// Every node OK; a GPS that stops and one that lies 5 ms each give a WARN that says so; a killed node is
    /// CRIT unreachable while the sweep still judges the others within its deadline; history keeps them.
    func testSweepTellsTheTruthAboutEachNode() async throws {
        let site = try await FleetSite(testCase: self)
        defer { site.stop() }
        for index in 0..<3 {
            try await waitFor(site.cluster.nodes[index], seconds: 40) { status in
                status.serving.stratum == 1 && status.siblings.allSatisfy { $0.replies >= 2 }
            }
        }

        // All OK: exit 0, in JSON and in the table.
        var sweep = try site.sweep()
        XCTAssertEqual(sweep.status, 0, "\(sweep.health.nodes.map { ($0.node, $0.reasons.map(\.message)) }) \(sweep.stderr)")
        XCTAssertEqual(sweep.health.verdict, "OK")
        XCTAssertEqual(sweep.health.nodes.map(\.node), ["ntp1", "ntp2", "ntp3"])
        for node in sweep.health.nodes {
            XCTAssertEqual(node.verdict, "OK", "\(node.node): \(node.reasons.map(\.message))")
            XCTAssertEqual(node.stratum, 1)
            XCTAssertTrue(node.passed.contains { $0.hasPrefix("NTS: key establishment and an authenticated exchange (AEAD 15)") }, "\(node.passed)")
            XCTAssertTrue(node.passed.contains { $0.hasPrefix("its cookies open on") }, "\(node.passed)")
            XCTAssertTrue(node.passed.contains { $0.hasPrefix("sibling keys agree with 2 siblings") }, "\(node.passed)")
            XCTAssertLessThan(abs(node.offsetFromMedian ?? 1), 0.001)
            XCTAssertEqual(node.certificateDaysLeft.map { Int($0) }, 29)
        }
        let table = try site.fleetctl(["health"])
        XCTAssertEqual(table.status, 0)
        let lines = table.stdout.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines[0].hasPrefix("NODE"), table.stdout)
        XCTAssertTrue(lines[1].hasPrefix("ntp1") && lines[1].contains(" OK "), table.stdout)
        XCTAssertTrue(lines.last?.hasPrefix("fleet OK: 3 nodes (3 OK)") ?? false, table.stdout)
        XCTAssertFalse(table.stdout.contains("\u{1B}["), "no colour when not on a terminal")
        let verbose = try site.fleetctl(["health", "-v", "ntp2"])
        XCTAssertTrue(verbose.stdout.contains("ok    sibling keys agree"), verbose.stdout)

        // The site report: an HTML page whose three plots (offset, jitter, frequency) are drawn, as headless
        // Chromium renders it.
        try await Task.sleep(for: .seconds(4))  // a few clock updates stored (flushed every second)
        let page = site.directory.appendingPathComponent("report.html").path
        let report = try site.fleetctl(["report", "--output", page, "--hours", "0.05"])
        XCTAssertEqual(report.status, 0, report.stderr)
        XCTAssertTrue(report.stdout.contains("report written to \(page)"), report.stdout)
        XCTAssertTrue(report.stdout.contains("ntp1: frequency"), report.stdout)
        let html = try String(contentsOfFile: page, encoding: .utf8)
        XCTAssertEqual(html.components(separatedBy: "<svg ").count, 4, "three plots")
        XCTAssertFalse(html.contains("<script"), "self-contained, no script")
        let drawn = try SiteReportScreenshot.plotPixels(page: page, in: site.directory)
        for background in ["#eaf2fb", "#fbeeea", "#ecf7ec"] {
            XCTAssertGreaterThan(drawn[background] ?? 0, 30, "plot \(background) has lines drawn in it: \(drawn)")
        }

        // Every admin read has a command, on one node, a site or all of them.
        let gps = try site.fleetctl(["gps", "ntp1"])
        XCTAssertEqual(gps.status, 0, gps.stderr)
        XCTAssertTrue(gps.stdout.contains("GPS       shm     connected"), gps.stdout)
        let keys = try site.fleetctl(["keys", "--all"])
        XCTAssertEqual(keys.status, 0, keys.stderr)
        XCTAssertEqual(keys.stdout.components(separatedBy: "== ntp").count, 4, keys.stdout)
        XCTAssertTrue(keys.stdout.contains("Sibling 127.0.0.12:\(site.cluster.port): sends key 1, accepts 1"), keys.stdout)
        let clients = try site.fleetctl(["clients", "--site", "lab", "--json"])
        XCTAssertEqual(clients.status, 0, clients.stderr)
        let clientsJSON = try JSONSerialization.jsonObject(with: Data(clients.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(clientsJSON?.keys.sorted(), ["ntp1", "ntp2", "ntp3"], clients.stdout)
        let reload = try site.fleetctl(["reload", "ntp2"])
        XCTAssertEqual(reload.status, 0, reload.stderr)
        XCTAssertTrue(reload.stdout.hasPrefix("reloaded (1 reload since start)"), reload.stdout)
        let unknown = try site.fleetctl(["gps", "ntp9"])
        XCTAssertEqual(unknown.status, 2)
        XCTAssertEqual(unknown.stderr, "fleetctl: no node \"ntp9\" in the inventory (nodes: ntp1, ntp2, ntp3)\n")
        // A cookie key staged on the whole site, with one key drawn once, then retired: never printed.
        let staged = try site.fleetctl(["keys", "cookie", "stage", "--id", "77", "--all"])
        XCTAssertEqual(staged.status, 0, staged.stderr)
        XCTAssertEqual(staged.stdout.components(separatedBy: "77 staged").count, 4, staged.stdout)
        XCTAssertFalse(staged.stdout.contains(where: { _ in staged.stdout.count > 2_000 }))
        sweep = try site.sweep()
        XCTAssertEqual(sweep.health.verdict, "OK", "a staged key changes nothing clients see")
        let retired = try site.fleetctl(["keys", "cookie", "retire", "--id", "77", "--site", "lab"])
        XCTAssertEqual(retired.status, 0, retired.stderr)

        // ntp3's GPS stops: it follows a sibling, and the sweep says why; the others stay OK.
        site.cluster.feeders[2].setRunning(false)
        try await waitFor(site.cluster.nodes[2], seconds: 30) { $0.serving.stratum == 2 }
        sweep = try site.sweep()
        XCTAssertEqual(sweep.status, 1, sweep.stderr)
        XCTAssertEqual(sweep.health.verdict, "WARN")
        let lost = try XCTUnwrap(sweep.health.node("ntp3"))
        XCTAssertEqual(lost.verdict, "WARN")
        XCTAssertTrue(lost.reasons.contains { $0.message.hasPrefix("not on its own GPS: following 127.0.0.1") }, "\(lost.reasons.map(\.message))")
        XCTAssertEqual(sweep.health.node("ntp1")?.verdict, "OK")
        XCTAssertEqual(sweep.health.node("ntp2")?.verdict, "OK")
        site.cluster.feeders[2].setRunning(true)
        try await waitFor(site.cluster.nodes[2], seconds: 30) { $0.serving.stratum == 1 }

        // ntp2's GPS lies by 5 ms: outvoted by its siblings.
        site.cluster.feeders[1].setOffset(nanoseconds: 5_000_000)
        try await waitFor(site.cluster.nodes[1], seconds: 40) { status in
            status.timekeeping?.sources.first { $0.id.name == "GPS" }?.state == .falseticker
        }
        sweep = try site.sweep()
        let liar = try XCTUnwrap(sweep.health.node("ntp2"))
        XCTAssertEqual(liar.verdict, "WARN", "\(liar.reasons.map(\.message))")
        XCTAssertTrue(liar.reasons.contains { $0.check == "gps-outvoted" && $0.message.hasPrefix("GPS outvoted by siblings: reference clock disagrees with the majority") },
                      "\(liar.reasons.map(\.message))")
        site.cluster.feeders[1].setOffset(nanoseconds: 0)

        // ntp1's receiver jumps 2 s (a firmware bug): its samples are held apart and its siblings keep the
        // old time, so it follows them; `fleetctl health` warns `gps-jump` with the reason and `fleetctl
        // sources` shows the held source, and both clear when the receiver is right again.
        site.cluster.feeders[0].setOffset(nanoseconds: 2_000_000_000)
        try await waitFor(site.cluster.nodes[0], seconds: 30) { status in
            status.timekeeping?.sources.first { $0.id.name == "GPS" }?.note?.contains("keeps the old time") == true
        }
        sweep = try site.sweep()
        XCTAssertEqual(sweep.status, 1, sweep.stderr)
        let jumped = try XCTUnwrap(sweep.health.node("ntp1"))
        XCTAssertEqual(jumped.verdict, "WARN", "\(jumped.reasons.map(\.message))")
        let jumpReason = try XCTUnwrap(jumped.reasons.first { $0.check == "gps-jump" }, "\(jumped.reasons.map(\.message))")
        XCTAssertEqual(jumpReason.severity, "WARN")
        XCTAssertTrue(jumpReason.message.hasPrefix("GPS time jumped on GPS: +2.0") && jumpReason.message.contains("samples held apart")
            && jumpReason.message.contains("keeps the old time: not followed"), jumpReason.message)
        let jumpTable = try site.fleetctl(["health", "-v", "ntp1"])
        XCTAssertEqual(jumpTable.status, 1, jumpTable.stderr)
        XCTAssertTrue(jumpTable.stdout.contains("WARN  GPS time jumped on GPS: +2.0"), jumpTable.stdout)
        let heldSources = try site.fleetctl(["sources", "ntp1"])
        XCTAssertEqual(heldSources.status, 0, heldSources.stderr)
        let gpsLine = heldSources.stdout.split(separator: "\n").first { $0.contains("GPS") && $0.contains("time jumped by +2.0") }
        XCTAssertNotNil(gpsLine, heldSources.stdout)
        XCTAssertTrue(gpsLine?.contains("jumped]") == true && gpsLine?.contains("keeps the old time") == true, heldSources.stdout)
        site.cluster.feeders[0].setOffset(nanoseconds: 0)
        try await waitFor(site.cluster.nodes[0], seconds: 30) { status in
            status.serving.stratum == 1 && status.timekeeping?.sources.first { $0.id.name == "GPS" }?.heldJump == nil
        }
        sweep = try site.sweep()
        XCTAssertFalse(sweep.health.node("ntp1")?.reasons.contains { $0.check == "gps-jump" } ?? true, "\(sweep.health.node("ntp1")?.reasons.map(\.message) ?? [])")
        let clearedSources = try site.fleetctl(["sources", "ntp1"])
        XCTAssertFalse(clearedSources.stdout.contains("time jumped"), clearedSources.stdout)
        print("jumped GPS as fleetctl shows it: \(jumpReason.message) | \(gpsLine ?? "-")")

        // ntp1 hangs (SIGSTOP: the kernel still accepts its connections, nothing answers): CRIT, and the
        // others are still judged, within the deadline (3 s).
        let hung = try XCTUnwrap(site.cluster.node(0))
        hung.signal(SIGSTOP)
        var started = Date()
        sweep = try site.sweep()
        var took = Date().timeIntervalSince(started)
        hung.signal(SIGCONT)
        XCTAssertEqual(sweep.status, 2)
        XCTAssertEqual(sweep.health.node("ntp1")?.verdict, "CRIT", "\(sweep.health.node("ntp1")?.reasons.map(\.message) ?? [])")
        XCTAssertNotNil(sweep.health.node("ntp2")?.stratum, "the others judged")
        XCTAssertLessThan(took, 3 + 2.5, "the deadline bounds the sweep (process start included)")
        XCTAssertGreaterThan(sweep.health.node("ntp1")?.elapsed ?? 0, 2.5, "the hung node used its deadline")
        // The others wait on the hung node only for their cookie cross-check with it (1 s at most).
        XCTAssertLessThan(sweep.health.node("ntp2")?.elapsed ?? 9, 2.5, "and did not hold up the others")
        print("fleet health sweep with one node hung: \(String(format: "%.2f", took)) s wall (fleetctl start included), sweep \(String(format: "%.2f", sweep.health.elapsed)) s")

        // ntp1 killed: CRIT unreachable at once.
        site.cluster.stopNode(0)
        started = Date()
        sweep = try site.sweep()
        took = Date().timeIntervalSince(started)
        XCTAssertEqual(sweep.status, 2)
        XCTAssertEqual(sweep.health.verdict, "CRIT")
        let dead = try XCTUnwrap(sweep.health.node("ntp1"))
        XCTAssertEqual(dead.verdict, "CRIT")
        XCTAssertTrue(dead.reasons.first?.message.hasPrefix("unreachable: admin API") ?? false, "\(dead.reasons.map(\.message))")
        XCTAssertNotNil(sweep.health.node("ntp2")?.stratum, "the others judged")
        XCTAssertLessThan(took, 3 + 2.5)
        print("fleet health sweep with one node down: \(String(format: "%.2f", took)) s wall (fleetctl start included), sweep \(String(format: "%.2f", sweep.health.elapsed)) s")

        // History: the sweeps above, newest first.
        let history = try site.fleetctl(["history", "ntp1", "--limit", "3"])
        XCTAssertEqual(history.status, 0, history.stderr)
        let entries = history.stdout.split(separator: "\n")
        XCTAssertEqual(entries.count, 3, history.stdout)
        XCTAssertTrue(entries[0].contains("CRIT") && entries[0].contains("unreachable"), history.stdout)
    }

    /// Certificates as served (5 days left: WARN; a chain from another CA: CRIT), a node whose cookie keys
    /// differ from its site's (named), a wrong admin CA (one fleet line), a bad inventory and an unreadable
    /// credential file (one clear line each).
    func testCertificatesCookiesAndCredentials() async throws {
        let foreignKeys = try NodeProcess.makeDirectory()
        defer { try? FileManager.default.removeItem(at: foreignKeys) }
        let site = try await FleetSite(testCase: self, cookieKeyFiles: [2: foreignKeys.appendingPathComponent("other-keys").path]) { pki, siteCA in
            let foreign = try pki.authority("foreign")
            return [
                0: try pki.issue(by: siteCA, name: "nts-short", server: true, days: 5),
                1: try pki.issue(by: foreign, name: "nts-foreign", server: true),
            ]
        }
        defer { site.stop() }
        for index in 0..<3 {
            try await waitFor(site.cluster.nodes[index], seconds: 40) { $0.serving.stratum == 1 && $0.siblings.allSatisfy { $0.replies >= 2 } }
        }
        let sweep = try site.sweep()
        XCTAssertEqual(sweep.status, 2, sweep.stderr)
        let short = try XCTUnwrap(sweep.health.node("ntp1"))
        XCTAssertTrue(short.reasons.contains { $0.severity == "WARN" && $0.message.hasPrefix("NTS certificate expires in 4 days") }, "\(short.reasons.map(\.message))")
        let foreign = try XCTUnwrap(sweep.health.node("ntp2"))
        XCTAssertEqual(foreign.verdict, "CRIT")
        XCTAssertTrue(foreign.reasons.contains { $0.check == "certificate-chain" && $0.message.hasPrefix("NTS certificate chain does not verify") },
                      "\(foreign.reasons.map(\.message))")
        let odd = try XCTUnwrap(sweep.health.node("ntp3"))
        XCTAssertTrue(odd.reasons.contains { $0.check == "cookie-keys" && $0.message.contains("out of step with site lab") }, "\(odd.reasons.map(\.message))")
        XCTAssertFalse(short.reasons.contains { $0.check == "cookie-keys" }, "ntp1's keys are the site's")
        XCTAssertTrue(sweep.health.reasons.contains { $0.message == "site lab: NTS cookies do not open across the site; out of step: ntp3" },
                      "\(sweep.health.reasons.map(\.message))")

        // A wrong admin CA: one line for the fleet, UNKNOWN inside.
        let other = try site.pki.authority("other-admin")
        try await site.writeInventory(adminCA: other.certificate)
        let wrongCA = try site.fleetctl(["health"])
        let caLines = wrongCA.stdout.split(separator: "\n").filter { $0.contains("admin certificate") }
        XCTAssertEqual(caLines.count, 1, wrongCA.stdout)
        XCTAssertTrue(caLines.first?.hasPrefix("fleet: UNKNOWN no node's admin certificate verified against the inventory's admin_ca") ?? false, wrongCA.stdout)

        // A bad inventory: FILE:LINE: key: message, exit 3.
        let bad = site.directory.appendingPathComponent("bad.toml").path
        try "[[site]]\nname = \"lab\"\n[[node]]\nname = \"x\"\nadmin = \"127.0.0.1:1\"\nntp = \"127.0.0.1\"\nsiblings = [\"y\"]\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let checked = try site.fleetctl(["inventory", "check"], inventory: bad)
        XCTAssertEqual(checked.status, 3)
        XCTAssertEqual(checked.stderr, "\(bad):7: node[1].siblings: \"y\" is not a node of the inventory\n")

        // An unreadable credential file: one line naming it.
        try await site.writeInventory()
        let keyPath = site.access.credentials.privateKey
        chmod(keyPath, 0o644)
        let loose = try site.fleetctl(["health"])
        chmod(keyPath, 0o600)
        XCTAssertEqual(loose.status, 3)
        XCTAssertEqual(loose.stderr.split(separator: "\n").count, 1, loose.stderr)
        XCTAssertTrue(loose.stderr.contains("credentials.private_key: \(keyPath) is readable by group or others"), loose.stderr)
        try site.inventoryText.replacingOccurrences(of: keyPath, with: keyPath + ".missing").write(toFile: site.inventoryPath, atomically: true, encoding: .utf8)
        let missing = try site.fleetctl(["inventory", "check"])
        XCTAssertEqual(missing.status, 3)
        XCTAssertTrue(missing.stderr.hasSuffix("credentials.private_key: \(keyPath).missing: cannot read the file (no such file)\n"), missing.stderr)
        let good = try site.fleetctl(["inventory", "check"], inventory: site.inventoryPath + ".none")
        XCTAssertTrue(good.stderr.contains("no such file (give --inventory FILE or set FLEETCTL_INVENTORY)"), good.stderr)
    }
}

import Foundation
import FleetCrypto
import NodeModels
import NTPCore
import XCTest

/// `fleetctl rotate` against three real nodes while chrony clients (NTS and symmetric-key) and the siblings
/// keep polling: no exchange fails anywhere; fleetctl SIGKILLed after each step resumes to the same result
/// as an uninterrupted rotation; a node killed mid-rotation stops it before anything irreversible; abort
/// restores the old state; a certificate that does not name the node is refused before anything changes.
final class RotationTests: XCTestCase {
    /// Three nodes with state databases (keys staged with their material are kept there) and their own
    /// cookie key files, holding the same site key to start with.
    func makeSite() async throws -> FleetSite {
        let keys = try NodeProcess.makeDirectory()
        addTeardownBlock { try? FileManager.default.removeItem(at: keys) }
        // Not SystemRandomNumberGenerator: an empty struct passed inout through a closure crashes ThreadSanitizer (README, Sanitizers).
        var random = SecureRandomGenerator()
        let set = try CookieKeySet(keys: [CookieKey.generate(id: 1, createdAt: Int64(Date().timeIntervalSince1970), using: &random)])
        var files: [Int: String] = [:]
        for index in 0..<3 {
            let path = keys.appendingPathComponent("cookie-keys-\(index)").path
            try set.serialized().write(toFile: path, atomically: true, encoding: .utf8)
            chmod(path, 0o600)
            files[index] = path
        }
        // Every FleetSite node has a state database (sibling key changes are stored there).
        let site = try await FleetSite(testCase: self, cookieKeyFiles: files)
        do {
            try await site.writeInventory(extraThresholds: "cookie_lifetime = 4\nrotation_verify_timeout = 30")
            for node in site.cluster.nodes {
                try await waitFor(node, seconds: 40) { $0.serving.stratum == 1 && $0.siblings.allSatisfy { $0.replies >= 2 } }
            }
        } catch {
            site.stop()
            throw error
        }
        return site
    }

    /// Each node's sibling failures and rejections, and its dropped authentication failures.
    func nodeFailures(_ site: FleetSite) async throws -> [String: UInt64] {
        var result: [String: UInt64] = [:]
        for (index, node) in site.cluster.nodes.enumerated() {
            let status = try await node.status()
            for sibling in status.siblings {
                result["node \(index + 1) polling \(sibling.name)"] = sibling.failures
                result["node \(index + 1) rejecting \(sibling.name)"] = sibling.rejected
            }
            result["node \(index + 1) authentication failures"] = status.ntp.dropped["authenticationFailed"] ?? 0
        }
        return result
    }

    func siblingKeys(_ site: FleetSite) async throws -> [[String]] {
        var result: [[String]] = []
        for node in site.cluster.nodes {
            result.append(try await node.status().siblings.map { "send \($0.sendKey) accept \($0.acceptedKeys)" })
        }
        return result
    }

    func run(_ site: FleetSite, _ arguments: [String], killAfter: String? = nil) throws -> ToolResult {
        let started = Date()
        let result = try site.fleetctl(arguments, environment: killAfter.map { ["FLEETCTL_TEST_KILL_AFTER_STEP": $0] } ?? [:])
        print("fleetctl \(arguments.joined(separator: " "))\(killAfter.map { " (killed after step \($0))" } ?? ""): exit \(result.status), \(String(format: "%.2f", Date().timeIntervalSince(started))) s")
        return result
    }

    /// Each node's served fingerprint, from `certs status --json`.
    func served(_ site: FleetSite) throws -> [String] {
        let rows = try JSONSerialization.jsonObject(with: Data(try run(site, ["certs", "status", "--json"]).stdout.utf8)) as? [[String: Any]] ?? []
        return rows.map { "\($0["node"] ?? "") \($0["served"] ?? "none")" }
    }

    /// A sweep once the fleet settled: OK within a few tries (a loaded machine can put one NTP probe a few
    /// milliseconds off the fleet median once).
    func settledSweep(_ site: FleetSite) async throws -> (status: Int32, health: SweptHealth, stderr: String) {
        var sweep = try site.sweep()
        for _ in 0..<5 where sweep.status != 0 {
            try await Task.sleep(for: .seconds(2))
            sweep = try site.sweep()
        }
        return sweep
    }

    /// The NTS-KE certificate's fingerprint in `certs show --json`.
    func servedFingerprint(_ json: String) throws -> String {
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        return try XCTUnwrap((object?["nts"] as? [String: Any])?["sha256"] as? String, json)
    }

    func testSymmetricRotationKilledAfterEveryStepResumesAndAbortRestores() async throws {
        let site = try await makeSite()
        defer { site.stop() }
        let clients = try await ChronyClients(site: site)
        defer { clients.stop() }
        try await clients.waitForReplies(3)
        try await Task.sleep(for: .seconds(1))
        let chronyBefore = try clients.counters()
        let nodesBefore = try await nodeFailures(site)
        let keys1 = try await siblingKeys(site)
        XCTAssertEqual(keys1, Array(repeating: ["send 1 accept [1]", "send 1 accept [1]"], count: 3))

        // The plan, changing nothing.
        let dry = try run(site, ["rotate", "symmetric", "--dry-run"])
        XCTAssertEqual(dry.status, 0, dry.stderr)
        XCTAssertTrue(dry.stdout.contains("site lab: new key 4 (AES128) replaces key 1"), dry.stdout)
        XCTAssertTrue(dry.stdout.contains("-- from here on, steps cannot be undone --\n  10. retire key 1 on ntp1"), dry.stdout)
        let refused = try run(site, ["rotate", "symmetric"])
        XCTAssertEqual(refused.status, 3)
        XCTAssertTrue(refused.stderr.contains("add --yes"), refused.stderr)

        // Killed after every step in turn (after the step's action, before or after its journal entry).
        var started = Date()
        var result = try run(site, ["rotate", "symmetric", "--yes"], killAfter: "1")
        XCTAssertEqual(result.status, SIGKILL, result.stdout + result.stderr)
        for step in 2...12 {
            let status = try run(site, ["rotate", "status"])
            XCTAssertEqual(status.status, step % 2 == 1 ? 2 : 1, status.stdout)
            result = try run(site, ["rotate", "resume"], killAfter: step == 12 ? nil : (step % 2 == 0 ? "\(step)-" : "\(step)"))
            if step < 12 { XCTAssertEqual(result.status, SIGKILL, "step \(step): " + result.stdout + result.stderr) }
        }
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("finished: sibling symmetric keys rotated on ntp1, ntp2, ntp3"), result.stdout)
        print("symmetric rotation killed after each of 12 steps and resumed: \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        let killed = try await siblingKeys(site)
        XCTAssertEqual(killed, Array(repeating: ["send 4 accept [4]", "send 4 accept [4]"], count: 3))
        let status = try run(site, ["rotate", "status", "--json"])
        XCTAssertEqual(status.status, 0)
        XCTAssertTrue(status.stdout.contains("\"phase\" : \"finished\""), status.stdout)
        XCTAssertFalse(status.stdout.contains("\"state\" : \"pending\""))

        // Uninterrupted: the same result, one key further.
        started = Date()
        result = try run(site, ["rotate", "symmetric", "--yes"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        print("symmetric rotation uninterrupted: \(String(format: "%.1f", Date().timeIntervalSince(started))) s\n\(result.stdout)")
        let keys2 = try await siblingKeys(site)
        XCTAssertEqual(keys2, killed.map { $0.map { $0.replacingOccurrences(of: "4", with: "5") } })
        XCTAssertEqual(result.stdout.split(separator: "\n").filter { $0.hasPrefix("[") }.count, 12, "progress: one line per step")

        // Abort after two nodes switched to key 6: back to key 5 everywhere, and the sweep is OK.
        result = try run(site, ["rotate", "symmetric", "--yes"], killAfter: "7")
        XCTAssertEqual(result.status, SIGKILL)
        let keys3 = try await siblingKeys(site)
        XCTAssertEqual(keys3[0], ["send 6 accept [5, 6]", "send 6 accept [5, 6]"])
        result = try run(site, ["rotate", "abort", "--yes"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("switch ntp2 back to send key 5"), result.stdout)
        XCTAssertTrue(result.stdout.contains("aborted"), result.stdout)
        let keys4 = try await siblingKeys(site)
        XCTAssertEqual(keys4, Array(repeating: ["send 5 accept [5]", "send 5 accept [5]"], count: 3))
        try await Task.sleep(for: .seconds(2))
        let sweep = try await settledSweep(site)
        XCTAssertEqual(sweep.status, 0, "\(sweep.health.nodes.map { ($0.node, $0.reasons.map(\.message)) })")

        // Not one failed exchange: chrony's counters and the nodes' own.
        try await Task.sleep(for: .seconds(1))
        XCTAssertEqual(try clients.failuresSince(chronyBefore), [:], "chrony clients")
        let nodesAfter = try await nodeFailures(site)
        XCTAssertEqual(nodesAfter, nodesBefore, "siblings and nodes")
        let exchanges = try clients.counters().values.map(\.valid).reduce(0, +) - chronyBefore.values.map(\.valid).reduce(0, +)
        print("symmetric rotations: \(exchanges) chrony exchanges, 0 failed; node counters unchanged: \(nodesAfter)")
    }

    func testCookieRotationWithClientsThenANodeKilledMidway() async throws {
        let site = try await makeSite()
        defer { site.stop() }
        let clients = try await ChronyClients(site: site)
        try await clients.waitForReplies(3)
        try await Task.sleep(for: .seconds(1))
        let chronyBefore = try clients.counters()
        let nodesBefore = try await nodeFailures(site)

        var started = Date()
        // The rotation runs in the background; while it waits for clients to renew their cookies, a second
        // fleetctl may neither resume nor abort it (one rotation runner per admin host database).
        let executable = NodeProcess.binDirectory.appendingPathComponent("fleetctl").path
        let inventory = site.inventoryPath
        let background = Task.detached {
            try ExternalTool.run(executable, ["rotate", "cookie", "--yes", "--inventory", inventory], timeout: 120)
        }
        var phase = ""
        for _ in 0..<100 where phase != "waiting" {
            try await Task.sleep(for: .milliseconds(100))
            let status = try site.fleetctl(["rotate", "status", "--json"])
            phase = ((try? JSONSerialization.jsonObject(with: Data(status.stdout.utf8))) as? [String: Any])?["phase"] as? String ?? ""
        }
        XCTAssertEqual(phase, "waiting")
        for second in [["rotate", "resume"], ["rotate", "abort", "--yes"]] {
            let refused = try site.fleetctl(second)
            XCTAssertEqual(refused.status, 3, "\(second): " + refused.stdout + refused.stderr)
            XCTAssertTrue(refused.stderr.contains("another fleetctl (PID ") && refused.stderr.contains("is running a rotation"), refused.stderr)
        }
        var result = try await background.value
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        print("cookie rotation (4 s cookie lifetime): \(String(format: "%.1f", Date().timeIntervalSince(started))) s\n\(result.stdout)")
        XCTAssertTrue(result.stdout.contains("waiting 4 s for clients to renew their cookies") || result.stdout.contains("waiting 3 s"), result.stdout)
        let keys = try site.fleetctl(["rotate", "status"])
        XCTAssertTrue(keys.stdout.contains("retire cookie key 1 on ntp3"), keys.stdout)
        try await Task.sleep(for: .seconds(1))
        XCTAssertEqual(try clients.failuresSince(chronyBefore), [:], "chrony NTS clients: no NAK, no lost exchange")
        let nodesAfter = try await nodeFailures(site)
        XCTAssertEqual(nodesAfter, nodesBefore)
        clients.stop()
        var sweep = try await settledSweep(site)
        XCTAssertEqual(sweep.status, 0, "\(sweep.health.nodes.map { ($0.node, $0.reasons.map(\.message)) })")

        // ntp3 dies after ntp1 staged key 3: the rollout stops at ntp3, before any activation.
        result = try run(site, ["rotate", "cookie", "--yes"], killAfter: "2")
        XCTAssertEqual(result.status, SIGKILL)
        site.cluster.stopNode(2)
        result = try run(site, ["rotate", "resume"])
        XCTAssertEqual(result.status, 2, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("stopped at step 4 on ntp3"), result.stdout)
        for index in 0..<2 {
            let status = try await site.cluster.nodes[index].status()
            XCTAssertEqual(status.nts?.cookieKeys.first { $0.current }?.id, 2, "nothing activated")
        }
        // Restarted (new admin and NTS-KE ports: the inventory follows), resume completes.
        let restarted = try await site.cluster.startNode(2)
        try await waitFor(restarted, seconds: 40) { $0.serving.stratum == 1 }
        try await site.writeInventory(extraThresholds: "cookie_lifetime = 4\nrotation_verify_timeout = 30")
        started = Date()
        result = try run(site, ["rotate", "resume"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        print("cookie rotation resumed after a node restart: \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        for node in site.cluster.nodes {
            let cookie = try await node.status().nts?.cookieKeys ?? []
            XCTAssertEqual(cookie.map(\.id).sorted(), [3], "\(cookie)")
        }
        sweep = try await settledSweep(site)
        XCTAssertEqual(sweep.status, 0, "\(sweep.health.nodes.map { ($0.node, $0.reasons.map(\.message)) })")
    }

    func testCertificateRotationRefusesAWrongNameAndRollsBackOnAbort() async throws {
        let site = try await makeSite()
        defer { site.stop() }
        let pki = site.directory.appendingPathComponent("pki").path

        // init-ca: keys 0600, never overwritten without --force.
        var result = try run(site, ["certs", "init-ca", "--site-ca", "--dir", pki])
        XCTAssertEqual(result.status, 0, result.stderr)
        for key in ["admin-ca-key.pem", "site-ca-key.pem", "operator-key.pem"] {
            let mode = try FileManager.default.attributesOfItem(atPath: "\(pki)/\(key)")[.posixPermissions] as? Int
            XCTAssertEqual(mode, 0o600, key)
        }
        result = try run(site, ["certs", "init-ca", "--dir", pki])
        XCTAssertEqual(result.status, 3)
        XCTAssertEqual(result.stderr, "fleetctl: \(pki)/admin-ca.pem exists: not overwritten (give --force to replace it)\n")
        result = try run(site, ["certs", "issue", "--all", "--dir", pki])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("ntp2: wrote \(pki)/nodes/ntp2/nts-key.pem (mode 600)"), result.stdout)

        // Clients and the sweep trust both site CAs while the fleet moves from one to the other.
        let bundle = site.directory.appendingPathComponent("trust.pem").path
        try (String(contentsOfFile: site.siteCA.certificate, encoding: .utf8) + String(contentsOfFile: "\(pki)/site-ca.pem", encoding: .utf8))
            .write(toFile: bundle, atomically: true, encoding: .utf8)
        try site.inventoryText.replacingOccurrences(of: "nts_trust_anchors = \"\(site.siteCA.certificate)\"", with: "nts_trust_anchors = \"\(bundle)\"")
            .write(toFile: site.inventoryPath, atomically: true, encoding: .utf8)
        let clients = try await ChronyClients(site: site, trust: bundle)
        defer { clients.stop() }
        try await clients.waitForReplies(3)
        let chronyBefore = try clients.counters()
        let servedBefore = try served(site)

        // A certificate that does not name the nodes: refused before anything changes.
        let wrong = try site.pki.issue(by: site.siteCA, name: "elsewhere", server: true, sans: "DNS:elsewhere.example.net")
        result = try run(site, ["rotate", "certs", "--yes", "--chain", wrong.certificate, "--key", wrong.privateKey])
        XCTAssertEqual(result.status, 3)
        XCTAssertTrue(result.stderr.hasPrefix("fleetctl: refused before anything changed: ntp1: the new certificate does not cover DNS:localhost (it names DNS:elsewhere.example.net)"), result.stderr)
        result = try run(site, ["certs", "push", "ntp2", "--chain", wrong.certificate, "--key", wrong.privateKey])
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.stderr.contains("ntp2: refused before anything changed: the certificate's names (DNS:elsewhere.example.net) do not cover DNS:localhost"), result.stderr)
        XCTAssertEqual(try served(site), servedBefore, "nothing changed")

        // Issued from fleetctl's site CA, pushed node by node, each verified in a real handshake.
        let started = Date()
        result = try run(site, ["rotate", "certs", "--yes", "--dir", pki])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        print("certificate rotation: \(String(format: "%.1f", Date().timeIntervalSince(started))) s\n\(result.stdout)")
        let status = try run(site, ["certs", "status"])
        XCTAssertEqual(status.status, 0, status.stdout + status.stderr)
        // The new 90-day certificates: 89 or 90 whole days left, depending on where the second boundaries fall.
        XCTAssertEqual(status.stdout.split(separator: "\n").filter { $0.contains("  89  ") || $0.contains("  90  ") }.count, 3, status.stdout)
        let show = try run(site, ["certs", "show", "ntp1"])
        XCTAssertTrue(show.stdout.contains("issuer    CN=timefleet site CA"), show.stdout)

        // Again, killed after ntp1's push and aborted: ntp1 goes back to the certificate it served.
        let before = try run(site, ["certs", "show", "ntp1", "--json"]).stdout
        result = try run(site, ["rotate", "certs", "--yes", "--dir", pki], killAfter: "5")
        XCTAssertEqual(result.status, SIGKILL)
        XCTAssertNotEqual(try servedFingerprint(try run(site, ["certs", "show", "ntp1", "--json"]).stdout), try servedFingerprint(before))
        result = try run(site, ["rotate", "abort", "--yes"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("reinstall the previous NTS-KE certificate on ntp1"), result.stdout)
        let after = try run(site, ["certs", "show", "ntp1", "--json"]).stdout
        XCTAssertEqual(try servedFingerprint(after), try servedFingerprint(before))

        // A node whose NTS-KE address reaches another server (a NAT or load-balancer mistake: here ntp2's
        // nts_ke names ntp1's port): its new certificate installs through the admin API but never shows in a
        // handshake, so fleetctl puts the previous one back by itself and stops; once the inventory is right,
        // `rotate resume` pushes ntp2 again and finishes.
        let goodInventory = try String(contentsOfFile: site.inventoryPath, encoding: .utf8)
        let keAddresses = goodInventory.split(separator: "\n").filter { $0.hasPrefix("nts_ke = ") }.map(String.init)
        XCTAssertEqual(keAddresses.count, 3, goodInventory)
        let misrouted = goodInventory
            .replacingOccurrences(of: keAddresses[1], with: keAddresses[0])
            .replacingOccurrences(of: "rotation_verify_timeout = 30", with: "rotation_verify_timeout = 3")
        try misrouted.write(toFile: site.inventoryPath, atomically: true, encoding: .utf8)
        let shown = try run(site, ["certs", "show", "ntp2", "--json"])
        XCTAssertEqual(shown.status, 0, shown.stderr)
        let ntp2Before = try servedFingerprint(shown.stdout)
        result = try run(site, ["rotate", "certs", "--yes", "--dir", pki])
        XCTAssertNotEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertTrue((result.stdout + result.stderr).contains("ntp2 rolled back to its previous certificate"), result.stdout + result.stderr)
        XCTAssertEqual(try servedFingerprint(try run(site, ["certs", "show", "ntp2", "--json"]).stdout), ntp2Before,
                       "ntp2 serves the certificate it had before the failed push")
        try goodInventory.write(toFile: site.inventoryPath, atomically: true, encoding: .utf8)
        result = try run(site, ["rotate", "resume"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertNotEqual(try servedFingerprint(try run(site, ["certs", "show", "ntp2", "--json"]).stdout), ntp2Before)
        try await Task.sleep(for: .seconds(1))
        XCTAssertEqual(try clients.failuresSince(chronyBefore), [:], "chrony clients keep their NTS sessions across certificate swaps")
        let sweep = try await settledSweep(site)
        XCTAssertEqual(sweep.status, 0, "\(sweep.health.nodes.map { ($0.node, $0.reasons.map(\.message)) })")
    }
}

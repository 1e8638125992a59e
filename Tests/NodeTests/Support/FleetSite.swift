import Admin
import Foundation
import XCTest

/// A three-node site for fleetctl's tests: the sibling cluster (127.0.0.11-13, SHM "GPS" each, peering with
/// MACs) with NTS (certificates from a site CA unless a test gives others) and the admin API (mutual TLS,
/// the fleet's admin CA), and the `fleet.toml` that describes it.
final class FleetSite {
    let cluster: SiblingCluster
    let directory: URL
    let pki: TestPKI
    let siteCA: TestPKI.Authority
    let access: AdminAccess
    let inventoryPath: String
    private(set) var inventoryText = ""

    /// `certificates[i]`: node i's NTS certificate (default: 30 days from the site CA); `cookieKeyFiles[i]`:
    /// its cookie master key file (default: one file the whole site shares).
    /// Every node keeps a state database (history for the report, sibling key changes).
    init(testCase: XCTestCase, certificates: [Int: TestPKI.Issued] = [:], cookieKeyFiles: [Int: String] = [:],
         setUp: ((TestPKI, TestPKI.Authority) throws -> [Int: TestPKI.Issued])? = nil) async throws {
        directory = try NodeProcess.makeDirectory()
        pki = try TestPKI(directory: directory)
        siteCA = try pki.authority("site")
        access = try AdminAccess(pki: pki)
        var certificates = certificates
        if let setUp { certificates.merge(try setUp(pki, siteCA)) { _, new in new } }
        var ntsCertificates: [TestPKI.Issued] = []
        for index in 0..<3 {
            ntsCertificates.append(try certificates[index] ?? pki.issue(by: siteCA, name: "nts\(index)", server: true))
        }
        let sharedKeys = directory.appendingPathComponent("cookie-keys").path
        let addresses = SiblingClusterTests.addresses
        let admin = access.table
        inventoryPath = directory.appendingPathComponent("fleet.toml").path
        let dir = directory
        // NTS-KE points clients at the node's own NTP address and port.
        let port = freeLoopbackPort()
        let directory = self.directory
        do {
            cluster = try await SiblingCluster.start(testCase: testCase, extra: { index in
            admin + "\n" + """

                [nts]
                listen = ["127.0.0.1:0"]
                certificate = "\(ntsCertificates[index].certificate)"
                private_key = "\(ntsCertificates[index].privateKey)"
                key_file = "\(cookieKeyFiles[index] ?? sharedKeys)"
                ntp_server = "\(addresses[index])"
                ntp_port = \(port)
                steer = false

                [state]
                database = "\(dir.appendingPathComponent("state-\(index).sqlite").path)"
                flush_interval = 1
                """
            }, port: port)
        } catch {
            // Nothing of a site that did not start stays behind (its keys among it).
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
        try await writeInventory()
    }

    /// The inventory as it is now (admin and NTS-KE ports read from the running nodes).
    func writeInventory(adminCA: String? = nil, deadline: Double = 3, extraCredentials: String = "", extraThresholds: String = "") async throws {
        var text = """
            [fleetctl]
            database = "\(directory.appendingPathComponent("admin-host.sqlite").path)"

            [credentials]
            certificate = "\(access.credentials.certificate)"
            private_key = "\(access.credentials.privateKey)"
            admin_ca = "\(adminCA ?? access.credentials.ca)"
            nts_trust_anchors = "\(siteCA.certificate)"
            \(extraCredentials)

            [thresholds]
            sweep_deadline = \(deadline)
            \(extraThresholds)

            [[site]]
            name = "lab"

            """
        let names = ["ntp1", "ntp2", "ntp3"]
        for index in 0..<3 {
            guard let node = cluster.node(index) else { continue }
            let adminListener = try await node.adminListener()
            let ntsKE = try await node.ntsKEPort()
            text += """

                [[node]]
                name = "\(names[index])"
                site = "lab"
                admin = "\(adminListener)"
                admin_server_name = "localhost"
                ntp = "\(SiblingClusterTests.addresses[index]):\(cluster.port)"
                nts_ke = "127.0.0.1:\(ntsKE)"
                nts_server_name = "localhost"
                siblings = [\(names.filter { $0 != names[index] }.map { "\"\($0)\"" }.joined(separator: ", "))]

                """
        }
        inventoryText = text
        try text.write(toFile: inventoryPath, atomically: true, encoding: .utf8)
    }

    /// Runs the real fleetctl executable.
    func fleetctl(_ arguments: [String], inventory: String? = nil, environment: [String: String] = [:]) throws -> ToolResult {
        let executable = NodeProcess.binDirectory.appendingPathComponent("fleetctl").path
        return try ExternalTool.run(executable, arguments + ["--inventory", inventory ?? inventoryPath], timeout: 120, environment: environment)
    }

    /// `fleetctl health --json`, decoded.
    func sweep(_ extra: [String] = []) throws -> (status: Int32, health: SweptHealth, stderr: String) {
        let result = try fleetctl(["health", "--json"] + extra)
        let health = try JSONDecoder().decode(SweptHealth.self, from: Data(result.stdout.utf8))
        return (result.status, health, result.stderr)
    }

    func stop() {
        cluster.stop()
        try? FileManager.default.removeItem(at: directory)
    }
}

/// The JSON `fleetctl health --json` prints, as a script reads it.
struct SweptHealth: Decodable {
    struct Reason: Decodable {
        var severity: String
        var check: String
        var message: String
    }
    struct Node: Decodable {
        var node: String
        var verdict: String
        var reasons: [Reason]
        var passed: [String]
        var stratum: Int?
        var offsetFromMedian: Double?
        var certificateDaysLeft: Double?
        var elapsed: Double
    }
    var verdict: String
    var nodes: [Node]
    var reasons: [Reason]
    var elapsed: Double

    func node(_ name: String) -> Node? { nodes.first { $0.node == name } }
}

import ConfigFile
import Fleet
import NodeModels
import XCTest

final class InventoryReaderTests: XCTestCase {
    static let good = """
        [fleetctl]
        database = "state/fleet.sqlite"

        [credentials]
        certificate = "operator.pem"
        private_key = "/etc/fleetctl/operator-key.pem"
        admin_ca = "admin-ca.pem"
        nts_trust_anchors = "site-ca.pem"

        [thresholds]
        certificate_warning_days = 20
        offset_warning = 0.0005

        [[site]]
        name = "lab"

        [[node]]
        name = "ntp1"
        site = "lab"
        admin = "127.0.0.11:9124"
        ntp = "127.0.0.11"
        nts_ke = "127.0.0.11:4460"
        nts_server_name = "ntp1.example.net"
        siblings = ["ntp2"]

        [[node]]
        name = "ntp2"
        admin = "[::1]:9125"
        ntp = "[::1]:11123"
        siblings = ["ntp1"]
        """

    func testReadsEveryKeyWithDefaultsAndRelativePaths() throws {
        let inventory = try InventoryReader.read(text: Self.good, file: "/etc/fleetctl/fleet.toml").get()
        XCTAssertEqual(inventory.database, "/etc/fleetctl/state/fleet.sqlite")
        XCTAssertEqual(inventory.credentials.certificate, "/etc/fleetctl/operator.pem")
        XCTAssertEqual(inventory.credentials.privateKey, "/etc/fleetctl/operator-key.pem")
        XCTAssertEqual(inventory.credentials.ntsTrustAnchors, "/etc/fleetctl/site-ca.pem")
        XCTAssertEqual(inventory.thresholds.certificateWarningDays, 20)
        XCTAssertEqual(inventory.thresholds.certificateCriticalDays, 3)
        XCTAssertEqual(inventory.thresholds.offsetWarning, 0.0005)
        XCTAssertEqual(inventory.nodes.count, 2)
        let first = inventory.nodes[0]
        XCTAssertEqual(first.ntp, SocketEndpoint(host: "127.0.0.11", port: 123))
        XCTAssertEqual(first.ntsKE, SocketEndpoint(host: "127.0.0.11", port: 4460))
        XCTAssertEqual(first.ntsName, "ntp1.example.net")
        XCTAssertEqual(inventory.nodes[1].site, "lab", "a single site is the default")
        XCTAssertEqual(inventory.nodes[1].admin, SocketEndpoint(host: "::1", port: 9125))
        XCTAssertEqual(try inventory.select(names: [], site: "lab").map(\.name), ["ntp1", "ntp2"])
        XCTAssertThrowsError(try inventory.select(names: ["ntp9"], site: nil))
        XCTAssertThrowsError(try inventory.select(names: [], site: "elsewhere"))
    }

    private func problems(_ text: String) -> [String] {
        switch InventoryReader.read(text: text, file: "fleet.toml") {
        case .success: return []
        case .failure(let problems): return problems.problems.map(\.description)
        }
    }

    func testStructuralMistakesAreLocated() {
        XCTAssertEqual(problems("[[site]]\nname = \"a\"\n[[node]]\nname = \"n\"\nadmin = \"127.0.0.1:1\"\nntp = \"127.0.0.1\"\nportt = 3\n"),
                       ["fleet.toml:7: node[1].portt: unknown key in [node[1]] (known: admin, admin_server_name, name, ntp, nts_ke, nts_server_name, siblings, site)"])
        XCTAssertEqual(problems("[thresholds]\nsweep_concurrency = 0\n"),
                       ["fleet.toml:2: thresholds.sweep_concurrency: must be between 1 and 1024, got 0"])
        XCTAssertEqual(problems("[[site]]\nname = \"a\"\n[[node]]\nname = \"n\"\nadmin = \"127.0.0.1:99999\"\nntp = \"127.0.0.1\"\n"),
                       ["fleet.toml:5: node[1].admin: \"127.0.0.1:99999\": port must be a number from 0 to 65535"])
        XCTAssertEqual(problems("[credentials]\ncertificate = \"a.pem\"\n"),
                       ["fleet.toml:2: credentials.certificate: needs private_key too (the operator's client certificate and its key go together)"])
        XCTAssertEqual(problems("[[site]]\nname = \"a b\"\n"), ["fleet.toml:2: site[1].name: \"a b\" must be 1 to 64 letters, digits, '-', '_' or '.'"])
        XCTAssertEqual(problems("x = [\n"), problems("x = [\n"))
        XCTAssertTrue(problems("x = [\n").first?.hasPrefix("fleet.toml:") ?? false)
    }

    func testWholeFileRulesAreAllReported() {
        let text = """
            [[site]]
            name = "a"
            [[site]]
            name = "b"
            [[node]]
            name = "n1"
            site = "a"
            admin = "127.0.0.1:1"
            ntp = "127.0.0.1"
            siblings = ["n1", "n9", "n3"]
            [[node]]
            name = "n1"
            site = "c"
            admin = "127.0.0.1:1"
            ntp = "127.0.0.2"
            [[node]]
            name = "n3"
            site = "b"
            admin = "127.0.0.3:1"
            ntp = "127.0.0.1"
            """
        XCTAssertEqual(problems(text), [
            "fleet.toml:12: node[2].name: duplicate node name \"n1\" (also node 1)",
            "fleet.toml:13: node[2].site: unknown site \"c\" (sites: a, b)",
            "fleet.toml:14: node[2].admin: 127.0.0.1:1 is also the admin address of n1",
            "fleet.toml:20: node[3].ntp: 127.0.0.1:123 is also the NTP address of n1",
            "fleet.toml:10: node[1].siblings: a node is not its own sibling (n1)",
            "fleet.toml:10: node[1].siblings: \"n9\" is not a node of the inventory",
            "fleet.toml:10: node[1].siblings: n3 is in site b, not a: siblings share a site",
        ])
        XCTAssertEqual(problems(""), [
            "fleet.toml: site: no [[site]]: an inventory needs at least one site",
            "fleet.toml: node: no [[node]]: the inventory lists no node",
        ])
    }
}

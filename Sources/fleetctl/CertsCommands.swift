import Admin
import ArgumentParser
import Fleet
import Foundation
import NodeModels

/// `fleetctl certs init-ca|issue|push|install|status|show`: the fleet's certificates, issued with
/// swift-certificates (ECDSA P-256) into the admin host's certificate folder, and installed on nodes.
struct CertsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certs",
        abstract: "Issue, install and inspect the fleet's certificates.",
        subcommands: [InitCA.self, Issue.self, Push.self, Install.self, Status.self, Show.self])

    struct Folder: ParsableArguments {
        @Option(help: "Certificate folder (default: pki beside the inventory).")
        var dir: String?

        func pki(_ inventory: InventoryOptions) -> FleetPKI {
            FleetPKI.locate(option: dir, inventoryPath: InventoryFile.locate(option: inventory.inventory, environment: ProcessInfo.processInfo.environment))
        }
    }

    struct InitCA: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init-ca",
            abstract: "Create the fleet's admin CA and the operator's client certificate (and with --site-ca a CA for NTS-KE certificates).")
        @OptionGroup var inventoryOptions: InventoryOptions
        @OptionGroup var folder: Folder
        @Flag(help: "Also create a site CA that signs the nodes' NTS-KE certificates (where no public CA is used).")
        var siteCA = false
        @Flag(help: "Replace existing files.")
        var force = false
        @Option(help: "Days the CAs are valid.")
        var days = 3650

        func validate() throws {
            guard (1...36_500).contains(days) else { throw ValidationError("--days takes 1 to 36500") }
        }

        func run() async throws {
            let pki = folder.pki(inventoryOptions)
            let written = CertsCommand.attempt { try CertificateCommands.initCA(pki: pki, siteCA: siteCA, force: force, days: days) }
            for path in written { print("wrote \(path)\(path.hasSuffix("-key.pem") ? " (mode 600)" : "")") }
            print("""
                in the inventory:
                  [credentials]
                  certificate = "\(pki.operatorCertificate)"
                  private_key = "\(pki.operatorKey)"
                  admin_ca = "\(pki.adminCA)"\(siteCA ? "\n  nts_trust_anchors = \"\(pki.siteCA)\"" : "")
                on every node, [admin] client_ca = admin-ca.pem; then fleetctl certs issue --all
                """)
        }
    }

    struct Issue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue nodes' admin API certificates (and NTS-KE certificates from the site CA), names from the inventory.")
        @OptionGroup var inventoryOptions: InventoryOptions
        @OptionGroup var folder: Folder
        @Argument(help: "Nodes, by inventory name.")
        var nodes: [String] = []
        @Flag(help: "Every node of the inventory.")
        var all = false
        @Flag(help: "Replace existing files.")
        var force = false
        @Option(help: "Days the certificates are valid.")
        var days = 90

        func validate() throws {
            guard all != !nodes.isEmpty else { throw ValidationError("name the nodes, or give --all") }
            guard (1...3650).contains(days) else { throw ValidationError("--days takes 1 to 3650") }
        }

        func run() async throws {
            let inventory = try inventoryOptions.load(syntaxOnly: true)
            let pki = folder.pki(inventoryOptions)
            for node in try CertsCommand.select(inventory, nodes) {
                let written = CertsCommand.attempt { try CertificateCommands.issue(pki: pki, node: node, force: force, days: days) }
                for path in written { print("\(node.name): wrote \(path)\(path.hasSuffix("-key.pem") ? " (mode 600)" : "")") }
            }
        }
    }

    struct Push: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Install a chain and key as the NTS-KE certificate of nodes (a certbot deploy hook: deploy/certbot/).")
        @OptionGroup var inventoryOptions: InventoryOptions
        @Argument(help: "Nodes, by inventory name.")
        var nodes: [String] = []
        @Flag(help: "Every node of the inventory with nts_ke.")
        var all = false
        @Option(help: "PEM chain, leaf first (certbot's fullchain.pem).")
        var chain: String
        @Option(help: "PEM private key (certbot's privkey.pem).")
        var key: String

        func validate() throws {
            guard all != !nodes.isEmpty else { throw ValidationError("name the nodes, or give --all") }
        }

        func run() async throws {
            let inventory = try inventoryOptions.load()
            try await CertsCommand.push(inventory, try CertsCommand.select(inventory, nodes).filter { $0.ntsKE != nil || !all }, chain: chain, key: key)
        }
    }

    struct Install: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Install a chain and key as one node's NTS-KE certificate (PUT /v1/certificates/nts).")
        @OptionGroup var inventoryOptions: InventoryOptions
        @Argument(help: "The node, by inventory name.")
        var node: String
        @Option(help: "PEM chain, leaf first.")
        var chain: String
        @Option(help: "PEM private key.")
        var key: String

        func run() async throws {
            let inventory = try inventoryOptions.load()
            try await CertsCommand.push(inventory, try CertsCommand.select(inventory, [node]), chain: chain, key: key)
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "What each node serves to NTS clients (from a sweep): fingerprint, days left, whether it verifies.")
        @OptionGroup var inventoryOptions: InventoryOptions
        @Option(help: "Only the nodes of this site.")
        var site: String?
        @Flag(help: "Print JSON for scripts.")
        var json = false

        struct Row: Encodable {
            var node: String
            var served: String?
            var reported: String?
            var daysLeft: Double?
            var names: [String]?
            var problem: String?
        }

        func run() async throws {
            let inventory = try inventoryOptions.load()
            let nodes: [Inventory.Node]
            do {
                nodes = try inventory.select(names: [], site: site)
            } catch {
                throw ValidationError(error.description)
            }
            let access = CertsCommand.attempt { try InventoryFile.access(for: inventory) }
            let observations = await HealthSweep(inventory: inventory, access: access, nodes: nodes).observe()
            let now = Date().timeIntervalSince1970
            let rows = observations.map { observation in
                Row(
                    node: observation.node, served: observation.nts?.certificate.sha256, reported: observation.admin?.certificates?.nts?.sha256,
                    daysLeft: observation.nts?.certificate.daysLeft(at: now),
                    names: observation.nts?.certificate.subjectAlternativeNames,
                    problem: observation.ntsFailure?.message ?? (inventory.node(named: observation.node)?.ntsKE == nil ? "no nts_ke in the inventory" : nil))
            }
            if json {
                print(FleetCommandSupport.json(rows))
                return
            }
            print("NODE          DAYS  SHA-256 (served)   NAMES")
            for row in rows {
                let days = row.daysLeft.map { String(Int($0.rounded(.down))) } ?? "-"
                let line = "\(row.node.padding(toLength: 12, withPad: " ", startingAt: 0))  \(String(repeating: " ", count: max(0, 4 - days.count)))\(days)  "
                if let served = row.served {
                    let mismatch = row.reported.map { $0 != served ? " (node reports \($0.prefix(16))…)" : "" } ?? ""
                    print(line + "\(served.prefix(16))…  \((row.names ?? []).joined(separator: ", "))\(mismatch)")
                } else {
                    print(line + "-                  \(row.problem ?? "not served")")
                }
            }
            if rows.contains(where: { $0.problem != nil && $0.served == nil && inventory.node(named: $0.node)?.ntsKE != nil }) { throw ExitCode(2) }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A node's certificates as it reports them (GET /v1/certificates).")
        @OptionGroup var inventoryOptions: InventoryOptions
        @Argument(help: "The node, by inventory name.")
        var node: String
        @Flag(help: "Print JSON for scripts.")
        var json = false

        func run() async throws {
            let inventory = try inventoryOptions.load()
            let chosen = try CertsCommand.select(inventory, [node])[0]
            let certificates: AdminCertificates
            do {
                certificates = try await CertificateCommands.certificates(inventory: inventory, node: chosen)
            } catch {
                RotateCommand.fail("\(error)", code: 2)
            }
            if json {
                print(String(decoding: certificates.json(pretty: true), as: UTF8.self))
                return
            }
            if let nts = certificates.nts {
                print("NTS-KE certificate of \(chosen.name) (\(certificates.ntsSwaps ?? 0) swaps since start):")
                print(CertificateCommands.text(nts))
            } else {
                print("\(chosen.name) serves no NTS-KE certificate")
            }
            if let admin = certificates.admin {
                print("admin API certificate:")
                print(CertificateCommands.text(admin))
            }
        }
    }

    // MARK: Shared

    static func select(_ inventory: Inventory, _ names: [String]) throws -> [Inventory.Node] {
        do {
            return try inventory.select(names: names, site: nil)
        } catch {
            throw ValidationError(error.description)
        }
    }

    static func attempt<T>(_ body: () throws -> T) -> T {
        do {
            return try body()
        } catch {
            RotateCommand.fail("\(error)")
        }
    }

    static func push(_ inventory: Inventory, _ nodes: [Inventory.Node], chain: String, key: String) async throws {
        var failed = false
        for node in nodes {
            do {
                let result = try await CertificateCommands.install(inventory: inventory, node: node, chain: chain, key: key)
                print("\(node.name): \(result.changed ? "installed" : "already in service") \(result.certificate.sha256.prefix(16))…, valid until \(ISODate.text(Double(result.certificate.notAfter)))")
            } catch {
                FileHandle.standardError.write(Data("fleetctl: \(error)\n".utf8))
                failed = true
            }
        }
        if failed { throw ExitCode(2) }
    }
}

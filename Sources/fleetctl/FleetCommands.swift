import Admin
import ArgumentParser
import Fleet
import Foundation

/// `--inventory FILE` (default: $FLEETCTL_INVENTORY, then /etc/fleetctl/fleet.toml).
struct InventoryOptions: ParsableArguments {
    @Option(help: "The fleet inventory (default: $FLEETCTL_INVENTORY, then /etc/fleetctl/fleet.toml).")
    var inventory: String?

    /// The inventory, or its problems on stderr and exit 3 (UNKNOWN: nothing could be judged).
    func load(syntaxOnly: Bool = false) throws -> Inventory {
        switch FleetCommandSupport.inventory(option: inventory, syntaxOnly: syntaxOnly) {
        case .success(let inventory): return inventory
        case .failure(let problems):
            FileHandle.standardError.write(Data((problems.description + "\n").utf8))
            throw ExitCode(HealthVerdict.unknown.exitCode)
        }
    }
}

struct HealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Sweep every node from inside (admin API) and outside (NTP, NTS): OK, WARN or CRIT with reasons.",
        discussion: "Exit codes as a monitoring check: 0 OK, 1 WARN, 2 CRIT, 3 UNKNOWN. Each sweep is stored in the admin host's database (fleetctl history).")

    @OptionGroup var inventoryOptions: InventoryOptions
    @Argument(help: "Nodes to sweep (default: every node).")
    var nodes: [String] = []
    @Option(help: "Only the nodes of this site.")
    var site: String?
    @Flag(name: .shortAndLong, help: "Every check of every node.")
    var verbose = false
    @Flag(help: "Print JSON for scripts.")
    var json = false
    @Option(help: "Sweep again every N seconds until interrupted.")
    var watch: Double?

    func validate() throws {
        if let watch, !(1...86_400).contains(watch) { throw ValidationError("--watch takes 1 to 86400 seconds") }
    }

    func run() async throws {
        let inventory = try inventoryOptions.load()
        let chosen: [Inventory.Node]
        do {
            chosen = try inventory.select(names: nodes, site: site)
        } catch {
            throw ValidationError(error.description)
        }
        let color = !json && isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
        while true {
            let health: FleetHealth
            do {
                let (result, storeProblem) = try await FleetCommandSupport.sweep(inventory: inventory, nodes: chosen)
                health = result
                if let storeProblem { FileHandle.standardError.write(Data("fleetctl: sweep not stored: \(storeProblem)\n".utf8)) }
            } catch {
                FileHandle.standardError.write(Data("fleetctl: \(error)\n".utf8))
                throw ExitCode(HealthVerdict.unknown.exitCode)
            }
            print(json ? FleetCommandSupport.json(health) : FleetHealthText.render(health, verbose: verbose, color: color))
            guard let watch else { throw ExitCode(health.verdict.exitCode) }
            fflush(nil)
            try await Task.sleep(for: .milliseconds(Int64(watch * 1000)))
            if !json { print("") }
        }
    }
}

struct HistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history", abstract: "A node's verdicts in past sweeps, newest first (from the admin host's database).")

    @OptionGroup var inventoryOptions: InventoryOptions
    @Argument(help: "The node, by its inventory name.")
    var node: String
    @Option(help: "How many sweeps.")
    var limit: Int = 20
    @Flag(help: "Print JSON for scripts.")
    var json = false

    func validate() throws {
        guard (1...100_000).contains(limit) else { throw ValidationError("--limit takes 1 to 100000") }
    }

    func run() async throws {
        let inventory = try inventoryOptions.load()
        guard inventory.node(named: node) != nil else { throw ValidationError("no node \"\(node)\" in the inventory") }
        let entries: [AdminHostStore.HistoryEntry]
        do {
            entries = try FleetCommandSupport.store(for: inventory).history(node: node, limit: limit)
        } catch {
            FileHandle.standardError.write(Data("fleetctl: \(error)\n".utf8))
            throw ExitCode(HealthVerdict.unknown.exitCode)
        }
        if json {
            print(FleetCommandSupport.json(entries))
            return
        }
        guard !entries.isEmpty else {
            print("no sweep of \(node) recorded yet (fleetctl health records one)")
            return
        }
        let formatter = ISO8601DateFormatter()
        for entry in entries {
            let reasons = entry.reasons.map(\.message).joined(separator: "; ")
            let offset = entry.offsetFromMedian.map { "  offset \(HealthRules.formatOffset($0))" } ?? ""
            print("\(formatter.string(from: Date(timeIntervalSince1970: entry.time)))  \(entry.verdict.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0))  stratum \(entry.stratum.map(String.init) ?? "-")\(offset)\(reasons.isEmpty ? "" : "  " + reasons)")
        }
    }
}

struct InventoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inventory", abstract: "Check the fleet inventory.", subcommands: [Check.self])

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate fleet.toml and the files it names: FILE:LINE: key: message for each problem.")
        @OptionGroup var inventoryOptions: InventoryOptions
        @Argument(help: "The inventory file (same as --inventory).")
        var file: String?
        @Flag(help: "Check the file alone, not the credential files it names (for examples and CI).")
        var syntaxOnly = false

        func run() async throws {
            var options = inventoryOptions
            if let file { options.inventory = file }
            let inventory = try options.load(syntaxOnly: syntaxOnly)
            print("\(InventoryFile.locate(option: options.inventory, environment: ProcessInfo.processInfo.environment)): OK (\(inventory.sites.count) site\(inventory.sites.count == 1 ? "" : "s"), \(inventory.nodes.count) node\(inventory.nodes.count == 1 ? "" : "s"))")
        }
    }
}

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write the site report: one self-contained HTML page (verdicts, per-node figures, plots of the last day) and a text summary.")

    @OptionGroup var inventoryOptions: InventoryOptions
    @Option(name: .shortAndLong, help: "The HTML file to write.")
    var output = "site-report.html"
    @Option(help: "Hours of history to plot.")
    var hours: Double = 24
    @Flag(help: "Print the report's data as JSON instead of the text summary.")
    var json = false

    func validate() throws {
        guard (0.01...744).contains(hours) else { throw ValidationError("--hours takes 0.01 to 744 (a month)") }
    }

    func run() async throws {
        let inventory = try inventoryOptions.load()
        let report: SiteReport
        do {
            report = await SiteReportCollector.collect(inventory: inventory, access: try InventoryFile.access(for: inventory), hours: hours)
        } catch {
            FileHandle.standardError.write(Data("fleetctl: \(error)\n".utf8))
            throw ExitCode(HealthVerdict.unknown.exitCode)
        }
        let formatter = ISO8601DateFormatter()
        let html = SiteReportHTML.render(report) { formatter.string(from: Date(timeIntervalSince1970: $0)) }
        do {
            try html.write(toFile: output, atomically: true, encoding: .utf8)
        } catch {
            FileHandle.standardError.write(Data("fleetctl: cannot write \(output): \(error.localizedDescription)\n".utf8))
            throw ExitCode(HealthVerdict.unknown.exitCode)
        }
        print(json ? FleetCommandSupport.json(report) : SiteReportHTML.text(report))
        if !json { print("\nreport written to \(URL(fileURLWithPath: output).standardizedFileURL.path)") }
    }
}

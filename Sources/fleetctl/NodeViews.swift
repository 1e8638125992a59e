import Admin
import ArgumentParser
import Foundation
import NodeModels

/// What every per-node command takes: which nodes (a name from the inventory, an admin address, `--all`,
/// `--site`) and the credentials to reach them.
struct AdminOptions: ParsableArguments {
    @Argument(help: "Nodes: inventory names, or admin APIs as HOST, HOST:PORT or [IPv6]:PORT (default port 9124).")
    var nodes: [String] = []

    @Flag(help: "Every node of the inventory.")
    var all = false

    @Option(help: "Every node of this site of the inventory.")
    var site: String?

    @Option(help: "The fleet inventory (default: $FLEETCTL_INVENTORY, then /etc/fleetctl/fleet.toml).")
    var inventory: String?

    @Option(help: "Client certificate (PEM) issued by the fleet's admin CA (default: $FLEETCTL_CERT, then the inventory's).")
    var cert: String?

    @Option(help: "Its private key (PEM) (default: $FLEETCTL_KEY, then the inventory's).")
    var key: String?

    @Option(help: "CA certificate(s) (PEM) that signed the nodes' admin certificates (default: $FLEETCTL_CA, then the inventory's).")
    var ca: String?

    @Option(help: "Name the node's certificate must carry (default: the host, or the inventory's admin_server_name).")
    var serverName: String?

    @Option(help: "Seconds to wait for each node.")
    var timeout: Double = 5

    @Flag(help: "Print the API's JSON for scripts.")
    var json = false

    @Flag(name: .shortAndLong, help: "Explain the columns (as chronyc's -v).")
    var verbose = false

    func validate() throws {
        guard timeout > 0, timeout <= 60 else { throw ValidationError("--timeout must be between 0 and 60 seconds") }
    }

    func targets() throws -> AdminTargets {
        do {
            return try AdminTargets.resolve(.init(
                nodes: nodes, all: all, site: site, inventory: inventory, certificate: cert, privateKey: key, ca: ca,
                serverName: serverName, timeout: timeout))
        } catch {
            FileHandle.standardError.write(Data("fleetctl: \(error.description)\n".utf8))
            throw ExitCode(error.inventoryProblems ? 3 : 2)
        }
    }

    /// Runs `call` on every node; prints each answer (labelled when several), errors on stderr; exit 2 when any failed.
    func run<T: AdminBody>(_ call: @escaping @Sendable (AdminClient) async throws(AdminClientError) -> T, text: (T, Bool) -> String) async throws {
        let targets = try targets()
        let results = await targets.each(call)
        var failed = false
        if json && targets.many {
            var object: [String] = []
            for (label, result) in results {
                guard case .success(let body) = result else { continue }
                let encoded = AdminViews.json(body).split(separator: "\n").joined(separator: "\n  ")
                object.append("  \"\(label)\": \(encoded)")
            }
            print("{\n" + object.joined(separator: ",\n") + "\n}")
        }
        for (index, (label, result)) in results.enumerated() {
            switch result {
            case .success(let body):
                if json {
                    if !targets.many { print(AdminViews.json(body)) }
                } else {
                    if targets.many { print((index > 0 ? "\n" : "") + "== \(label) ==") }
                    print(text(body, verbose))
                }
            case .failure(let error):
                failed = true
                FileHandle.standardError.write(Data("fleetctl: \(targets.many ? "\(label): " : "")\(error.description)\n".utf8))
            }
        }
        if failed { throw ExitCode(2) }
    }

    func show<T: AdminBody>(_ path: String, as type: T.Type, text: @escaping (T, Bool) -> String) async throws {
        try await run({ (client: AdminClient) async throws(AdminClientError) -> T in try await client.get(path, as: type) }, text: text)
    }
}

struct TrackingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tracking", abstract: "The node's clock as `chronyc tracking` shows it.")
    @OptionGroup var options: AdminOptions
    func run() async throws { try await options.show(AdminPath.tracking, as: AdminTracking.self, text: AdminViews.tracking) }
}

struct SourcesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sources", abstract: "The node's time sources as `chronyc sources` shows them.")
    @OptionGroup var options: AdminOptions
    func run() async throws { try await options.show(AdminPath.sources, as: AdminSources.self, text: AdminViews.sources) }
}

struct SourceStatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sourcestats", abstract: "The node's source filters as `chronyc sourcestats` shows them.")
    @OptionGroup var options: AdminOptions
    func run() async throws { try await options.show(AdminPath.sourceStats, as: AdminSources.self, text: AdminViews.sourcestats) }
}

struct ServerStatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serverstats", abstract: "The node's NTP and NTS-KE server counters as `chronyc serverstats` shows them.")
    @OptionGroup var options: AdminOptions
    func run() async throws { try await options.show(AdminPath.serverStats, as: AdminServerStats.self, text: AdminViews.serverstats) }
}

struct NodeHealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node-health", abstract: "What the node says of its own health (GET /v1/health); `fleetctl health` judges from outside too.")
    @OptionGroup var options: AdminOptions
    func run() async throws { try await options.show(AdminPath.health, as: AdminHealth.self, text: NodeReadViews.health) }
}

struct GPSCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gps", abstract: "The node's reference clocks: gpsd connection, fix, satellites, PPS.")
    @OptionGroup var options: AdminOptions
    func run() async throws { try await options.show(AdminPath.gps, as: AdminGPS.self, text: NodeReadViews.gps) }
}

struct ClientsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clients", abstract: "The node's busiest NTP clients (as `chronyc clients`; needs [ratelimit]).")
    @OptionGroup var options: AdminOptions
    func run() async throws { try await options.show(AdminPath.clients, as: AdminClients.self, text: NodeReadViews.clients) }
}

struct ReloadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reload", abstract: "Re-read the node's configuration, as SIGHUP does (a broken file is refused with its location).")
    @OptionGroup var options: AdminOptions
    func run() async throws {
        try await options.run({ (client: AdminClient) async throws(AdminClientError) -> ConfigReloadResult in
            try await client.send("POST", AdminPath.configReload, body: EmptyBody(), as: ConfigReloadResult.self)
        }, text: { result, _ in "reloaded (\(result.reloads) reload\(result.reloads == 1 ? "" : "s") since start)" })
    }
}

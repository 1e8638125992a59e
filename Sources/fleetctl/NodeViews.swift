import Admin
import ArgumentParser
import NodeModels
import Foundation

/// What every per-node view takes: the node's admin API and the credentials to reach it.
struct AdminOptions: ParsableArguments {
    @Argument(help: "The node's admin API as HOST, HOST:PORT or [IPv6]:PORT (default port 9124).")
    var node: String

    @Option(help: "Client certificate (PEM) issued by the fleet's admin CA (default: $FLEETCTL_CERT).")
    var cert: String?

    @Option(help: "Its private key (PEM) (default: $FLEETCTL_KEY).")
    var key: String?

    @Option(help: "CA certificate(s) (PEM) that signed the node's admin certificate (default: $FLEETCTL_CA).")
    var ca: String?

    @Option(help: "Name the node's certificate must carry (default: the host in NODE).")
    var serverName: String?

    @Option(help: "Seconds to wait for the node.")
    var timeout: Double = 5

    @Flag(help: "Print the API's JSON for scripts.")
    var json = false

    @Flag(name: .shortAndLong, help: "Explain the columns (as chronyc's -v).")
    var verbose = false

    func validate() throws {
        guard timeout > 0, timeout <= 60 else { throw ValidationError("--timeout must be between 0 and 60 seconds") }
    }

    func fetch<T: AdminBody>(_ path: String, as type: T.Type) async throws -> T {
        do {
            let credentials = try AdminCredentials.resolve(
                certificate: cert, privateKey: key, ca: ca, environment: ProcessInfo.processInfo.environment)
            let client = try AdminClient(node: node, credentials: credentials, serverName: serverName, timeout: .milliseconds(Int64(timeout * 1000)))
            return try await client.get(path, as: type)
        } catch {
            FileHandle.standardError.write(Data("fleetctl: \(error)\n".utf8))
            throw ExitCode(2)
        }
    }

    func show<T: AdminBody>(_ path: String, as type: T.Type, text: (T, Bool) -> String) async throws {
        let body = try await fetch(path, as: type)
        print(json ? AdminViews.json(body) : text(body, verbose))
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
